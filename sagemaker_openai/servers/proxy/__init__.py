"""`sagemaker-openai proxy`: one local OpenAI base URL for every model of a stack.

The server libraries (Starlette, uvicorn) load from `sagemaker_openai.servers.proxy.app` and `.server` only,
when a proxy starts; this package and its routes load neither.
"""
