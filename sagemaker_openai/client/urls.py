"""What a SageMaker runtime OpenAI base URL says: region (from the host), endpoint and inference component."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sagemaker_openai.client.destinations import runtime_host_region

_OPENAI_PATH = re.compile(
    r"^/endpoints/(?P<endpoint>[^/]+)(?:/inference-components/(?P<component>[^/]+))?/openai/v1/?$"
)


@dataclass(frozen=True)
class RuntimeUrl:
    """The parts of an OpenAI base URL on a SageMaker runtime (local-runtime hosts carry no region)."""

    endpoint_name: str
    inference_component_name: str | None
    region: str | None


def region_from_host(url: str) -> str | None:
    """The region in a runtime host name, or None for hosts that carry none (local-runtime, proxies)."""
    return runtime_host_region(urlsplit(url).hostname or "")


def parse_runtime_url(base_url: str) -> RuntimeUrl | None:
    """Split an OpenAI base URL into endpoint and component names; None for other paths."""
    match = _OPENAI_PATH.match(urlsplit(base_url).path)
    if match is None:
        return None
    component = match.group("component")
    return RuntimeUrl(
        endpoint_name=unquote(match.group("endpoint")),
        inference_component_name=unquote(component) if component is not None else None,
        region=region_from_host(base_url),
    )
