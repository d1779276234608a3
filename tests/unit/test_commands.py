"""The commands a user runs: the real CDK CLI synth, and the pre-flight without AWS credentials."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from stacks import NOBODY_NOTIFIED
from tests.conftest import ROOT, load_yaml

PATH = f"{ROOT / 'node_modules/.bin'}:{ROOT / '.venv/bin'}:/usr/local/bin:/usr/bin:/bin"


@pytest.mark.cli
def test_cdk_cli_synthesizes_the_default_config_and_prints_its_warnings(tmp_path: Path) -> None:
    role = "arn:aws:iam::444455556666:role/ci"
    config = tmp_path / "chained.yaml"
    data = load_yaml(ROOT / "config/qwen3-4b.yaml")
    config.write_text(json.dumps(data | {"invoker": {"trusted_principals": [role], "max_session_hours": 4}}))
    proc = subprocess.run(
        ["npx", "cdk", "synth", "-q", "-c", f"config={config}", "-o", str(tmp_path / "out")],
        cwd=ROOT,
        env={"PATH": PATH, "HOME": os.environ.get("HOME", "/root"), "CDK_DISABLE_CLI_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Node 20" not in proc.stderr, "jsii runs on the pinned Node 22"
    assert "feature flags are not configured" not in proc.stderr + proc.stdout
    assert [line for line in proc.stderr.splitlines() if line.startswith("Warning:")] == [
        f"Warning: {config}: invoker.max_session_hours: is 4 but a role ({role}) that assumes the invoker "
        "role is role chaining, which AWS caps at 1 hour (AssumeRole with a longer DurationSeconds fails); "
        "lower it to 1, or trust an account or user for sessions longer than an hour",
        f"Warning: {config}: {NOBODY_NOTIFIED}",
    ]
    template = json.loads((tmp_path / "out/qwen3-4b.template.json").read_text())
    assert template["Outputs"]["OpenAIBaseUrl"]
    report = json.loads((tmp_path / "out/validation-report.json").read_text())
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"] * 3


def _preflight(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = extra_env | {
        "PATH": PATH,
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "scripts.preflight", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_without_credentials_points_to_make_synth(tmp_path: Path) -> None:
    proc = _preflight(tmp_path, "--config", "config/qwen3-4b.yaml")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "Error: no AWS region: set region in the config or AWS_REGION / AWS_DEFAULT_REGION "
        "(to build offline without AWS, run `make synth`)"
    )
    config = tmp_path / "east.yaml"
    config.write_text("region: us-east-1\n")
    for proc in (
        _preflight(tmp_path, "--config", str(config)),
        _preflight(tmp_path, "--config", "config/qwen3-4b.yaml", AWS_REGION="eu-west-1"),
    ):
        assert proc.returncode == 1
        assert proc.stderr.strip().startswith("Error: no AWS credentials found: ")
        assert proc.stderr.strip().endswith("or run `make synth` to build and check the stack offline")


def test_deploy_with_a_bad_config_stops_before_aws(tmp_path: Path) -> None:
    proc = _preflight(tmp_path, "--config", "config/missing.yaml")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "Error: config/missing.yaml: config file not found (pass -c config=PATH or CONFIG=PATH)"
    )
