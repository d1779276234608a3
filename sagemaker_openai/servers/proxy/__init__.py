"""`sagemaker-openai proxy`: one local OpenAI base URL for every model of a stack.

The server libraries (Starlette, Hypercorn) load from `sagemaker_openai.servers.proxy.app` and `.server` only,
when a proxy starts; this package and its routes load neither.
"""
