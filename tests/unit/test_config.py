"""Every bad input ends in one ConfigError line that names the file, the field and what is allowed."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from sagemaker_openai.config import (
    ConfigWarning,
    InferenceComponentConfig,
    SingleModelConfig,
    Spec,
    collect_warnings,
    load_config,
    parse_config,
)
from sagemaker_openai.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIGS

IC_MODEL: dict[str, Any] = {"key": "chat", "hf_model_id": "Qwen/Qwen3-4B"}


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def _file_error(tmp_path: Path, text: str | None, **kwargs: Any) -> str:
    path = tmp_path / "deploy.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: p.name)
def test_example_configs_are_valid(path: Path) -> None:
    assert load_config(str(path)).name


def test_defaults_are_qwen3_4b_on_one_g6_2xlarge() -> None:
    config = parse_config({})
    assert isinstance(config, SingleModelConfig)
    assert (config.name, config.instance_type, config.instance_count) == ("qwen3-4b", "ml.g6.2xlarge", 1)
    assert config.model.hf_model_id == "Qwen/Qwen3-4B"
    assert config.image.vllm_version == "0.30.0"
    assert config.image.default_ami_version() == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert config.startup_health_check_timeout_seconds == 1200
    assert config.logs.retention_days == 30


def test_missing_file(tmp_path: Path) -> None:
    assert _file_error(tmp_path, None) == "config file not found (pass -c config=PATH or CONFIG=PATH)"


def test_invalid_yaml(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "name: [unclosed\n").startswith("invalid YAML: line 2: ")


def test_empty_file(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "# nothing\n") == (
        "the config file is empty; see config/qwen3-4b.yaml for an example"
    )


def test_list_instead_of_mapping(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "- name: a\n") == (
        "the config must be a mapping of fields (name: ..., model: ...), not a list"
    )


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "name: a\ninstance_count: 1\nname: b\n") == "line 3: duplicate key 'name'"


def test_wrong_type() -> None:
    assert _error({"instance_count": "two"}) == (
        "cfg.yaml: instance_count: Input should be a valid integer, unable to parse string as an integer "
        "(got 'two')"
    )


def test_unknown_key_lists_the_allowed_ones() -> None:
    assert _error({"model": {"hf_model_id": "a/b", "vlm": {}}}) == (
        "cfg.yaml: model.vlm: unknown field; allowed here: enable_network_isolation, environment, "
        "hf_model_id, s3_kms_key_arn, s3_uri, served_model_name, vllm"
    )


def test_unknown_instance_type() -> None:
    message = _error({"instance_type": "ml.t2.medium"})
    assert message.startswith(
        "cfg.yaml: instance_type 'ml.t2.medium' is not in the kit's instance table; use one of ml.g5"
    )


@pytest.mark.parametrize("name", ["9lives", "has_underscore", "ends-", "x" * 64, ""])
def test_bad_stack_name(name: str) -> None:
    message = _error({"name": name})
    assert message.startswith("cfg.yaml: name: ")
    assert "letters, digits and hyphens" in message or "at most 63 characters" in message


def test_stack_name_override_is_checked_and_named(tmp_path: Path) -> None:
    message = _file_error(tmp_path, "name: fine\n", stack_name="bad_name")
    assert message.startswith("name (from -c stack_name): must start with a letter")
    path = tmp_path / "deploy.yaml"
    assert load_config(str(path), stack_name="ci-run-42").name == "ci-run-42"


def test_unsupported_region() -> None:
    message = _error({"region": "cn-north-1"})
    assert message.startswith(
        "cfg.yaml: region 'cn-north-1' has no vLLM DLC 0.30.0 image; supported: af-south-1"
    )
    assert message.endswith("(for China or GovCloud set image.uri to a full image URI)")


def test_image_uri_region_must_match() -> None:
    uri = "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
    assert _error({"region": "us-east-1", "image": {"uri": uri}}) == (
        "cfg.yaml: image.uri is in cn-north-1 but region is us-east-1; "
        "SageMaker pulls images from the endpoint's region"
    )


def test_unknown_vllm_version_and_bad_image_uri() -> None:
    assert "image.vllm_version: unknown vLLM DLC version '0.1.0'" in _error(
        {"image": {"vllm_version": "0.1.0"}}
    )
    assert "image.uri: 'vllm:latest' is not an ECR image URI" in _error({"image": {"uri": "vllm:latest"}})


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({}, "model: provide either hf_model_id or s3_uri"),
        (
            {"hf_model_id": "a/b", "s3_uri": "s3://b/p/"},
            "model: provide either hf_model_id or s3_uri, not both",
        ),
        ({"s3_uri": "s3://bucket/weights"}, "must be the S3 prefix of uncompressed weights"),
        ({"hf_model_id": "a/b", "environment": {"HF_TOKEN": "x"}}, "would store a secret in plain text"),
        ({"hf_model_id": "a/b", "environment": {"SM_VLLM_FOO": "1"}}, "is set by the kit"),
        ({"hf_model_id": "a/b", "enable_network_isolation": True}, "cannot be true with hf_model_id"),
        ({"hf_model_id": "a/b", "vllm": {"extra_args": {"max_model_len": 1}}}, "duplicates the typed field"),
        (
            {"hf_model_id": "a/b", "vllm": {"extra_args": {"Bad-Flag": 1}}},
            "must be a vLLM flag in snake_case",
        ),
        ({"hf_model_id": "a/b", "vllm": {"tool_call_parser": None}}, "needs tool_call_parser"),
    ],
)
def test_bad_model(model: dict[str, Any], expected: str) -> None:
    assert expected in _error({"model": model})


def test_timeouts_are_bounded_by_what_sagemaker_allows() -> None:
    assert _error({"startup_health_check_timeout_seconds": 7200}) == (
        "cfg.yaml: startup_health_check_timeout_seconds: "
        "Input should be less than or equal to 3600 (got 7200)"
    )


def test_tensor_parallel_size_beyond_the_gpus() -> None:
    assert _error({"model": {"hf_model_id": "a/b", "vllm": {"tensor_parallel_size": 2}}}) == (
        "cfg.yaml: model.vllm.tensor_parallel_size is 2 but ml.g6.2xlarge has 1 GPU(s); "
        "lower it or pick a larger instance_type"
    )


def _ic(models: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"mode": "inference_component", "name": "multi", "models": models, **extra}


def test_inference_component_config_parses() -> None:
    config = parse_config(_ic([IC_MODEL]))
    assert isinstance(config, InferenceComponentConfig)
    assert config.component_name(config.models[0]) == "multi-chat"


def test_gpus_over_subscribed_names_models_and_numbers() -> None:
    models: list[dict[str, Any]] = [
        IC_MODEL | {"copies": {"initial": 2, "max": 2}},
        {"key": "b", "hf_model_id": "x/y"},
    ]
    assert _error(_ic(models)) == (
        "cfg.yaml: the initial copies do not fit on 1 x ml.g6.2xlarge (1 GPU, 8 vCPU, 32768 MiB each): "
        "chat: 2 x 1 GPU, b: 1 x 1 GPU; no room for b, chat; raise instance_count or lower copies.initial, "
        "accelerators, cpu_cores or memory_mib"
    )


def test_one_copy_larger_than_an_instance() -> None:
    assert _error(_ic([IC_MODEL | {"accelerators": 2}])) == (
        "cfg.yaml: model 'chat': one copy does not fit on one ml.g6.2xlarge (accelerators 2 > 1); "
        "lower its resources or pick a larger instance_type"
    )


def test_duplicate_model_keys() -> None:
    assert _error(_ic([IC_MODEL, IC_MODEL], instance_type="ml.g6.12xlarge")) == (
        "cfg.yaml: models: keys 'chat' and 'chat' give the same key 'chat'; rename one"
    )


def test_keys_that_collide_as_output_ids() -> None:
    models: list[dict[str, Any]] = [IC_MODEL | {"key": "qwen3-4b"}, IC_MODEL | {"key": "qwen34b"}]
    assert "give the same output ID 'qwen34b'" in _error(_ic(models, instance_type="ml.g6.12xlarge"))


@pytest.mark.parametrize("key", ["Chat", "-chat", "chat_1", "x" * 64])
def test_invalid_model_key(key: str) -> None:
    assert _error(_ic([IC_MODEL | {"key": key}])).startswith("cfg.yaml: models[0].key: ")


def test_min_above_max() -> None:
    assert _error(_ic([IC_MODEL | {"copies": {"min": 3, "max": 2}}])) == (
        "cfg.yaml: models[0].copies: min (3) is above max (2)"
    )
    assert _error(_ic([IC_MODEL], managed_instance_scaling={"min_instances": 2, "max_instances": 1})) == (
        "cfg.yaml: managed_instance_scaling: min_instances (2) is above max_instances (1)"
    )


def test_invoker_models_must_exist() -> None:
    assert "invoker.models names unknown model keys ['other']" in _error(
        _ic([IC_MODEL], invoker={"models": ["other"]})
    )
    assert "invoker.models applies to inference_component mode only" in _error({"invoker": {"models": ["a"]}})


def test_unknown_mode() -> None:
    assert _error({"mode": "serverless"}) == (
        "cfg.yaml: mode: must be one of single_model, inference_component (got 'serverless')"
    )


class _Leaf(Spec):
    limit: int = 1

    def warnings(self) -> list[ConfigWarning]:
        return [ConfigWarning("limit", "is low")] if self.limit < 2 else []


class _Root(Spec):
    leaf: _Leaf = _Leaf()
    leaves: list[_Leaf] = Field(default_factory=list)

    def warnings(self) -> list[ConfigWarning]:
        return [ConfigWarning("", "whole-config advice")]


def test_collect_warnings_prefixes_each_nested_field_path() -> None:
    root = _Root(leaves=[_Leaf(limit=5), _Leaf(limit=0)])
    assert collect_warnings(root) == [
        "<config>: whole-config advice",
        "leaf.limit: is low",
        "leaves[1].limit: is low",
    ]


def test_example_configs_have_no_warnings() -> None:
    for path in EXAMPLE_CONFIGS:
        assert collect_warnings(load_config(str(path))) == [], path.name
