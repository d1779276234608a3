"""Every example runs against `sagemaker-openai local-runtime`, given an outputs file like `cdk deploy`'s.

The runtimes run as real subprocesses verifying real bearer tokens signed with fake keys; the examples
run in this process (each as its `main(argv)`), so the heavy SDK imports are paid once.

With SAGEMAKER_OPENAI_AWS_TESTS=1 and SAGEMAKER_OPENAI_OUTPUTS_FILE (plus SAGEMAKER_OPENAI_STACK and
SAGEMAKER_OPENAI_MODEL_KEY where needed), the `aws` tests run every example and `smoke` against a deployed
stack with the caller's real credentials.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.client.helpers import start_local_runtime

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGION = "us-east-1"
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
)


@pytest.fixture(scope="module")
def fake_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake keys for the examples and the runtimes alike; no profile, IMDS or SSO cache is reachable."""
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as patch:
        for name in UNSET:
            patch.delenv(name, raising=False)
        for name, value in {
            **FAKE_KEYS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def outputs_file(fake_aws: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A two-stack outputs file: an inference-component stack (two models) and a single-model stack."""
    components, components_origin = start_local_runtime(
        "--endpoint", "demo-ep", "--inference-component", "demo-qwen", "--inference-component", "demo-llama"
    )
    single, single_origin = start_local_runtime("--endpoint", "demo-single")
    try:
        components_base = f"{components_origin}/endpoints/demo-ep/inference-components"
        ic_models = {
            key: {
                "base_url": f"{components_base}/demo-{key}/openai/v1",
                "inference_component_name": f"demo-{key}",
                "served_model_name": f"served-{key}",
            }
            for key in ("qwen", "llama")
        }
        single_models = {
            "default": {
                "base_url": f"{single_origin}/endpoints/demo-single/openai/v1",
                "inference_component_name": None,
                "served_model_name": "served-single",
            }
        }
        path = tmp_path_factory.mktemp("cdk") / "cdk-outputs.json"
        path.write_text(
            json.dumps(
                {
                    "DemoComponents": {
                        "ClientConfig": _client_config("DemoComponents", "inference_component", ic_models)
                    },
                    "DemoSingle": {
                        "ClientConfig": _client_config("DemoSingle", "single_model", single_models)
                    },
                }
            )
        )
        yield path
    finally:
        for process in (components, single):
            process.terminate()
            process.communicate(timeout=10)


def _client_config(stack: str, mode: str, models: Mapping[str, Mapping[str, object]]) -> str:
    endpoint = "demo-ep" if mode == "inference_component" else "demo-single"
    return json.dumps(
        {
            "schema_version": 1,
            "stack_name": stack,
            "mode": mode,
            "region": REGION,
            "endpoint_name": endpoint,
            "endpoint_arn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{endpoint}",
            "invoker_role_arn": "arn:aws:iam::123456789012:role/demo-invoker",
            "invoker_policy_arn": "arn:aws:iam::123456789012:policy/demo-invoke",
            "models": models,
        }
    )


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("example", "arguments", "expected"),
    [
        (
            "openai_sync",
            ["--stack", "DemoSingle"],
            "local-runtime demo-single: In one sentence, what is Amazon SageMaker AI?\n"
            "[8 prompt + 10 completion tokens]\n",
        ),
        (
            "openai_async",
            ["--stack", "DemoComponents", "--model-key", "llama"],
            "Q: Name one use of a large language model.\n"
            "A: local-runtime demo-llama: Name one use of a large language model.\n\n"
            "Q: What does an inference endpoint do?\n"
            "A: local-runtime demo-llama: What does an inference endpoint do?\n\n"
            "Q: Why scale a model to zero copies?\n"
            "A: local-runtime demo-llama: Why scale a model to zero copies?\n\n",
        ),
        (
            "openai_streaming",
            ["--stack", "DemoComponents", "--model-key", "qwen"],
            "local-runtime demo-qwen: Write a haiku about GPUs waking up.\n[9 completion tokens]\n",
        ),
        (
            "two_components_one_pool",
            ["--stack", "DemoComponents"],
            "qwen: local-runtime demo-qwen: Introduce yourself in one sentence.\n"
            "llama: local-runtime demo-llama: Introduce yourself in one sentence.\n",
        ),
        (
            "langchain_chat",
            ["--stack", "DemoSingle"],
            "local-runtime demo-single: What is LangChain?\n"
            "local-runtime demo-single: Count from one to five.\n",
        ),
        (
            "strands_agent",
            ["--stack", "DemoComponents", "--model-key", "qwen"],
            "local-runtime demo-qwen: tool word_count returned 14\ntools used: word_count\n",
        ),
    ],
)
def test_example_runs_against_local_runtime(
    outputs_file: Path, capsys: pytest.CaptureFixture[str], example: str, arguments: list[str], expected: str
) -> None:
    assert _example(example).main([str(outputs_file), *arguments]) == 0
    assert capsys.readouterr().out == expected


LIVE = pytest.mark.skipif(
    os.environ.get("SAGEMAKER_OPENAI_AWS_TESTS") != "1",
    reason="needs a deployed stack: set SAGEMAKER_OPENAI_AWS_TESTS=1 and SAGEMAKER_OPENAI_OUTPUTS_FILE",
)


def _deployed_stack_arguments(*, pick_model: bool = True) -> list[str]:
    arguments = [os.environ["SAGEMAKER_OPENAI_OUTPUTS_FILE"]]
    if stack := os.environ.get("SAGEMAKER_OPENAI_STACK"):
        arguments += ["--stack", stack]
    if pick_model and (model_key := os.environ.get("SAGEMAKER_OPENAI_MODEL_KEY")):
        arguments += ["--model-key", model_key]
    return arguments


@pytest.mark.aws
@LIVE
@pytest.mark.parametrize(
    "example",
    [
        "openai_sync",
        "openai_async",
        "openai_streaming",
        "two_components_one_pool",
        "langchain_chat",
        "strands_agent",
    ],
)
def test_example_runs_against_a_deployed_stack(capsys: pytest.CaptureFixture[str], example: str) -> None:
    arguments = _deployed_stack_arguments(pick_model=example != "two_components_one_pool")
    assert _example(example).main(arguments) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.aws
@LIVE
def test_smoke_passes_on_a_deployed_stack(capsys: pytest.CaptureFixture[str]) -> None:
    from sagemaker_openai.cli.main import main

    outputs_file, *stack = _deployed_stack_arguments(pick_model=False)
    assert main(["smoke", "--outputs-file", outputs_file, *stack, "--wait-for-capacity", "900"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("smoke: ")
