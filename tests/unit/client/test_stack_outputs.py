"""Reading a deployed stack's outputs: the ClientConfig contract, the fallback outputs, and clear refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.client.errors import StackOutputsError
from sagemaker_openai.client.stack_outputs import ModelTarget, StackOutputs

from .helpers import client_config, write_outputs_file

IC_BASE = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/demo-ep/inference-components"
IC_MODELS: dict[str, dict[str, object]] = {
    "qwen3-4b": {
        "base_url": f"{IC_BASE}/demo-qwen3-4b/openai/v1",
        "inference_component_name": "demo-qwen3-4b",
        "served_model_name": "Qwen/Qwen3-4B",
    },
    "llama": {
        "base_url": f"{IC_BASE}/demo-llama/openai/v1",
        "inference_component_name": "demo-llama",
        "served_model_name": "meta-llama/Llama-3.2-3B-Instruct",
    },
}


def _single_model_outputs() -> dict[str, str]:
    return {
        "OpenAIBaseUrl": "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/demo-ep/openai/v1",
        "EndpointName": "demo-ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep",
        "InvokerRoleArn": "arn:aws:iam::123456789012:role/demo-invoker",
        "InvokerPolicyArn": "arn:aws:iam::123456789012:policy/demo-invoke",
        "Region": "us-east-1",
        "ClientConfig": client_config(),
    }


def _ic_outputs() -> dict[str, str]:
    return {
        "OpenAIBaseUrlQwen34b": str(IC_MODELS["qwen3-4b"]["base_url"]),
        "InferenceComponentNameQwen34b": "demo-qwen3-4b",
        "OpenAIBaseUrlLlama": str(IC_MODELS["llama"]["base_url"]),
        "InferenceComponentNameLlama": "demo-llama",
        "EndpointName": "demo-ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep",
        "InvokerRoleArn": "arn:aws:iam::123456789012:role/demo-invoker",
        "InvokerPolicyArn": "arn:aws:iam::123456789012:policy/demo-invoke",
        "Region": "us-east-1",
        "ClientConfig": client_config(mode="inference_component", models=IC_MODELS),
    }


def test_single_model_client_config() -> None:
    stack = StackOutputs.from_outputs("Demo", _single_model_outputs(), source="test")
    assert stack.mode == "single_model"
    assert (stack.region, stack.endpoint_name) == ("us-east-1", "demo-ep")
    assert stack.invoker_policy_arn == "arn:aws:iam::123456789012:policy/demo-invoke"
    assert stack.target() == ModelTarget(
        key="default",
        base_url="https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/demo-ep/openai/v1",
        inference_component_name=None,
        served_model_name="Qwen/Qwen3-4B",
    )


def test_inference_component_client_config() -> None:
    stack = StackOutputs.from_outputs("Demo", _ic_outputs(), source="test")
    assert stack.mode == "inference_component"
    assert list(stack.models) == ["qwen3-4b", "llama"]
    assert stack.target("llama").inference_component_name == "demo-llama"
    assert stack.target("qwen3-4b").served_model_name == "Qwen/Qwen3-4B"
    with pytest.raises(StackOutputsError, match=r"serves several models \(qwen3-4b, llama\); pick one"):
        stack.target()
    with pytest.raises(StackOutputsError, match=r"has no model 'mistral'; its models are qwen3-4b, llama"):
        stack.target("mistral")


def test_fallback_to_individual_outputs_without_client_config() -> None:
    single = _single_model_outputs()
    del single["ClientConfig"]
    stack = StackOutputs.from_outputs("Demo", single, source="test")
    assert stack.target().base_url == single["OpenAIBaseUrl"]
    assert stack.target().served_model_name == ""  # vLLM accepts an empty model name

    components = _ic_outputs()
    del components["ClientConfig"]
    stack = StackOutputs.from_outputs("Demo", components, source="test")
    assert stack.mode == "inference_component"
    assert {key: model.inference_component_name for key, model in stack.models.items()} == {
        "Llama": "demo-llama",
        "Qwen34b": "demo-qwen3-4b",
    }


def test_outputs_file_with_one_stack_needs_no_stack_name(tmp_path: Path) -> None:
    path = write_outputs_file(tmp_path / "out.json", {"Demo": _single_model_outputs()})
    assert StackOutputs.from_file(path).stack_name == "Demo"


def test_outputs_file_with_several_stacks_needs_a_name(tmp_path: Path) -> None:
    path = write_outputs_file(
        tmp_path / "out.json", {"Demo": _single_model_outputs(), "Other": _ic_outputs()}
    )
    with pytest.raises(StackOutputsError, match=r"holds 2 stacks \(Demo, Other\); pass --stack NAME"):
        StackOutputs.from_file(path)
    assert StackOutputs.from_file(path, "Other").mode == "inference_component"
    with pytest.raises(StackOutputsError, match=r"stack Nope is not in .*out.json \(it holds Demo, Other\)"):
        StackOutputs.from_file(path, "Nope")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"does not exist; run `cdk deploy --outputs-file .*` or fix the path"),
        ("{not json", r"is not valid JSON \(line 1: .*\); pass the file `cdk deploy --outputs-file` wrote"),
        ('["Demo"]', r"is not a map of stack name to outputs"),
        ('{"Demo": {"EndpointName": 3}}', r"is not a map of stack name to outputs"),
        ('{"Demo": {"EndpointName": "x"}}', r"has no ClientConfig or OpenAIBaseUrl outputs"),
    ],
)
def test_unusable_outputs_files_are_refused_with_the_fix(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "cdk-outputs.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(StackOutputsError, match=message):
        StackOutputs.from_file(path)


def test_unknown_schema_version_is_refused() -> None:
    outputs = _single_model_outputs() | {"ClientConfig": client_config(schema_version=2)}
    with pytest.raises(
        StackOutputsError, match=r"ClientConfig schema_version 2 is not supported \(this client reads 1\)"
    ):
        StackOutputs.from_outputs("Demo", outputs, source="cdk-outputs.json")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.pop("models"), r"lacks dict field 'models'"),
        (
            lambda c: c.update(mode="serverless"),
            r"mode 'serverless' is not one of single_model, inference_component",
        ),
        (lambda c: c.update(schema_version=True), r"lacks int field 'schema_version'"),
        (lambda c: c["models"]["default"].pop("base_url"), r"model 'default' lacks str field 'base_url'"),
        (
            lambda c: c["models"]["default"].update(base_url="ftp://x"),
            r"base URL 'ftp://x' is not an http\(s\) URL",
        ),
        (lambda c: c.update(models={}), r"lists no models"),
    ],
)
def test_invalid_client_config_names_the_field(
    mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    config = json.loads(client_config())
    mutate(config)
    outputs = _single_model_outputs() | {"ClientConfig": json.dumps(config)}
    with pytest.raises(StackOutputsError, match=message) as raised:
        StackOutputs.from_outputs("Demo", outputs, source="cdk-outputs.json")
    assert str(raised.value).startswith("cdk-outputs.json, stack Demo: ClientConfig")
