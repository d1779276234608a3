"""The GitHub workflows: GitHub's schema, zizmor with no finding, pinned actions, what endpoint.yml does."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, load_yaml
from tests.unit.client.helpers import client_config, write_outputs_file

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = ROOT / ".venv" / "bin"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _workflow(name: str) -> dict[str, Any]:
    return load_yaml(WORKFLOWS / name)


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    loaded: dict[Any, Any] = workflow
    triggers: dict[str, Any] = loaded["on"] if "on" in loaded else loaded[True]
    return triggers


def _steps(name: str, job: str) -> dict[str, dict[str, Any]]:
    steps = _workflow(name)["jobs"][job]["steps"]
    return {step.get("name") or step.get("id") or step["uses"].split("@")[0]: step for step in steps}


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in FILES] == ["canary.yml", "endpoint.yml", "test.yml"]


def test_every_workflow_matches_githubs_schema() -> None:
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing_even_as_an_auditor() -> None:
    assert not list(ROOT.glob("zizmor.y*ml")), "no configuration may silence findings"
    assert not list((ROOT / ".github").glob("zizmor.y*ml"))
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-progress", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    lines = [line.strip() for path in FILES for line in path.read_text().splitlines()]
    uses = [line.split("uses:", 1)[1].strip() for line in lines if line.startswith(("uses:", "- uses:"))]
    remote = [u for u in uses if not u.startswith("$/")]
    assert len(remote) >= 8
    for use in remote:
        assert PINNED.match(use), use


def test_test_yml_runs_make_test_with_caches_keyed_on_the_lock_files() -> None:
    workflow = _workflow("test.yml")
    assert set(_triggers(workflow)) == {"push", "pull_request"}
    steps = workflow["jobs"]["test"]["steps"]
    assert steps[-1] == {"run": "make test"}
    keys = " ".join(str(s.get("with", {}).get("key", "")) for s in steps)
    assert "hashFiles('requirements-dev.txt', 'tools/checkov.lock')" in keys
    assert "hashFiles('tools/checkov.lock')" in keys
    node = next(s for s in steps if s.get("uses", "").startswith("actions/setup-node"))
    assert node["with"]["cache-dependency-path"] == "package-lock.json"


def test_endpoint_yml_runs_on_demand_and_from_other_repositories() -> None:
    triggers = _triggers(_workflow("endpoint.yml"))
    assert set(triggers) == {"workflow_dispatch", "workflow_call"}
    assert {"config", "hours"} <= set(triggers["workflow_dispatch"]["inputs"])
    assert {"config", "config-from", "hours", "test-command", "role-arn", "aws-region"} <= set(
        triggers["workflow_call"]["inputs"]
    )
    steps = _steps("endpoint.yml", "endpoint")
    kit = steps["Check out the kit"]["with"]
    assert kit["repository"] == "${{ job.workflow_repository }}"
    assert kit["ref"] == "${{ job.workflow_sha }}"
    caller = steps["The caller's tests"]
    assert caller["env"]["SAGEMAKER_OPENAI_OUTPUTS_FILE"] == "${{ github.workspace }}/run/outputs.json"
    assert caller["env"]["TEST_COMMAND"] == "${{ inputs.test-command }}"


def test_endpoint_yml_isolates_runs_bounds_time_and_always_tears_down() -> None:
    job = _workflow("endpoint.yml")["jobs"]["endpoint"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["timeout-minutes"] <= 180
    run = "${{ github.run_id }}-${{ github.run_attempt }}"
    assert job["env"]["STACK"].endswith(run)
    assert job["concurrency"] == {"group": job["env"]["STACK"], "cancel-in-progress": False}
    steps = _steps("endpoint.yml", "endpoint")
    names = list(steps)
    assert names.index("Deploy with an expiry") < names.index("Smoke test every URL")
    assert names.index("Smoke test every URL") < names.index("The caller's tests") < names.index("Destroy")
    assert 'EXPIRES_IN_HOURS="$HOURS"' in steps["Deploy with an expiry"]["run"]
    assert "sagemaker-openai smoke --outputs-file" in steps["Smoke test every URL"]["run"]
    for name in (
        "AWS credentials for the teardown",
        "Destroy",
        "Job summary (URLs, time to InService, instance hours)",
    ):
        assert steps[name]["if"].startswith("always()"), name
    assert steps["Upload the outputs and the smoke report"]["if"] == "always()"
    assert "make destroy" in steps["Destroy"]["run"]
    # A hung deploy stops within the hour and leaves the teardown time to run.
    assert steps["Deploy with an expiry"]["timeout-minutes"] <= 60
    assert steps["Smoke test every URL"]["timeout-minutes"] <= 30
    assert steps["Destroy"]["timeout-minutes"] <= 60


def test_no_workflow_uses_stored_keys_or_prints_a_token() -> None:
    for path in FILES:
        text = path.read_text()
        assert "secrets." not in text, path.name
        assert "aws-access-key-id" not in text, path.name
        assert "sagemaker-openai token" not in text, path.name
    upload = _steps("endpoint.yml", "endpoint")["Upload the outputs and the smoke report"]["with"]
    assert upload["path"] == "run/"


def test_the_canary_runs_the_default_config_daily_and_checks_leftovers() -> None:
    workflow = _workflow("canary.yml")
    assert _triggers(workflow)["schedule"] == [{"cron": "23 5 * * *"}]
    job = workflow["jobs"]["canary"]
    assert job["uses"] == "$/.github/workflows/endpoint.yml"
    assert job["with"]["config"] == "config/qwen3-4b.yaml"
    assert job["with"]["check-leftovers"] is True


@pytest.mark.parametrize("destroyed", [True, False])
def test_the_job_summary(tmp_path: Path, destroyed: bool) -> None:
    from scripts.ci_summary import summary

    write_outputs_file(
        tmp_path / "outputs.json",
        {"Demo": {"ClientConfig": client_config(), "ExpiresAt": "2026-12-01T12:00:00Z"}},
    )
    (tmp_path / "deploy-started").write_text("1000\n")
    (tmp_path / "in-service").write_text("1900\n")
    if destroyed:
        (tmp_path / "destroyed").write_text(str(1000 + 5400))
    text = summary(str(ROOT / "config/qwen3-4b.yaml"), tmp_path)
    assert (
        "| default | https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/demo-ep/openai/v1 |" in text
    )
    assert "Deletes itself at 2026-12-01T12:00:00Z" in text
    assert "- Time to InService: 15.0 min (the deploy step)" in text
    if destroyed:
        assert "- Instance hours: 1.50 (1 x ml.g6.2xlarge, from the deploy's start" in text
    else:
        assert "- Instance hours: unknown (the teardown did not finish" in text
    assert "sagemaker-api-key" not in text
