"""Which model a runtime path reaches, with the refusals SageMaker gives for the wrong endpoint shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_CHAT_PATH = re.compile(
    r"^/endpoints/(?P<endpoint>[^/]+)(?:/inference-components/(?P<component>[^/]+))?/openai/v1/(?P<route>.+)$"
)


class RouteError(Exception):
    """The path reaches no model: answered with `status` and an OpenAI-style error of type `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class EndpointLayout:
    """One endpoint: a single-model endpoint when `inference_components` is empty."""

    endpoint_name: str
    inference_components: tuple[str, ...] = ()

    def base_urls(self, origin: str) -> list[str]:
        endpoint = f"{origin}/endpoints/{self.endpoint_name}"
        if not self.inference_components:
            return [f"{endpoint}/openai/v1"]
        return [f"{endpoint}/inference-components/{name}/openai/v1" for name in self.inference_components]

    def route(self, path: str) -> str:
        """The endpoint or component name `path` reaches for a chat completion; RouteError otherwise."""
        match = _CHAT_PATH.match(urlsplit(path).path)
        if match is None:
            raise RouteError(
                404, "NotFound", "Not found: use /endpoints/{endpoint}/openai/v1/chat/completions."
            )
        endpoint = unquote(match.group("endpoint"))
        component = match.group("component")
        if endpoint != self.endpoint_name:
            raise RouteError(400, "ValidationError", f"Endpoint {endpoint} not found.")
        if match.group("route") != "chat/completions":
            raise RouteError(404, "NotFound", "Only /openai/v1/chat/completions is served.")
        if component is None:
            if self.inference_components:
                raise RouteError(
                    400,
                    "ValidationError",
                    f"Endpoint {endpoint} hosts inference components: an inference component name is "
                    f"required; call /endpoints/{endpoint}/inference-components/<name>/openai/v1.",
                )
            return endpoint
        component = unquote(component)
        if component not in self.inference_components:
            raise RouteError(
                400, "ValidationError", f"Inference component {component} not found on endpoint {endpoint}."
            )
        return component
