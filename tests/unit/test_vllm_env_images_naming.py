"""vLLM flag rendering, the DLC registry lookup and the names derived from the stack name."""

import re

import pytest

from sagemaker_openai import naming
from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.vllm_env import container_environment, vllm_flag_variable
from sagemaker_openai.config import ModelSpec
from sagemaker_openai.errors import ConfigError


def test_false_turns_a_default_on_flag_off_with_its_negative_form() -> None:
    assert vllm_flag_variable("enable_prefix_caching", False) == ("SM_VLLM_NO_ENABLE_PREFIX_CACHING", "true")
    assert vllm_flag_variable("enforce_eager", True) == ("SM_VLLM_ENFORCE_EAGER", "true")
    assert vllm_flag_variable("max_model_len", 4096) == ("SM_VLLM_MAX_MODEL_LEN", "4096")
    assert vllm_flag_variable("rope_scaling", {"rope_type": "yarn", "factor": 4.0}) == (
        "SM_VLLM_ROPE_SCALING",
        '{"rope_type":"yarn","factor":4.0}',
    )


def test_environment_from_typed_fields_and_extra_args() -> None:
    spec = ModelSpec(
        s3_uri="s3://bucket/prefix/",
        served_model_name="mine",
        vllm={
            "reasoning_parser": None,
            "enable_prefix_caching": False,
            "extra_args": {"kv_cache_dtype": "fp8", "no_enable_chunked_prefill": True},
        },
        environment={"PROCESS_MAX_START_RETRIES": "5"},
    )
    env = container_environment(spec)
    assert env["SM_VLLM_NO_ENABLE_PREFIX_CACHING"] == "true"
    assert env["SM_VLLM_KV_CACHE_DTYPE"] == "fp8"
    assert env["SM_VLLM_NO_ENABLE_CHUNKED_PREFILL"] == "true"
    assert env["SM_VLLM_SERVED_MODEL_NAME"] == "mine"
    assert env["PROCESS_MAX_START_RETRIES"] == "5"
    assert "SM_VLLM_REASONING_PARSER" not in env
    assert "HF_MODEL_ID" not in env
    assert list(env) == sorted(env)


def test_the_same_variable_twice_is_an_error() -> None:
    spec = ModelSpec(hf_model_id="a/b", vllm={"extra_args": {"foo": False, "no_foo": True}})
    with pytest.raises(ConfigError, match=r"model.vllm: 'no_foo' sets SM_VLLM_NO_FOO a second time"):
        container_environment(spec)


def test_environment_size_limits() -> None:
    spec = ModelSpec(hf_model_id="a/b", environment={"BIG": "x" * 1025})
    with pytest.raises(ConfigError, match="the value of BIG is 1025 bytes; SageMaker allows 1024 per entry"):
        container_environment(spec)
    many = {f"VAR_{i}": "x" * 1000 for i in range(40)}
    with pytest.raises(ConfigError, match="SageMaker allows 32768 in all"):
        container_environment(ModelSpec(hf_model_id="a/b", environment=many))


def test_release_tag_matches_what_sagemaker_core_retrieves() -> None:
    from sagemaker.core import image_uris

    # Every region of the default version, and regions with different accounts for the others
    # (retrieve takes ~75 ms a call).
    for version in images.known_vllm_versions():
        release = images.vllm_release(version)
        regions = (
            release.regions
            if version == images.DEFAULT_VLLM_VERSION
            else [r for r in ("us-east-1", "af-south-1", "ap-southeast-3") if r in release.registries]
        )
        assert regions
        for region in regions:
            account = release.registries[region]
            expected = image_uris.retrieve(framework="vllm", region=region, version=version)
            # The template takes the domain from AWS::URLSuffix (amazonaws.com, amazonaws.com.cn, ...).
            assert expected.startswith(f"{account}.dkr.ecr.{region}.")
            assert expected.endswith(f"/{release.repository}:{release.tag}")


def test_ami_follows_the_cuda_version_of_the_tag() -> None:
    assert images.inference_ami_for_tag("0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker") == (
        "al2023-ami-sagemaker-inference-gpu-4-1"
    )
    assert images.inference_ami_for_tag("0.19.1-gpu-py312-cu129-ubuntu22.04-sagemaker") == (
        "al2-ami-sagemaker-inference-gpu-3-1"
    )
    assert images.inference_ami_for_tag("latest") is None


def test_image_uri_parsing() -> None:
    location = images.parse_image_uri("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/team/vllm:v1")
    assert (location.account, location.region, location.repository, location.tag) == (
        "123456789012",
        "us-gov-west-1",
        "team/vllm",
        "v1",
    )


def test_component_names_fit_sagemaker_and_stay_distinct() -> None:
    assert naming.inference_component_name("Stack", "chat") == "stack-chat"
    long_a = naming.inference_component_name("s" * 60, "model-a")
    long_b = naming.inference_component_name("s" * 60, "model-b")
    for name in (long_a, long_b):
        assert len(name) == 63
        assert re.fullmatch(naming.SAGEMAKER_NAME.pattern, name)
    assert long_a != long_b
    assert naming.inference_component_name("s" * 60, "model-a") == long_a, "deterministic"


def test_logical_id_suffix() -> None:
    assert naming.logical_id_suffix("qwen3-4b") == "Qwen34b"
    assert naming.logical_id_suffix("a--b") == "AB"
