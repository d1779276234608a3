"""The commands a user runs: the real CDK CLI synth, and deploy's pre-flight without AWS credentials."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

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
        "lower it to 1, or trust an account or user for sessions longer than an hour"
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


class _FakeSession:
    """A boto3 session whose STS and SSM clients answer from activated botocore Stubbers."""

    def __init__(self, region: str, ssm_error: str | None) -> None:
        import boto3
        from botocore.stub import Stubber

        real = boto3.Session(
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name=region
        )
        self.region_name = region
        self._clients = {"sts": real.client("sts"), "ssm": real.client("ssm")}
        sts, ssm = Stubber(self._clients["sts"]), Stubber(self._clients["ssm"])
        identity = {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/me", "UserId": "AIDA"}
        sts.add_response("get_caller_identity", identity)
        if ssm_error:
            ssm.add_client_error("get_parameter", service_error_code=ssm_error)
        else:
            ssm.add_response("get_parameter", {"Parameter": {"Name": "version", "Value": "30"}})
        sts.activate()
        ssm.activate()

    def client(self, name: str) -> Any:
        return self._clients[name]


@pytest.fixture
def east_config(tmp_path: Path) -> str:
    path = tmp_path / "east.yaml"
    path.write_text("region: us-east-1\n")
    return str(path)


def test_unbootstrapped_account_gets_the_bootstrap_command(east_config: str) -> None:
    from scripts.preflight import check

    with pytest.raises(SystemExit) as stopped:
        check(east_config, None, bootstrap=True, session=_FakeSession("us-east-1", "ParameterNotFound"))  # type: ignore[arg-type]
    assert str(stopped.value.code) == (
        "Error: account 123456789012 is not bootstrapped for the CDK in us-east-1: run "
        "`npx cdk bootstrap aws://123456789012/us-east-1`, then `make deploy` again"
    )


def test_bootstrapped_account_passes(east_config: str) -> None:
    from scripts.preflight import check

    summary = check(east_config, "ci-42", bootstrap=True, session=_FakeSession("us-east-1", None))  # type: ignore[arg-type]
    assert summary == "Deploying stack ci-42 to account 123456789012 in us-east-1"
