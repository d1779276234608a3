"""Which model a request's `model` names, and the OpenAI-shaped answers the proxy gives itself.

Clients name a model by its key in the stack (what `sagemaker-openai outputs` prints before the colon) or,
when no two models share it, by its served name. The request goes on to that model's base URL with `model`
set to the served name, since vLLM refuses a name it does not serve. A stack with one model takes any name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagemaker_openai.client.stack_outputs import StackOutputs

OWNER = "sagemaker-openai"


@dataclass(frozen=True)
class Route:
    """One model behind the proxy: the name clients send, where it goes, and the name it is sent as."""

    name: str
    chat_url: str
    served_model_name: str


class RouteNotFound(Exception):
    """No model answers to the name: `status`, `code` and `message` make the OpenAI-style error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ModelRoutes:
    """The stack's models by the name clients send, in the stack's order."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        if not routes:
            raise ValueError("a proxy needs at least one model")
        self._routes = dict(routes)
        served: dict[str, list[Route]] = {}
        for route in self._routes.values():
            if route.served_model_name:
                served.setdefault(route.served_model_name, []).append(route)
        self._aliases = {
            name: found[0] for name, found in served.items() if len(found) == 1 and name not in self._routes
        }

    @classmethod
    def from_stack(cls, stack: StackOutputs) -> ModelRoutes:
        return cls(
            {
                key: Route(
                    name=key,
                    chat_url=f"{model.base_url.rstrip('/')}/chat/completions",
                    served_model_name=model.served_model_name,
                )
                for key, model in stack.models.items()
            }
        )

    @property
    def names(self) -> list[str]:
        return list(self._routes)

    def resolve(self, model: object) -> Route:
        """The route for a request's `model` value; RouteNotFound (404, or 400 when it is missing)."""
        if len(self._routes) == 1:
            return next(iter(self._routes.values()))
        if model is None or model == "":
            raise RouteNotFound(
                400,
                "missing_model",
                f"This proxy serves several models: set `model` to one of {self._listing()}.",
            )
        if isinstance(model, str):
            route = self._routes.get(model) or self._aliases.get(model)
            if route is not None:
                return route
        raise RouteNotFound(
            404,
            "model_not_found",
            f"The model `{model}` does not exist on this proxy; its models are {self._listing()}.",
        )

    def model_object(self, name: str, created: int) -> dict[str, Any]:
        if name not in self._routes:
            raise RouteNotFound(
                404,
                "model_not_found",
                f"The model `{name}` does not exist on this proxy; its models are {self._listing()}.",
            )
        return {"id": name, "object": "model", "created": created, "owned_by": OWNER}

    def chat_urls(self) -> list[str]:
        return [route.chat_url for route in self._routes.values()]

    def model_list(self, created: int) -> dict[str, Any]:
        return {"object": "list", "data": [self.model_object(name, created) for name in self._routes]}

    def _listing(self) -> str:
        return ", ".join(self._routes)


def openai_error(message: str, *, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """An error body as the OpenAI API writes it."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
