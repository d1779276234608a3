"""The AWS SDKs' endpoint settings, applied to the runtime URLs a stack's outputs name.

`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`, else `AWS_ENDPOINT_URL`, replaces the scheme and host (and port) of each
runtime URL and keeps its path, behind the setting's own path if it has one, as botocore joins them.
`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns both off. This aims `smoke`, `chat`, `proxy` and
`openai_client(stack=...)` at local-runtime or a VPC interface endpoint without editing the outputs; a base
URL passed explicitly is used as given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from sagemaker_openai.client.errors import StackOutputsError

SERVICE_VARIABLE = "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"
GLOBAL_VARIABLE = "AWS_ENDPOINT_URL"
IGNORE_VARIABLE = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
ENDPOINT_VARIABLES = f"{SERVICE_VARIABLE} (or {GLOBAL_VARIABLE})"


def configured_runtime_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The runtime endpoint the environment configures, or None; a malformed one raises StackOutputsError."""
    env = os.environ if environ is None else environ
    # botocore reads this flag with ensure_boolean: "true" in any case.
    if env.get(IGNORE_VARIABLE, "").strip().lower() == "true":
        return None
    for name in (SERVICE_VARIABLE, GLOBAL_VARIABLE):
        value = env.get(name, "").strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise StackOutputsError(
                    f"{name} {value!r} is not an http(s) endpoint URL such as https://HOST[:PORT]; "
                    f"fix it, unset it, or set {IGNORE_VARIABLE}=true"
                )
            return value
    return None


def with_endpoint(url: str, endpoint: str | None) -> str:
    """`url` with the scheme and host of `endpoint` (its path kept, after the endpoint's own path)."""
    if endpoint is None:
        return url
    target = urlsplit(url)
    override = urlsplit(endpoint)
    path = override.path.rstrip("/") + target.path
    return urlunsplit((override.scheme, override.netloc, path, target.query, target.fragment))
