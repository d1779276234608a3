"""Call OpenAI-compatible SageMaker AI endpoints with self-renewing bearer tokens.

Importing this package loads nothing from the CDK, and defers the OpenAI SDK (about a second) until a
factory is used, so `sagemaker-openai local-runtime` and `BearerTokenAuth` users start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.destinations import UntrustedHostError
from sagemaker_openai.client.errors import (
    CredentialsError,
    EndpointNotReadyError,
    RegionError,
    SageMakerOpenAIError,
    StackOutputsError,
)
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.client.stack_outputs import ModelTarget, StackOutputs

if TYPE_CHECKING:
    from sagemaker_openai.client.factories import (
        async_connection_pool,
        async_openai_client,
        async_openai_clients,
        connection_pool,
        openai_client,
        openai_clients,
    )

_FACTORIES = "sagemaker_openai.client.factories"
_LAZY = {
    "openai_client": _FACTORIES,
    "async_openai_client": _FACTORIES,
    "openai_clients": _FACTORIES,
    "async_openai_clients": _FACTORIES,
    "connection_pool": _FACTORIES,
    "async_connection_pool": _FACTORIES,
}

__all__ = [
    "BearerTokenAuth",
    "CredentialsError",
    "EndpointNotReadyError",
    "ModelTarget",
    "RegionError",
    "SageMakerOpenAIError",
    "StackOutputs",
    "StackOutputsError",
    "UntrustedHostError",
    "async_connection_pool",
    "async_openai_client",
    "async_openai_clients",
    "connection_pool",
    "openai_client",
    "openai_clients",
    "resolve_region",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
