"""A stack that deletes itself (`-c expires_in_hours=N`): the schedule, its role, the output and the tags."""

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sagemaker_openai.constructs.expiry import expires_at, parse_expires_in_hours
from sagemaker_openai.errors import ConfigError
from sagemaker_openai.naming.tags import EXPIRES_AT_TAG, KIT_TAG
from tests.conftest import CONFIG_DIR, EXPIRY_NOW, Scans, Synthesized, load_yaml, resolve

Synth = Callable[[dict[str, Any]], Synthesized]
DEFAULT = load_yaml(CONFIG_DIR / "qwen3-4b.yaml")
FROZEN = EXPIRY_NOW  # the clock of the session's `expiring` stack (tests/conftest.py)
EXPIRY_IDS = ("ExpiryRole", "ExpiryPolicy", "ExpirySchedule", "ExpiryDeadLetters", "ExpiryDeleteRefused")
REFS = {
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/qwen3-4b/uuid",
}


def test_the_expiry_is_hours_from_the_clock_in_utc_to_the_second() -> None:
    assert expires_at(6, clock=lambda: FROZEN) == datetime(2026, 12, 1, 13, 30, 15, tzinfo=UTC)
    paris = datetime(2026, 12, 1, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    assert expires_at(1, clock=lambda: paris) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_the_schedule_calls_delete_stack_on_this_stack_once_at_the_expiry(expiring: Synthesized) -> None:
    schedule = expiring.template["Resources"][_expiry_id(expiring, "ExpirySchedule")]
    role_id = _expiry_id(expiring, "ExpiryRole")
    props = schedule["Properties"]
    target = props.pop("Target")
    assert props == {
        "Description": "Deletes this stack at 2026-12-01T13:30:15Z (sagemaker-openai expiry)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ScheduleExpression": "at(2026-12-01T13:30:15)",
        "ScheduleExpressionTimezone": "UTC",
        "State": "ENABLED",
    }
    assert resolve(target["Arn"], REFS) == "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
    assert resolve(target["Input"], REFS) == '{"StackName":"' + REFS["AWS::StackId"] + '"}'
    assert target["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    queue_id = _expiry_id(expiring, "ExpiryDeadLetters", "AWS::SQS::Queue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 20}
    assert set(target) == {"Arn", "Input", "RoleArn", "DeadLetterConfig", "RetryPolicy"}


def test_the_schedule_role_may_delete_this_stack_and_nothing_else(expiring: Synthesized) -> None:
    role_id = _expiry_id(expiring, "ExpiryRole")
    role = expiring.template["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]
    assert set(role) == {"AssumeRolePolicyDocument", "Description", "Tags"}
    attached = [
        p["Properties"]
        for p in expiring.resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    assert len(attached) == 1
    queue_id = _expiry_id(expiring, "ExpiryDeadLetters", "AWS::SQS::Queue")
    assert attached[0]["PolicyDocument"]["Statement"] == [
        {
            "Action": "cloudformation:DeleteStack",
            "Effect": "Allow",
            "Resource": {"Ref": "AWS::StackId"},
            "Sid": "DeleteThisStack",
        },
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
            "Sid": "ReportARefusedDelete",
        },
    ]


def test_nothing_of_the_expiry_waits_on_the_endpoint(expiring: Synthesized) -> None:
    expiry_ids = {k for k in expiring.template["Resources"] if k.startswith(EXPIRY_IDS)}
    assert len(expiry_ids) == 6  # role, policy, schedule, dead-letter queue and its policy, alarm
    for logical_id in expiry_ids:
        resource = expiring.template["Resources"][logical_id]
        assert "DependsOn" not in resource, logical_id
        referenced = {ref for ref in _references(resource) if not ref.startswith("AWS::")}
        assert referenced <= expiry_ids, (logical_id, referenced)


def _references(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["Ref"]} if "Ref" in value else set()
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        return found.union(*(_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    return set()


def _expiry_id(s: Synthesized, prefix: str, resource_type: str | None = None) -> str:
    (found,) = [
        str(k)
        for k, v in s.template["Resources"].items()
        if k.startswith(prefix) and resource_type in (None, v["Type"])
    ]
    return found


def test_expires_at_is_an_output_and_a_stack_tag(expiring: Synthesized) -> None:
    assert expiring.template["Outputs"]["ExpiresAt"] == {
        "Description": "When this stack deletes itself (UTC); a redeploy moves it",
        "Value": "2026-12-01T13:30:15Z",
    }
    assert _stack_tags(expiring) == {EXPIRES_AT_TAG: "2026-12-01T13:30:15Z", KIT_TAG: "qwen3-4b"}


def test_the_expiry_resources_pass_the_nag_packs(expiring: Synthesized) -> None:
    acknowledged = set()
    for plugin in expiring.report["pluginReports"]:
        assert plugin["violations"] == [], plugin["pluginName"]
        acknowledged |= {
            str(v["ruleName"]).split("::")[-1]
            for v in plugin.get("suppressedViolations", [])
            if "/Expiry/" in str(v)
        }
    # Its role's statements name this stack's ID and its queue: no IAM acknowledgment. Only the queue being
    # a DLQ nag cannot see, and the alarm of a config without a topic, are acknowledged.
    assert acknowledged == {
        "AwsSolutions-SQS3",
        "NIST.800.53.R5-CloudWatchAlarmAction",
        "HIPAA.Security-CloudWatchAlarmAction",
    }
    from tests.unit.constructs.test_nag_and_scanners import acknowledgment_problems

    assert acknowledgment_problems(expiring) == []


def test_without_an_expiry_the_template_is_the_same_less_the_expiry(
    expiring: Synthesized, synth: Synth
) -> None:
    plain = synth(DEFAULT)
    reduced = copy.deepcopy(expiring.template)
    for logical_id in [k for k in reduced["Resources"] if k.startswith(EXPIRY_IDS)]:
        del reduced["Resources"][logical_id]
    del reduced["Outputs"]["ExpiresAt"]
    assert reduced == plain.template
    assert not plain.resources("AWS::Scheduler::Schedule")
    assert _stack_tags(plain) == {KIT_TAG: "qwen3-4b"}


@pytest.mark.parametrize(
    ("value", "hours"), [(None, None), ("", None), ("6", 6), (6, 6), ("720", 720), (" 1 ", 1)]
)
def test_the_context_value_is_whole_hours(value: object, hours: int | None) -> None:
    assert parse_expires_in_hours(value) == hours


@pytest.mark.parametrize("value", ["0", "721", "1.5", "-2", "six", True])
def test_a_bad_context_value_is_one_line_naming_it(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_expires_in_hours(value)
    assert str(caught.value) == (
        f"expires_in_hours {value!r} is not a whole number of hours from 1 to 720; pass e.g. "
        "-c expires_in_hours=6 (make deploy EXPIRES_IN_HOURS=6), or leave it out for no expiry"
    )


def _stack_tags(s: Synthesized) -> dict[str, str]:
    import json

    manifest = json.loads((s.outdir / "manifest.json").read_text())
    tags: dict[str, str] = manifest["artifacts"][s.stack_name]["properties"].get("tags", {})
    return tags


def test_cfn_lint_and_checkov_report_nothing_on_the_expiry(expiring: Synthesized, scans: Scans) -> None:
    from scripts.validate_templates import DEFAULT_LINT_REGIONS

    assert scans.regions(expiring) == DEFAULT_LINT_REGIONS
    assert scans.cfn_lint(expiring) == []
    result = scans.checkov(expiring)
    assert result.failed == []
    # The endpoint's own acknowledged checks, and the queue's SSE-SQS.
    assert set(result.skipped) <= {"CKV_AWS_370", "CKV_AWS_158", "CKV_AWS_27"}
    assert "CKV_AWS_27" in result.skipped, "the dead-letter queue's SSE-SQS, which the check cannot read"


def test_the_default_clock_is_now_in_utc_and_a_naive_time_is_refused() -> None:
    import aws_cdk as cdk

    from sagemaker_openai.constructs.expiry import StackExpiry

    before = datetime.now(UTC).replace(microsecond=0)
    assert before + timedelta(hours=2) <= expires_at(2) <= datetime.now(UTC) + timedelta(hours=2)
    stack = cdk.Stack(cdk.App(), "Probe")
    with pytest.raises(
        ValueError, match=r"Invalid StackExpiry props at Probe/Expiry: `at` must be timezone-aware"
    ):
        StackExpiry(stack, "Expiry", at=datetime(2026, 12, 1, 12, 0))


def test_a_refused_delete_lands_in_an_encrypted_queue_and_sets_off_an_alarm(expiring: Synthesized) -> None:
    queue_id = _expiry_id(expiring, "ExpiryDeadLetters", "AWS::SQS::Queue")
    queue = expiring.template["Resources"][queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600, "SQS's longest retention"
    (policy,) = expiring.resources("AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    alarm = expiring.template["Resources"][_expiry_id(expiring, "ExpiryDeleteRefused")]["Properties"]
    assert {k: alarm[k] for k in ("AlarmName", "Namespace", "MetricName", "Statistic", "Threshold")} == {
        "AlarmName": "qwen3-4b-expiry-delete-refused",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Statistic": "Maximum",
        "Threshold": 1,
    }
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "AlarmActions" not in alarm, "the default config has no topic"


def test_with_a_topic_the_expiry_alarm_notifies_it_and_may_publish() -> None:
    import fnmatch

    import aws_cdk as cdk
    from aws_cdk import assertions

    from sagemaker_openai.config import parse_config
    from stacks import add_deployment
    from tests.conftest import cdk_json_context

    production = load_yaml(CONFIG_DIR / "qwen3-4b-production.yaml")
    stack = add_deployment(
        cdk.App(context=cdk_json_context()),
        parse_config(production),
        expires_at=expires_at(6, clock=lambda: FROZEN),
    )
    template = assertions.Template.from_stack(stack).to_json()
    resources = template["Resources"]
    (topic_id,) = [k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"]
    (alarm,) = [v["Properties"] for k, v in resources.items() if k.startswith("ExpiryDeleteRefused")]
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    (topic_policy,) = [v for v in resources.values() if v["Type"] == "AWS::SNS::TopicPolicy"]
    allow = topic_policy["Properties"]["PolicyDocument"]["Statement"][1]
    pattern = resolve(allow["Condition"]["ArnLike"]["aws:SourceArn"], REFS | {"AWS::Region": "us-east-1"})
    arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm['AlarmName']}"
    assert fnmatch.fnmatchcase(arn, pattern), (arn, pattern)
