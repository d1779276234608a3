"""Secrets never reach the template through the config: a secret-shaped vLLM flag or environment name is
refused up front, in one line that names the key and the fix, with one rule shared with the cdk-nag pack."""

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_sagemaker as sagemaker

from sagemaker_openai.catalog.vllm_catalog import catalog_versions, load_catalog
from sagemaker_openai.config import VllmSettings, load_config, parse_config
from sagemaker_openai.config.secret_names import is_secret_name
from sagemaker_openai.constructs.nag_rules import SageMakerOpenAIChecks
from sagemaker_openai.errors import ConfigError
from tests.conftest import CONFIG_DIR, load_yaml

EXTRA_ARGS_FIX = (
    "would store a secret in plain text in the template; remove it (stage gated weights to S3 and use "
    "s3_uri; SageMaker authenticates callers with IAM, so vLLM needs no API key)"
)
# The names the environment check refused before it shared the rule, as the environment spells them.
ENVIRONMENT_SECRETS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACEHUB_API_TOKEN")


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def _single(extra_args: dict[str, Any]) -> dict[str, Any]:
    data = load_yaml(CONFIG_DIR / "qwen3-4b.yaml")
    data["model"]["vllm"]["extra_args"] = extra_args
    return data


def _snake_and_kebab(names: tuple[str, ...]) -> list[str]:
    lowered = [name.lower() for name in names]
    return [*lowered, *(name.replace("_", "-") for name in lowered)]


@pytest.mark.parametrize(
    "key", ["hf_token", "api_key", "hf-token", "api-key", *_snake_and_kebab(ENVIRONMENT_SECRETS)]
)
def test_a_secret_flag_is_refused_in_one_line_naming_the_key(key: str) -> None:
    assert _error(_single({key: "hf_" + "a" * 34})) == (
        f"cfg.yaml: model.vllm.extra_args: key {key!r} {EXTRA_ARGS_FIX}"
    )


def test_a_secret_flag_is_refused_in_every_model_of_an_inference_component_config() -> None:
    data = load_yaml(CONFIG_DIR / "two-models-g6-12xlarge.yaml")
    assert len(data["models"]) == 2
    for index in range(2):
        models = [dict(model) for model in data["models"]]
        models[index]["vllm"] = {**models[index].get("vllm", {}), "extra_args": {"api-key": ["key-1"]}}
        assert _error({**data, "models": models}) == (
            f"cfg.yaml: models[{index}].vllm.extra_args: key 'api-key' {EXTRA_ARGS_FIX}"
        )


def test_a_secret_flag_is_refused_when_the_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(_single({"hf_token": "hf_" + "b" * 34})))
    with pytest.raises(ConfigError, match=r"^.*deploy\.yaml: model\.vllm\.extra_args: key 'hf_token' would"):
        load_config(str(path))


@pytest.mark.parametrize("value", [True, False, "false", " TRUE ", ""])
def test_a_bare_secret_flag_holds_no_secret_and_passes_this_check(value: object) -> None:
    """--hf-token alone (or --no-hf-token) carries no secret; the flag checks judge the value."""
    assert VllmSettings(extra_args={"hf_token": value}).extra_args == {"hf_token": value}


@pytest.mark.parametrize("name", [*ENVIRONMENT_SECRETS, "OPENAI_API_KEY", "VLLM_API_KEY", "DB_PASSWORD"])
def test_the_environment_check_uses_the_same_rule(name: str) -> None:
    data = _single({})
    data["model"]["environment"] = {name: "x"}
    assert _error(data) == (
        f"cfg.yaml: model: environment key {name!r} would store a secret in plain text in the template; "
        "stage gated weights to S3 and use s3_uri"
    )


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("hf_token", True),
        ("HF-TOKEN", True),
        ("api_key", True),
        ("ssl_keyfile", False),  # a path
        ("max_num_batched_tokens", False),
        ("tokenizer_mode", False),
        ("long_prefill_token_threshold", False),  # a scheduler limit
        ("return_tokens_as_token_ids", False),
        ("HF_TOKEN_PATH", False),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("client_secret", True),
        ("KEY", False),
    ],
)
def test_the_secret_name_rule(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_the_only_secret_shaped_vllm_flags_are_the_secrets_and_one_boolean() -> None:
    flags = {name for version in catalog_versions() for name in _catalog_flags(version)}
    assert {name for name in flags if is_secret_name(name)} == {"hf_token", "api_key", "allow_credentials"}


def _catalog_flags(version: str) -> set[str]:
    catalog = load_catalog(version)
    assert catalog is not None
    return set(catalog.flags)


def _nag_findings(environment: dict[str, str]) -> list[str]:
    stack = cdk.Stack(cdk.App(), "Checked")
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn="arn:aws:iam::123456789012:role/exec",
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image="image", environment=environment
        ),
    )
    return sorted(v.rule_name for v in SageMakerOpenAIChecks().validate_scope(stack).violations)


def test_the_nag_rule_judges_the_rendered_flags_as_the_config_does() -> None:
    finding = ["SageMakerOpenAI-SecretInEnvironment"]
    assert _nag_findings({"SM_VLLM_HF_TOKEN": "hf_" + "c" * 34}) == finding
    assert _nag_findings({"SM_VLLM_API_KEY": '["key-1"]'}) == finding
    assert _nag_findings({"SM_VLLM_HF_TOKEN": "true", "SM_VLLM_LONG_PREFILL_TOKEN_THRESHOLD": "2048"}) == []
