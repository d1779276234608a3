"""Errors a caller can fix: each message names what is wrong and how to fix it, in one line."""

from __future__ import annotations


class SageMakerOpenAIError(Exception):
    """A problem with the caller's setup: region, credentials, stack outputs or endpoint state."""


class RegionError(SageMakerOpenAIError):
    """No region could be resolved, or two sources disagree (tokens are bound to one region)."""


class CredentialsError(SageMakerOpenAIError):
    """No usable AWS credentials to sign a bearer token with."""


class StackOutputsError(SageMakerOpenAIError):
    """The stack outputs (file or CloudFormation) are missing, unreadable or do not describe an endpoint."""


class EndpointNotReadyError(SageMakerOpenAIError):
    """The endpoint or inference component exists but is not InService."""


def server_libraries_missing(who: str, exc: ImportError) -> SageMakerOpenAIError:
    """The error for a server command (`who`: "the proxy", "local-runtime") whose extra is not installed."""
    missing = (exc.name or "one").split(".")[0]
    return SageMakerOpenAIError(
        f"{who} needs its server libraries ({missing} is missing): pip install 'sagemaker-openai[proxy]'"
    )
