"""The two servers `sagemaker-openai` runs: the proxy and local-runtime, and the serving plumbing they share.

They need the `proxy` extra (Starlette, Hypercorn, aiohttp); the client library never imports this package.
"""
