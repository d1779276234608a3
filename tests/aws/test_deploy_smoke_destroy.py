"""Real AWS: deploy each example config with an expiry, call every URL, destroy, check nothing is left.

Opt-in.

Run with credentials for an account that is CDK-bootstrapped, and a region:
    SAGEMAKER_OPENAI_AWS_TESTS=1 AWS_REGION=us-east-1 .venv/bin/pytest tests/aws -m aws
SAGEMAKER_OPENAI_AWS_CONFIGS=path[,path...] picks the configs (default: every config in config/ without
account-specific placeholders; a config with placeholders is skipped unless named here with real values).
Each endpoint bills while it exists; the stack is destroyed whatever the outcome, and deletes itself after
three hours if even that fails.
"""

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.aws.process_group import run_in_own_group
from tests.conftest import EXAMPLE_CONFIGS, ROOT

pytestmark = pytest.mark.aws

# Values a user must replace: example buckets, zeroed subnet/security-group/key IDs, REPLACE markers.
PLACEHOLDER = re.compile(
    r"^(?!\s*#).*(s3://(?:my|your|example)-|subnet-0{8}|sg-0{8}|key/0{8}|REPLACE|<[a-z-]+>)", re.MULTILINE
)
EXPIRES_IN_HOURS = 3
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _configs() -> list[Path]:
    named = os.environ.get("SAGEMAKER_OPENAI_AWS_CONFIGS")
    return [Path(p) for p in named.split(",")] if named else EXAMPLE_CONFIGS


def _make(*args: str, timeout: int) -> int:
    """``make`` in its own process group: a time-out ends make, the CDK CLI and node together."""
    try:
        return run_in_own_group(["make", *args], cwd=ROOT, env={**os.environ, "CI": "true"}, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124  # timeout(1)'s code: the caller reports it like any failure


def _call_every_url(outputs: Path) -> None:
    from sagemaker_openai.client import StackOutputs, openai_clients

    stack = StackOutputs.from_file(outputs)
    for key, client in openai_clients(stack, wait_for_capacity=900).items():
        model = stack.target(key).served_model_name
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Say hello in one word."}], max_tokens=64
        )
        assert reply.choices, f"{key}: no choices"
        message = reply.choices[0].message
        # Qwen3's reasoning parser may put a short answer entirely in reasoning_content.
        assert message.content or (message.model_extra or {}).get("reasoning_content"), f"{key}: empty"
        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Count to five."}],
            max_tokens=64,
            stream=True,
        )
        chunks = [chunk for chunk in stream if chunk.choices]
        assert len(chunks) > 1, f"{key}: the stream sent {len(chunks)} chunks"
        tool = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "What is the weather in Paris? Use the tool."}],
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            max_tokens=512,
        )
        calls = tool.choices[0].message.tool_calls or []
        assert [c.function.name for c in calls if c.type == "function"] == ["get_weather"], f"{key}: {calls}"


def _left_of(stack_name: str, region: str) -> list[str]:
    import boto3

    from sagemaker_openai.operations.leftovers import find_leftovers

    return [f"{i.kind} {i.name}" for i in find_leftovers(boto3.Session(), region) if i.stack == stack_name]


@pytest.mark.parametrize("config", _configs(), ids=lambda p: p.name)
def test_deploy_call_destroy_leaves_nothing(config: Path, tmp_path: Path) -> None:
    found = PLACEHOLDER.search(config.read_text())
    if found and "SAGEMAKER_OPENAI_AWS_CONFIGS" not in os.environ:
        pytest.skip(f"{config.name} has an account-specific placeholder ({found.group(1)}); pass a real copy")
    stack_name = f"sm-openai-it-{uuid.uuid4().hex[:8]}"
    outputs = tmp_path / "outputs.json"
    common = [f"CONFIG={config}", f"STACK_NAME={stack_name}"]
    failed = True
    try:
        deployed = _make(
            "deploy", *common, f"OUTPUTS={outputs}", f"EXPIRES_IN_HOURS={EXPIRES_IN_HOURS}", timeout=5400
        )
        assert deployed == 0, f"make deploy failed (exit {deployed})"
        assert "ExpiresAt" in json.loads(outputs.read_text())[stack_name]
        _call_every_url(outputs)
        failed = False
    finally:
        # A teardown failure must not hide the deploy's or the calls' failure: report it only on success.
        destroyed = _make("destroy", *common, timeout=3600)
        if not failed:
            assert destroyed == 0, f"make destroy failed: delete stack {stack_name} by hand"
            region = json.loads(outputs.read_text())[stack_name]["Region"]
            assert _left_of(stack_name, region) == []
        elif destroyed != 0:
            print(f"also: make destroy failed; stack {stack_name} deletes itself in {EXPIRES_IN_HOURS} h")
