"""One line per failure: what went wrong and what to do about it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import botocore.exceptions

from sagemaker_openai.client.errors import SageMakerOpenAIError
from sagemaker_openai.client.region import profile_not_found

if TYPE_CHECKING:
    import openai

_MAX_DETAIL = 300
_NO_CAPACITY = "no capacity"


def describe_error(exc: BaseException) -> str:
    """The message for `exc`, without the "Error: " prefix; unexpected errors say so."""
    ours = _cause_of_type(exc, SageMakerOpenAIError)
    if ours is not None:
        return str(ours)
    # An SDK error can only come from an SDK that is loaded; do not load it just to check.
    described = _describe_openai_error(exc) if "openai" in sys.modules else None
    return described or _describe_other(exc)


def _describe_other(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return str(profile_not_found(exc))
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region: pass --region or set AWS_DEFAULT_REGION"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError):
        return f"AWS call failed: {_one_line(str(exc))}"
    return f"unexpected {type(exc).__name__}: {_one_line(str(exc))}; rerun with --debug to see where"


def _describe_openai_error(exc: BaseException) -> str | None:
    import openai  # noqa: PLC0415 - already loaded (the caller checked)

    if isinstance(exc, openai.APIStatusError):
        return _describe_status(exc)
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"no answer from {exc.request.url} before the timeout; the model may be busy or starting: "
            "retry, or raise --timeout"
        )
    if isinstance(exc, openai.APIConnectionError):
        reason = _one_line(str(exc.__cause__)) if exc.__cause__ is not None else "connection failed"
        return f"cannot connect to {exc.request.url} ({reason}); check the URL and your network"
    return None


def _describe_status(exc: openai.APIStatusError) -> str:
    status = exc.status_code
    detail = _status_detail(exc)
    where = f"HTTP {status} from {exc.request.url}: {detail.rstrip('.')}"
    if status == 400 and _NO_CAPACITY in detail.lower():
        return (
            f"{where}; the model is scaled to zero and a copy is starting (about 10 minutes): "
            "retry later, or pass --wait-for-capacity SECONDS"
        )
    hints = {
        401: "the token was refused: check your clock, and that your credentials are valid and in the "
        "endpoint's region",
        403: "the credentials may not call this endpoint: they need sagemaker:InvokeEndpoint on it and "
        "sagemaker:CallWithBearerToken (attach the stack's InvokerPolicyArn or assume its InvokerRoleArn)",
        404: "check the base URL ends with /openai/v1 and names a deployed endpoint or component",
        424: "the model container failed on this request: see the endpoint's CloudWatch logs",
        429: "the endpoint is throttling: retry later or add capacity",
    }
    if status in hints:
        return f"{where}; {hints[status]}"
    if status >= 500:
        return f"{where}; the endpoint failed: retry, and see its CloudWatch logs if it persists"
    return f"{where}; check the request"


def _status_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            for key in ("message", "Message"):
                if isinstance(error.get(key), str):
                    return _one_line(error[key])
        for key in ("message", "Message"):
            if isinstance(body.get(key), str):
                return _one_line(body[key])
    return _one_line(exc.message)


def _cause_of_type(exc: BaseException, kind: type[SageMakerOpenAIError]) -> SageMakerOpenAIError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 1] + "…"
