"""Alarms that reach someone: the created topic and key let this stack's alarms (only) publish, and a config
whose alarms notify nobody says so at synth."""

import fnmatch
from collections.abc import Callable
from typing import Any

import pytest

from sagemaker_openai.config import parse_config
from sagemaker_openai.constructs.alarm_sources import alarm_name_prefixes
from sagemaker_openai.naming import inference_component_name
from stacks import NOBODY_NOTIFIED, synth_warnings
from tests.conftest import CONFIG_DIR, Synthesized, load_yaml, resolve

Synth = Callable[[dict[str, Any]], Synthesized]
PRODUCTION = load_yaml(CONFIG_DIR / "qwen3-4b-production.yaml")
ACCOUNT = "123456789012"
REFS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT}
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}


@pytest.fixture(scope="module")
def prod(synth: Synth) -> Synthesized:
    return synth(PRODUCTION)


def _only(s: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = s.resources(resource_type).items()
    return found


def _source_conditions(condition: dict[str, Any]) -> tuple[str, list[str]]:
    arns = condition["ArnLike"]["aws:SourceArn"]
    patterns = [resolve(a, REFS) for a in (arns if isinstance(arns, list) else [arns])]
    assert set(condition) == {"StringEquals", "ArnLike"}
    return resolve(condition["StringEquals"]["aws:SourceAccount"], REFS), patterns


def _without_condition(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k != "Condition"}


def _alarm_arns(s: Synthesized) -> list[str]:
    return [
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm['Properties']['AlarmName']}"
        for alarm in s.resources("AWS::CloudWatch::Alarm").values()
    ]


def test_the_topic_policy_lets_this_stacks_alarms_publish_and_nothing_else(prod: Synthesized) -> None:
    topic_id, _ = _only(prod, "AWS::SNS::Topic")
    _, policy = _only(prod, "AWS::SNS::TopicPolicy")
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    deny, allow = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    condition = allow["Condition"]
    assert _without_condition(allow) == {
        "Action": "sns:Publish",
        "Effect": "Allow",
        "Principal": CLOUDWATCH,
        "Resource": {"Ref": topic_id},
        "Sid": "CloudWatchAlarmsOfThisStackPublish",
    }
    account, patterns = _source_conditions(condition)
    assert account == ACCOUNT
    assert patterns == [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:qwen3-4b-prod-*"]
    # Every alarm the stack creates notifies the topic and matches the ArnLike pattern, as IAM evaluates it.
    arns = _alarm_arns(prod)
    assert sorted(a.rsplit(":", 1)[1] for a in arns) == [
        "qwen3-4b-prod-5xx-error-rate",
        "qwen3-4b-prod-disk-utilization",
        "qwen3-4b-prod-latency-p99",
    ]
    for arn in arns:
        assert any(fnmatch.fnmatchcase(arn, p) for p in patterns), arn
    assert not fnmatch.fnmatchcase(
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:other-5xx-errors", patterns[0]
    )


def test_the_key_lets_cloudwatch_decrypt_for_the_same_alarms_only(prod: Synthesized) -> None:
    _, key = _only(prod, "AWS::KMS::Key")
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "CloudWatchAlarmsPublishToTheEncryptedTopic"
    ]
    condition = statement["Condition"]
    assert _without_condition(statement) == {
        "Sid": "CloudWatchAlarmsPublishToTheEncryptedTopic",
        "Effect": "Allow",
        "Principal": CLOUDWATCH,
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    _, policy = _only(prod, "AWS::SNS::TopicPolicy")
    topic_condition = policy["Properties"]["PolicyDocument"]["Statement"][1]["Condition"]
    assert _source_conditions(condition) == _source_conditions(topic_condition)


def test_a_component_name_cut_with_a_hash_gets_its_own_prefix() -> None:
    stack = "a" * 60
    cut = inference_component_name(stack, "model-one")
    assert not cut.startswith(f"{stack}-")
    assert alarm_name_prefixes(stack, [cut, f"{stack}-b"]) == [f"{stack}-", f"{cut}-"]
    assert alarm_name_prefixes("qwen", ["qwen-a", "qwen-b"]) == ["qwen-"]


def test_alarms_without_a_topic_warn_that_nobody_is_notified() -> None:
    default = parse_config(load_yaml(CONFIG_DIR / "qwen3-4b.yaml"))
    assert synth_warnings(default)[-1] == NOBODY_NOTIFIED
    assert NOBODY_NOTIFIED.startswith("monitoring.alarms: the alarms notify nobody")
    quiet = [
        {"alarms": False},
        {"create_sns_topic": True},
        {"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"},
    ]
    for monitoring in quiet:
        assert NOBODY_NOTIFIED not in synth_warnings(parse_config({"monitoring": monitoring})), monitoring
    production = parse_config(PRODUCTION)
    assert production.monitoring.create_sns_topic
    assert NOBODY_NOTIFIED not in synth_warnings(production)
