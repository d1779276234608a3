"""Real OpenAI clients through `sagemaker-openai proxy` to local-runtime serving two inference components.

Both run as the real commands in subprocesses, once for the module: local-runtime verifies real bearer
tokens signed with fake keys and, like vLLM, refuses any `model` but its served name; the proxy reads an
outputs file naming the real SageMaker runtime host and is aimed at local-runtime by
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME. The clients: the plain openai Python SDK (the acceptance test), and
the examples for the OpenAI Node SDK, the Vercel AI SDK (both on the kit's pinned Node 22), LiteLLM's SDK
and curl, each doing a chat, a stream and a tool call. The last test stops the proxy with SIGTERM.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from sagemaker_openai.client.token_format import TOKEN_PREFIX

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NODE = ROOT / "node_modules" / ".bin" / "node"
REGION = "us-east-1"
SERVED = "served-model"
RUNTIME_BASE = f"https://runtime.sagemaker.{REGION}.amazonaws.com/endpoints/demo-ep/inference-components"
START_TIMEOUT = 120.0
ENV_TO_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class Proxied:
    process: subprocess.Popen[str]
    base_url: str


def _environment(home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ENV_TO_DROP}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
    )
    return env


def _start(arguments: list[str], env: Mapping[str, str], prefix: str) -> tuple[subprocess.Popen[str], str]:
    """Start a `sagemaker-openai` command; return it and the URL ending its first line (bounded wait)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_openai.cli", *arguments],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    if not line.startswith(prefix):
        process.kill()
        _, stderr = process.communicate(timeout=10)
        raise AssertionError(f"{arguments[0]} did not start: {line!r} {stderr}")
    return process, line.split()[-1]


def _outputs_file(path: Path) -> Path:
    models = {
        key: {
            "base_url": f"{RUNTIME_BASE}/demo-{key}/openai/v1",
            "inference_component_name": f"demo-{key}",
            "served_model_name": SERVED,
        }
        for key in ("qwen", "llama")
    }
    config = {
        "schema_version": 1,
        "stack_name": "Demo",
        "mode": "inference_component",
        "region": REGION,
        "endpoint_name": "demo-ep",
        "endpoint_arn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/demo-ep",
        "invoker_role_arn": "arn:aws:iam::123456789012:role/demo-invoker",
        "invoker_policy_arn": "arn:aws:iam::123456789012:policy/demo-invoke",
        "models": models,
    }
    path.write_text(json.dumps({"Demo": {"ClientConfig": json.dumps(config)}}))
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _environment(tmp_path_factory.mktemp("aws"))


@pytest.fixture(scope="module")
def proxied(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    runtime, origin = _start(
        [
            "local-runtime",
            "--port",
            "0",
            "--endpoint",
            "demo-ep",
            "--inference-component",
            "demo-qwen",
            "--inference-component",
            "demo-llama",
            "--served-model-name",
            SERVED,
            "--token-delay",
            "0.02",
        ],
        env,
        "local-runtime listening on ",
    )
    proxy = None
    try:
        outputs = _outputs_file(tmp_path_factory.mktemp("cdk") / "cdk-outputs.json")
        proxy, base_url = _start(
            ["proxy", "--outputs-file", str(outputs), "--port", "0"],
            {**env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": origin},
            "proxy listening on ",
        )
        yield Proxied(proxy, base_url)
    finally:
        for process in (proxy, runtime):
            if process is not None and process.poll() is None:
                process.kill()
            if process is not None:
                process.communicate(timeout=10)


@pytest.fixture(scope="module")
def example_outputs(proxied: Proxied, env: dict[str, str]) -> dict[str, str]:
    """Every client example at once (LiteLLM spends most of its time importing), each against the proxy."""
    runs = {
        "node": [str(NODE), str(EXAMPLES / "proxy_openai_node.mjs"), proxied.base_url],
        "vercel": [str(NODE), str(EXAMPLES / "proxy_vercel_ai.mjs"), proxied.base_url, "llama"],
        "litellm": [sys.executable, str(EXAMPLES / "proxy_litellm.py"), proxied.base_url],
        "curl": ["bash", str(EXAMPLES / "proxy_curl.sh"), proxied.base_url, "llama"],
    }
    processes = {
        name: subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in runs.items()
    }
    outputs = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, f"{name}: {stderr}"
        outputs[name] = stdout
    return outputs


def _expected(component: str) -> str:
    return (
        f"chat: local-runtime {component}: Say hello in one short sentence.\n"
        f"stream: local-runtime {component}: Count from one to five.\n"
        f"tool get_weather: local-runtime {component}: tool get_weather returned 18 C and sunny in Paris\n"
    )


def test_the_openai_python_sdk_reaches_each_model_streams_and_lists_them(proxied: Proxied) -> None:
    with openai.OpenAI(base_url=proxied.base_url, api_key="any key at all", max_retries=0) as client:
        assert [model.id for model in client.models.list()] == ["qwen", "llama"]
        for key in ("qwen", "llama"):
            answer = client.chat.completions.create(model=key, messages=[{"role": "user", "content": "hi"}])
            assert (answer.model, answer.choices[0].message.content) == (
                SERVED,
                f"local-runtime demo-{key}: hi",
            )
        with client.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "stream me"}], stream=True
        ) as stream:
            pieces = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
        assert len(pieces) > 3
        assert "".join(piece or "" for piece in pieces) == "local-runtime demo-llama: stream me"
        with pytest.raises(openai.NotFoundError, match="its models are qwen, llama"):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    ("client", "component"), [("node", "demo-qwen"), ("vercel", "demo-llama"), ("litellm", "demo-qwen")]
)
def test_sdk_examples_chat_stream_and_call_a_tool(
    example_outputs: dict[str, str], client: str, component: str
) -> None:
    assert example_outputs[client] == _expected(component)


def test_curl_example_chats_streams_and_gets_a_tool_call(example_outputs: dict[str, str]) -> None:
    sections = dict(
        section.split("\n", 1) for section in example_outputs["curl"].split("== ") if section.strip()
    )
    assert sections.keys() == {"chat", "stream", "tool call"}
    chat = json.loads(sections["chat"])
    assert (
        chat["choices"][0]["message"]["content"]
        == "local-runtime demo-llama: Say hello in one short sentence."
    )
    events = [line.removeprefix("data: ") for line in sections["stream"].splitlines() if line]
    assert events[-1] == "[DONE]"
    streamed = "".join(json.loads(event)["choices"][0]["delta"].get("content", "") for event in events[:-1])
    assert streamed == "local-runtime demo-llama: Count from one to five."
    (call,) = json.loads(sections["tool call"])["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}


def test_sigterm_lets_an_open_stream_finish_then_exits_0(proxied: Proxied) -> None:
    """Last in the module: it stops the shared proxy."""
    words = " ".join(f"w{index}" for index in range(40))
    body = {"model": "qwen", "stream": True, "messages": [{"role": "user", "content": words}]}
    with (
        httpx.Client(timeout=30) as http,
        http.stream("POST", f"{proxied.base_url}/chat/completions", json=body) as response,
    ):
        lines = response.iter_lines()
        first = next(lines)
        proxied.process.send_signal(signal.SIGTERM)
        rest = list(lines)
    events = [line.removeprefix("data: ") for line in [first, *rest] if line]
    assert events[-1] == "[DONE]"
    streamed = "".join(json.loads(event)["choices"][0]["delta"].get("content", "") for event in events[:-1])
    assert streamed == f"local-runtime demo-qwen: {words}"
    assert proxied.process.wait(timeout=15) == 0
    assert proxied.process.stderr is not None
    stderr = proxied.process.stderr.read()
    assert TOKEN_PREFIX not in stderr
    assert "Traceback" not in stderr
