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


def yaml_dump(value: Any) -> str:
    import yaml

    return str(yaml.safe_dump(value, width=1000))


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


def _jobs() -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = _workflow("endpoint.yml")["jobs"]
    return jobs


def _run_names_step(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The names job's script, run by bash as the runner would, with the given inputs."""
    (step,) = _jobs()["names"]["steps"]
    output = tmp_path / "github_output"
    output.write_text("")
    inputs = {
        "NAME": "ci",
        "TEST_TIMEOUT": "30",
        "BOUNDARY": "arn:aws:iam::123456789012:policy/sagemaker-openai-ci-access-PermissionsBoundary-X",
        "QUALIFIER": "hnb659fds",
    }
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={
            "PATH": "/usr/bin:/bin",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_RUN_ID": "12345678901",
            "GITHUB_RUN_ATTEMPT": "2",
            **inputs,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _stack_of(tmp_path: Path, **env: str) -> str:
    proc = _run_names_step(tmp_path, **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = (tmp_path / "github_output").read_text().splitlines()
    key, _, stack = line.partition("=")
    assert key == "stack"
    return stack


def test_endpoint_yml_runs_on_demand_and_from_other_repositories() -> None:
    triggers = _triggers(_workflow("endpoint.yml"))
    assert set(triggers) == {"workflow_dispatch", "workflow_call"}
    assert {"config", "hours"} <= set(triggers["workflow_dispatch"]["inputs"])
    assert {
        "config",
        "config-from",
        "hours",
        "test-command",
        "role-arn",
        "aws-region",
        "permissions-boundary-arn",
        "cdk-qualifier",
    } <= set(triggers["workflow_call"]["inputs"])
    for job in ("deploy", "test"):
        kit = _steps("endpoint.yml", job)["Check out the kit"]["with"]
        assert kit["repository"] == "${{ job.workflow_repository }}"
        assert kit["ref"] == "${{ job.workflow_sha }}"
    caller = _steps("endpoint.yml", "test")["The caller's tests"]
    assert caller["env"]["SAGEMAKER_OPENAI_OUTPUTS_FILE"] == "${{ runner.temp }}/run/outputs.json"
    assert caller["env"]["TEST_COMMAND"] == "${{ inputs.test-command }}"


def test_only_the_kits_own_jobs_may_mint_oidc_tokens() -> None:
    jobs = _jobs()
    minting = {name for name, job in jobs.items() if job["permissions"].get("id-token") == "write"}
    assert minting == {"deploy", "handoff", "teardown"}
    assert jobs["test"]["permissions"] == {"contents": "read", "actions": "read"}
    assert jobs["names"]["permissions"] == {}
    # The caller's command appears in the test job only, and no other job checks out and runs the caller.
    for name, job in jobs.items():
        text = yaml_dump(job)
        assert ("inputs.test-command }}" in text.replace("inputs.test-command != ''", "")) is (
            name == "test"
        ), name
    deploy = _steps("endpoint.yml", "deploy")
    assert not any(s.get("working-directory") == "app" for s in deploy.values())


def test_the_test_job_gets_invoker_credentials_encrypted_to_its_own_key() -> None:
    test = _steps("endpoint.yml", "test")
    handoff = _steps("endpoint.yml", "handoff")
    assert "openssl req -x509 -newkey rsa:3072 -nodes" in test["A key pair that never leaves this job"]["run"]
    mint = handoff["Mint the invoker credentials and encrypt them to that certificate"]["run"]
    assert 'aws sts assume-role --role-arn "$INVOKER_ROLE"' in mint
    assert "--duration-seconds 3600" in mint
    assert "openssl cms -encrypt -aes256" in mint
    assert "shred -u" in mint
    upload = handoff["Upload the encrypted credentials (readable only with the test job's private key)"][
        "with"
    ]
    assert upload["path"].endswith("credentials.pem")
    assert upload["retention-days"] == 1
    run = test["The caller's tests"]["run"]
    assert run.index("openssl cms -decrypt") < run.index("::add-mask::") < run.index('"$TEST_COMMAND"')
    assert "GITHUB_ENV" not in yaml_dump(_jobs()["test"]), "credentials never outlive the step"


def test_pip_installs_where_python_imports_from() -> None:
    test = _steps("endpoint.yml", "test")
    assert "-m ensurepip" in test["The kit's Python environment, with pip in it"]["run"]
    run = test["The caller's tests"]["run"]
    assert (
        'export VIRTUAL_ENV="$GITHUB_WORKSPACE/kit/.venv" PATH="$GITHUB_WORKSPACE/kit/.venv/bin:$PATH"' in run
    )


def test_the_teardown_is_its_own_job_that_always_deletes_by_name() -> None:
    teardown = _jobs()["teardown"]
    assert set(teardown["needs"]) == {"names", "deploy", "handoff", "test"}
    assert teardown["if"] == "always() && needs.names.result == 'success'"
    steps = _steps("endpoint.yml", "teardown")
    delete = steps["Delete the stack and wait"]["run"]
    assert 'aws cloudformation delete-stack --stack-name "$STACK"' in delete
    assert 'aws cloudformation wait stack-delete-complete --stack-name "$STACK"' in delete
    text = yaml_dump(teardown)
    assert "make destroy" not in text, "no synth in the teardown"
    assert "cdk " not in text
    names = list(steps)
    assert names.index("Delete the stack and wait") < names.index("Check out the kit")
    chained = steps["Assume the CDK deploy role"]["with"]
    assert chained["role-to-assume"] == "${{ steps.deploy-role.outputs.arn }}"
    assert chained["role-chaining"] is True


def test_the_bench_runs_only_when_asked_as_the_invoker_and_reports_in_the_job_summary() -> None:
    inputs = _triggers(_workflow("endpoint.yml"))["workflow_call"]["inputs"]
    assert inputs["bench-args"] == {
        "description": inputs["bench-args"]["description"],
        "type": "string",
        "default": "",
    }
    names = list(_steps("endpoint.yml", "deploy"))
    assert names.index(
        "Assume the stack's invoker role (may call the endpoint and nothing else)"
    ) < names.index("Bench (when bench-args is given)")
    bench = _steps("endpoint.yml", "deploy")["Bench (when bench-args is given)"]
    assert bench["if"] == "inputs.bench-args != ''"
    # The caller's words reach the command as an environment variable, never spliced into the script.
    assert bench["env"] == {"BENCH_ARGS": "${{ inputs.bench-args }}"}
    assert "${{" not in bench["run"]
    assert '--markdown "$REPORT_DIR/bench.md"' in bench["run"]
    assert 'cat "$REPORT_DIR/bench.md" >> "$GITHUB_STEP_SUMMARY"' in bench["run"]


def test_time_outs_leave_room_and_the_test_step_stays_inside_the_credentials_hour(tmp_path: Path) -> None:
    jobs = _jobs()
    deploy = _steps("endpoint.yml", "deploy")
    bounded = deploy["Deploy with an expiry, every role under the CI access stack's boundary"][
        "timeout-minutes"
    ]
    bench = deploy["Bench (when bench-args is given)"]["timeout-minutes"]
    smoke = deploy["Smoke test every URL"]["timeout-minutes"]
    assert bounded + smoke + bench + 15 <= jobs["deploy"]["timeout-minutes"]
    # The smoke test and the bench both run on the invoker role's one-hour credentials.
    assert smoke + bench <= 60
    test = _steps("endpoint.yml", "test")
    waits = test["Wait for the encrypted credentials and download the outputs"]["timeout-minutes"]
    assert waits + 50 + 10 <= jobs["test"]["timeout-minutes"]
    teardown = _steps("endpoint.yml", "teardown")
    assert (
        teardown["Delete the stack and wait"]["timeout-minutes"] + 15 <= jobs["teardown"]["timeout-minutes"]
    )
    for timeout, ok in (("50", True), ("51", False), ("0", False), ("x", False)):
        proc = _run_names_step(tmp_path, TEST_TIMEOUT=timeout)
        assert (proc.returncode == 0) is ok, timeout
    assert "role chaining's cap" in _run_names_step(tmp_path, TEST_TIMEOUT="90").stdout


def test_every_call_gets_its_own_stack_concurrency_group_and_artifacts(tmp_path: Path) -> None:
    first, second = _stack_of(tmp_path), _stack_of(tmp_path)
    assert first != second, "two calls with the same name in one run"
    assert first.startswith("sm-openai-ci-12345678901-2-")
    assert len(first) <= 63
    stack = "${{ needs.names.outputs.stack }}"
    groups = []
    for name, job in _jobs().items():
        if name == "names":
            continue
        assert job["concurrency"]["group"].startswith(stack), name
        groups.append(job["concurrency"]["group"])
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/upload-artifact"):
                assert step["with"]["name"].startswith(f"{stack}-"), (name, step["name"])
    assert len(set(groups)) == len(groups)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NAME": "x" * 31}, "name '" + "x" * 31 + "' must be 1 to 30 letters"),
        ({"NAME": "bad name"}, "name 'bad name' must be 1 to 30 letters"),
        ({"BOUNDARY": ""}, "set the repository variable AWS_PERMISSIONS_BOUNDARY_ARN"),
        ({"QUALIFIER": "Bad"}, "cdk-qualifier 'Bad' must be 1 to 10 lowercase"),
    ],
)
def test_a_bad_input_fails_before_any_setup(tmp_path: Path, env: dict[str, str], message: str) -> None:
    proc = _run_names_step(tmp_path, **env)
    assert proc.returncode == 1
    assert f"::error::{message}" in proc.stdout
    assert _jobs()["deploy"]["needs"] == "names"


def test_no_workflow_uses_stored_keys_or_prints_a_token() -> None:
    for path in FILES:
        text = path.read_text()
        assert "secrets." not in text, path.name
        assert "aws-access-key-id" not in text, path.name
        assert "sagemaker-openai token" not in text, path.name
    upload = _steps("endpoint.yml", "deploy")["Upload the outputs and the smoke report"]["with"]
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


FAKE_AWS = """#!/bin/bash
# describe-stacks answers the next line of $STATES: a status, GONE (no such stack) or DENIED.
echo "$*" >> "$CALLS"
if [ "$2" = describe-stacks ]; then
  state=$(head -n 1 "$STATES"); [ "$(wc -l < "$STATES")" -gt 1 ] && sed -i 1d "$STATES"
  case "$state" in
    GONE) echo "An error occurred (ValidationError): Stack with id $4 does not exist" >&2; exit 254 ;;
    DENIED) echo "An error occurred (AccessDenied): not authorized" >&2; exit 254 ;;
    *) echo "$state" ;;
  esac
fi
"""


def _run_delete(tmp_path: Path, states: list[str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The teardown's delete step, by bash, against a stand-in `aws` that answers ``states`` in turn."""
    step = _steps("endpoint.yml", "teardown")["Delete the stack and wait"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    (tmp_path / "states").write_text("\n".join(states) + "\n")
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step["run"]],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "STACK": "sm-openai-ci-1-1-abcdef",
            "REPORT_DIR": str(tmp_path / "run"),
            "STATES": str(tmp_path / "states"),
            "CALLS": str(tmp_path / "calls"),
            "POLL_SECONDS": "0",
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    return proc, [" ".join(c.split()[:2]) for c in calls]


def test_the_teardown_waits_out_a_create_then_deletes_by_name(tmp_path: Path) -> None:
    proc, calls = _run_delete(tmp_path, ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"])
    assert proc.returncode == 0, proc.stderr
    assert calls == [
        "cloudformation describe-stacks",
        "cloudformation describe-stacks",
        "cloudformation describe-stacks",
        "cloudformation delete-stack",
        "cloudformation wait",
    ]
    assert (tmp_path / "run" / "destroyed").exists()


def test_the_teardown_has_nothing_to_do_for_a_stack_never_created(tmp_path: Path) -> None:
    proc, calls = _run_delete(tmp_path, ["GONE"])
    assert proc.returncode == 0, proc.stderr
    assert calls == ["cloudformation describe-stacks"]
    assert "does not exist: nothing to delete" in proc.stdout


def test_the_teardown_fails_on_any_other_error(tmp_path: Path) -> None:
    proc, calls = _run_delete(tmp_path, ["DENIED"])
    assert proc.returncode != 0
    assert calls == ["cloudformation describe-stacks"]
    assert "AccessDenied" in proc.stderr
