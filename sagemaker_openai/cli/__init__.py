"""`sagemaker-openai`: one module per command; each parses its arguments and calls the client, the servers
or the operations.

The entry point is `sagemaker_openai.cli.main:main` (also `python -m sagemaker_openai.cli`).
"""
