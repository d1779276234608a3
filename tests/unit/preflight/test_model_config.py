"""`make preflight` reads the model's config.json and refuses what vLLM would refuse once it has it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from sagemaker_openai.config import parse_config
from sagemaker_openai.preflight import model_config
from sagemaker_openai.preflight.model_config import check_model_config, derived_max_len, length_rules
from sagemaker_openai.preflight.report import Context
from sagemaker_openai.preflight.runner import run_check

from .helpers import ACCOUNT, REGION

BUCKET = "weights-bucket"
PREFIX = "models/llama/"


def _context(config: dict[str, Any], session: boto3.Session | None = None) -> Context:
    return Context(
        config=parse_config(config),
        session=session or boto3.Session(region_name=REGION),
        account=ACCOUNT,
        region=REGION,
        partition="aws",
    )


def _lines(ctx: Context) -> list[str]:
    return [f.line().strip() for f in run_check("model config", check_model_config, ctx)]


@pytest.fixture
def s3_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A moto bucket holding a Llama 3.1 8B-like config.json (llama3 RoPE: 131072 positions, not scaled)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        config = {
            "model_type": "llama",
            "max_position_embeddings": 131072,
            "num_attention_heads": 32,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192},
        }
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}config.json", Body=json.dumps(config).encode())
        yield session


def _s3_config(**vllm: Any) -> dict[str, Any]:
    # 4 GPUs, so that the config itself allows tensor_parallel_size up to 4
    return {"instance_type": "ml.g6.12xlarge", "model": {"s3_uri": f"s3://{BUCKET}/{PREFIX}", "vllm": vllm}}


def test_max_model_len_above_what_the_model_supports_is_a_problem(s3_model: boto3.Session) -> None:
    assert _lines(_context(_s3_config(max_model_len=262144, tensor_parallel_size=1), s3_model)) == [
        "PROBLEM  model config model: model.vllm.max_model_len: 262144 is more than the model supports "
        "(max_position_embeddings=131072 in its config.json, as vLLM derives it); set max_model_len to "
        "131072 or less"
    ]


def test_a_tensor_parallel_size_that_does_not_divide_the_heads_is_a_problem(s3_model: boto3.Session) -> None:
    assert _lines(_context(_s3_config(tensor_parallel_size=3), s3_model)) == [
        "PROBLEM  model config model: model.vllm.tensor_parallel_size: 3 does not divide the model's 32 "
        "attention heads (num_attention_heads in its config.json); use one of 1, 2, 4, 8"
    ]


def test_a_model_within_its_limits_is_ok(s3_model: boto3.Session) -> None:
    assert _lines(_context(_s3_config(max_model_len=131072, tensor_parallel_size=4), s3_model)) == [
        "ok       model config model: supports 131072 tokens, 32 attention heads (config.json from "
        f"s3://{BUCKET}/{PREFIX})"
    ]


def test_vllms_escape_hatch_for_a_longer_context_is_honoured(s3_model: boto3.Session) -> None:
    config = _s3_config(max_model_len=262144)
    config["model"]["environment"] = {"VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1"}
    assert _lines(_context(config, s3_model))[0].startswith("ok       model config model")


def test_the_hub_is_read_when_the_weights_come_from_it(offline_hub: dict[str, Mapping[str, Any]]) -> None:
    # The default config: Qwen3-4B (40960 positions) with max_model_len 32768.
    assert _lines(_context({})) == [
        "ok       model config model: supports 40960 tokens, 32 attention heads (config.json from the "
        "Hugging Face Hub (Qwen/Qwen3-4B))"
    ]
    too_long = {"model": {"hf_model_id": "Qwen/Qwen3-4B", "vllm": {"max_model_len": 65536}}}
    assert _lines(_context(too_long)) == [
        "PROBLEM  model config model: model.vllm.max_model_len: 65536 is more than the model supports "
        "(max_position_embeddings=40960 in its config.json, as vLLM derives it); set max_model_len to "
        "40960 or less"
    ]


def test_an_unreachable_hub_skips_the_check() -> None:
    config = {"model": {"hf_model_id": "someone/private-model"}}
    assert _lines(_context(config)) == [
        "skipped  model config model: skipped: could not read config.json from the Hugging Face Hub "
        "(someone/private-model): ConnectionError"
    ]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # linear and dynamic RoPE multiply max_position_embeddings by the factor
        ({"max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 4.0}}, 16384),
        ({"max_position_embeddings": 4096, "rope_parameters": {"rope_type": "dynamic", "factor": 2}}, 8192),
        # Gemma 3's length is already scaled too
        ({"model_type": "gemma3", "max_position_embeddings": 131072, "rope_scaling": {"factor": 8}}, 131072),
        # the smallest length key wins; model_max_length wins over all
        ({"max_position_embeddings": 8192, "seq_length": 4096}, 4096),
        ({"max_position_embeddings": 8192, "model_max_length": 131072}, 131072),
        # a multimodal model's text_config holds the language model's length
        ({"model_type": "llava", "text_config": {"max_position_embeddings": 32768}}, 32768),
        # RoPE per layer type (transformers 5): one factor for all
        (
            {
                "max_position_embeddings": 8192,
                "rope_parameters": {"full": {"rope_type": "linear", "factor": 2.0}, "sliding": None},
            },
            16384,
        ),
    ],
)
def test_the_length_is_derived_as_vllm_derives_it(config: dict[str, Any], expected: float) -> None:
    assert derived_max_len(config, length_rules("0.30.0"))[0] == expected


def test_yarn_is_scaled_up_to_vllm_0_29_and_taken_as_scaled_from_0_30() -> None:
    # _get_and_verify_max_len added yarn to the types it does not scale in 0.30.0 (read from the catalogs)
    yarn = {"max_position_embeddings": 32768, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}
    assert derived_max_len(yarn, length_rules("0.29.0"))[0] == 131072
    assert derived_max_len(yarn, length_rules("0.30.0"))[0] == 32768


def test_no_length_key_leaves_max_model_len_to_vllm() -> None:
    rules = length_rules(None)  # a custom image's: the newest catalogued release's
    assert derived_max_len({"hidden_size": 8}, rules)[0] == float("inf")
    model = parse_config({}).model_specs()[0][1]
    assert model_config.model_problems("model", model, {"hidden_size": 8}, rules) == []


@pytest.mark.parametrize(("written", "problem"), [("auto", False), ("128k", False), ("129K", True)])
def test_a_human_readable_or_auto_max_model_len_is_read_as_vllm_reads_it(
    s3_model: boto3.Session, written: str, problem: bool
) -> None:
    # 128k = 128000 fits 131072 positions; 129K = 132096 does not; auto lets vLLM fit it
    lines = _lines(_context(_s3_config(max_model_len=written), s3_model))
    assert lines[0].startswith("PROBLEM" if problem else "ok")


def test_the_hub_is_asked_once_for_the_repositorys_config_json() -> None:
    asked: list[str] = []

    def hub(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if "private" in str(request.url):
            return httpx.Response(401, request=request)
        return httpx.Response(200, json={"max_position_embeddings": 4096}, request=request)

    assert model_config.hub_config("Qwen/Qwen3-4B", httpx.Client(transport=httpx.MockTransport(hub))) == {
        "max_position_embeddings": 4096
    }
    assert asked == ["https://huggingface.co/Qwen/Qwen3-4B/resolve/main/config.json"]
    with pytest.raises(httpx.HTTPStatusError):
        model_config.hub_config("someone/private", httpx.Client(transport=httpx.MockTransport(hub)))


def test_a_gated_repository_is_skipped_with_the_status(monkeypatch: pytest.MonkeyPatch) -> None:
    def gated(repo_id: str) -> Mapping[str, Any]:
        request = httpx.Request("GET", f"https://huggingface.co/{repo_id}/resolve/main/config.json")
        raise httpx.HTTPStatusError("401", request=request, response=httpx.Response(401, request=request))

    monkeypatch.setattr(model_config, "read_hub_config", gated)
    assert _lines(_context({"model": {"hf_model_id": "meta-llama/Llama-3.1-8B"}})) == [
        "skipped  model config model: skipped: could not read config.json from the Hugging Face Hub "
        "(meta-llama/Llama-3.1-8B): HTTP 401 (gated or private: stage its weights to S3 with stage-weights)"
    ]
