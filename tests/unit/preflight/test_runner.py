"""The pre-flight as a whole: every problem at once, the caller's identity, and the actions it needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.config import parse_config
from sagemaker_openai.preflight import Fatal, Report, identify, run_checks
from sagemaker_openai.preflight.actions import PREFLIGHT_READ_ACTIONS
from sagemaker_openai.preflight.logs import stack_log_groups
from tests.conftest import CONFIG_DIR, FIXTURES, Synthesized, load_yaml
from tests.unit.client.helpers import StubbedSession

from .helpers import ACCOUNT, REGION, denied, stubs

PACKAGE = Path(__file__).resolve().parents[3] / "sagemaker_openai" / "preflight"


def test_every_problem_is_reported_at_once_and_denied_checks_only_skip() -> None:
    with stubs() as aws:
        aws["ssm"].add_client_error("get_parameter", service_error_code="ParameterNotFound")
        denied(aws["service-quotas"], "list_service_quotas")
        group = "/aws/sagemaker/Endpoints/qwen3-4b"
        aws["logs"].add_response("describe_log_groups", {"logGroups": [{"logGroupName": group}]})
        aws["cloudformation"].add_client_error("list_stack_resources", service_error_code="ValidationError")
        aws["pricing"].add_client_error("get_products", service_error_code="ThrottlingException")
        report = Report("Stack qwen3-4b", run_checks(aws.context({})))
    lines = report.lines()
    assert [line.split(":")[0] for line in lines] == [
        "Stack qwen3-4b",
        "  PROBLEM  CDK bootstrap",
        "  ok       image",
        "  skipped  quota",
        "  ok       model config model",
        "  PROBLEM  log groups",
        "  info     cost",
        "2 problem(s)",
    ]
    assert lines[3] == "  skipped  quota: skipped: needs servicequotas:ListServiceQuotas"
    # The cost only informs: AWS failing to answer it is a note, not a reason to stop the deploy.
    assert lines[6].startswith("  info     cost: could not check: ThrottlingException")
    assert lines[-1] == "2 problem(s): fix them, then run `make preflight` again"


def test_identify_reads_account_and_partition_from_the_caller() -> None:
    with stubs() as aws:
        aws["sts"].add_response(
            "get_caller_identity",
            {"Account": ACCOUNT, "Arn": f"arn:aws-cn:iam::{ACCOUNT}:user/me", "UserId": "AIDAEXAMPLE"},
        )
        ctx = identify(parse_config({}), StubbedSession(sts=aws.clients["sts"]))
    assert (ctx.account, ctx.region, ctx.partition) == (ACCOUNT, REGION, "aws-cn")


def test_rejected_credentials_stop_everything() -> None:
    with stubs() as aws:
        aws["sts"].add_client_error("get_caller_identity", service_error_code="InvalidClientTokenId")
        with pytest.raises(Fatal, match=r"^AWS credentials were rejected: .*InvalidClientTokenId"):
            identify(parse_config({}), StubbedSession(sts=aws.clients["sts"]))


def test_every_action_the_checks_call_is_in_the_read_actions_constant() -> None:
    called = {
        action
        for path in PACKAGE.glob("*.py")
        for action in re.findall(
            r'needs\("([a-z0-9-]+:[A-Za-z]+)"\)|\("[a-z_]+", "([a-z]+:[A-Za-z]+)"\)', path.read_text()
        )
        for action in action
        if action
    }
    listed = {action for action, _ in PREFLIGHT_READ_ACTIONS}
    assert called, "the pattern finds the actions"
    assert called <= listed
    assert listed - called == {"sts:GetCallerIdentity"}


@pytest.mark.parametrize(
    "path",
    [
        CONFIG_DIR / "qwen3-4b.yaml",
        FIXTURES / "ic-s3-limited-invoker.yaml",
        CONFIG_DIR / "qwen3-4b-production.yaml",  # a created VPC's flow-log group
    ],
)
def test_the_log_groups_checked_are_the_ones_the_stack_creates(
    synth: Callable[[dict[str, Any]], Synthesized], path: Path
) -> None:
    data = load_yaml(path)
    created = sorted(
        r["Properties"]["LogGroupName"] for r in synth(data).resources("AWS::Logs::LogGroup").values()
    )
    assert sorted(stack_log_groups(parse_config(data))) == created


def test_report_without_problems_says_so() -> None:
    assert Report("Stack s", []).lines() == ["Stack s", "no problems found"]


def test_the_make_entry_point_fails_on_a_problem_and_destroy_checks_only_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scripts.preflight import main

    identity = {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me", "UserId": "AIDAEXAMPLE"}
    with stubs() as aws:
        aws["sts"].add_response("get_caller_identity", identity)
        code = main(["--config", str(CONFIG_DIR / "qwen3-4b.yaml"), "--credentials-only"], aws.session())
    assert code == 0
    assert capsys.readouterr().out.startswith(f"Stack qwen3-4b: account {ACCOUNT}, region {REGION} (")

    with stubs() as aws:
        aws["sts"].add_response("get_caller_identity", identity)
        aws["ssm"].add_client_error("get_parameter", service_error_code="ParameterNotFound")
        for service, operation in (
            ("service-quotas", "list_service_quotas"),
            ("logs", "describe_log_groups"),
            ("pricing", "get_products"),
        ):
            denied(aws[service], operation)
        code = main(["--config", str(CONFIG_DIR / "qwen3-4b.yaml"), "--stack-name", "ci-42"], aws.session())
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith(f"Stack ci-42: account {ACCOUNT}, region {REGION} (")
    assert out[-1] == "1 problem(s): fix them, then run `make preflight` again"
    assert sum("skipped: needs" in line for line in out) == 3
