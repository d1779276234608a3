"""A local stand-in for the SageMaker runtime's OpenAI routes (`sagemaker-openai local-runtime`)."""

from sagemaker_openai.client.local_runtime.routes import EndpointLayout
from sagemaker_openai.client.local_runtime.server import LocalRuntimeServer, RuntimeSettings
from sagemaker_openai.client.local_runtime.token_verifier import TokenRejected, TokenVerifier

__all__ = ["EndpointLayout", "LocalRuntimeServer", "RuntimeSettings", "TokenRejected", "TokenVerifier"]
