"""Which model a proxy request reaches: by key, by a served name no two models share, or the only one."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_openai.client.stack_outputs import StackOutputs
from sagemaker_openai.servers.proxy.routes import ModelRoutes, Route, RouteNotFound

from .helpers import client_config, write_outputs_file

BASE = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/demo-ep/inference-components"


def _routes(*served: str) -> ModelRoutes:
    keys = ("qwen", "llama", "phi")
    return ModelRoutes(
        {
            key: Route(key, f"{BASE}/demo-{key}/openai/v1/chat/completions", name)
            for key, name in zip(keys, served, strict=False)
        }
    )


def _refusal(routes: ModelRoutes, model: object) -> tuple[int, str, str]:
    with pytest.raises(RouteNotFound) as caught:
        routes.resolve(model)
    return caught.value.status, caught.value.code, caught.value.message


def test_a_key_or_an_unshared_served_name_picks_the_model() -> None:
    routes = _routes("Qwen/Qwen3-4B", "shared", "shared")
    assert routes.resolve("llama").name == "llama"
    assert routes.resolve("Qwen/Qwen3-4B").name == "qwen"
    assert routes.resolve("llama").served_model_name == "shared"
    # Two models serve "shared": the name picks neither.
    assert _refusal(routes, "shared") == (
        404,
        "model_not_found",
        "The model `shared` does not exist on this proxy; its models are qwen, llama, phi.",
    )


@pytest.mark.parametrize("model", [None, ""])
def test_several_models_need_a_model(model: object) -> None:
    assert _refusal(_routes("a", "b"), model) == (
        400,
        "missing_model",
        "This proxy serves several models: set `model` to one of qwen, llama.",
    )


@pytest.mark.parametrize("model", [None, "", "gpt-4o", 42])
def test_one_model_takes_any_name(model: object) -> None:
    assert _routes("Qwen/Qwen3-4B").resolve(model).served_model_name == "Qwen/Qwen3-4B"


def test_the_model_list_is_openai_shaped() -> None:
    routes = _routes("a", "b")
    assert routes.model_list(7) == {
        "object": "list",
        "data": [
            {"id": "qwen", "object": "model", "created": 7, "owned_by": "sagemaker-openai"},
            {"id": "llama", "object": "model", "created": 7, "owned_by": "sagemaker-openai"},
        ],
    }
    with pytest.raises(RouteNotFound, match="its models are qwen, llama"):
        routes.model_object("phi", 7)


def test_routes_from_a_stack_follow_the_configured_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = {
        key: {
            "base_url": f"{BASE}/demo-{key}/openai/v1",
            "inference_component_name": f"demo-{key}",
            "served_model_name": f"served-{key}",
        }
        for key in ("qwen", "llama")
    }
    path = write_outputs_file(
        tmp_path / "outputs.json",
        {"Demo": {"ClientConfig": client_config(mode="inference_component", models=models)}},
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9")
    routes = ModelRoutes.from_stack(StackOutputs.from_file(path))
    assert routes.names == ["qwen", "llama"]
    assert routes.resolve("llama") == Route(
        "llama",
        "http://127.0.0.1:9/endpoints/demo-ep/inference-components/demo-llama/openai/v1/chat/completions",
        "served-llama",
    )
