"""A local stand-in for the SageMaker runtime's OpenAI routes (`sagemaker-openai local-runtime`).

`LocalRuntimeServer` loads the server libraries (the `proxy` extra), on first use only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagemaker_openai.servers.local_runtime.routes import EndpointLayout
from sagemaker_openai.servers.local_runtime.settings import RuntimeSettings
from sagemaker_openai.servers.local_runtime.token_verifier import TokenRejected, TokenVerifier

if TYPE_CHECKING:
    from sagemaker_openai.servers.local_runtime.server import LocalRuntimeServer

__all__ = ["EndpointLayout", "LocalRuntimeServer", "RuntimeSettings", "TokenRejected", "TokenVerifier"]


def __getattr__(name: str) -> Any:
    if name == "LocalRuntimeServer":
        from sagemaker_openai.servers.local_runtime.server import LocalRuntimeServer  # noqa: PLC0415

        return LocalRuntimeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
