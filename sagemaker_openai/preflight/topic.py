"""monitoring.sns_topic_arn: the named topic must let this stack's alarms publish, and decrypt if encrypted.

CloudWatch publishes as the service principal ``cloudwatch.amazonaws.com`` with the alarm's ARN as
``aws:SourceArn`` (AWS re:Post knowledge center, "cloudwatch-receive-sns-for-alarm-trigger": a refused
publish reads "Resource: arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME is not authorized to perform:
SNS:Publish"). A topic's default policy allows any principal of the owning account (``aws:SourceOwner``),
which covers the account's alarms. The policy is evaluated here for one alarm of this stack; a condition
the check cannot evaluate is reported as a note, not a problem.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_openai.naming import error_rate_alarm_name
from sagemaker_openai.preflight.keys import Requirement, as_list, as_list_of_dicts, missing_actions
from sagemaker_openai.preflight.report import (
    Context,
    Finding,
    Skipped,
    error_code,
    info,
    needs,
    ok,
    problem,
)

CLOUDWATCH = "cloudwatch.amazonaws.com"
_PUBLISH = "sns:publish"
_EQUALS = {"stringequals", "arnequals"}
_LIKE = {"stringlike", "arnlike"}
_AWS_MANAGED_SNS_KEY = "alias/aws/sns"


def _names_cloudwatch(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return "*" in as_list(principal.get("AWS")) or CLOUDWATCH in as_list(principal.get("Service"))


def _covers(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), pattern.lower()) for pattern in patterns)


def _condition_holds(condition: dict[str, Any], facts: dict[str, str]) -> bool | None:
    """True or False for the conditions the check can evaluate with `facts`, None for any other."""
    for operator, tests in condition.items():
        base = operator.lower().removesuffix("ifexists")
        if not isinstance(tests, dict):
            return None
        for key, expected in tests.items():
            actual = facts.get(key.lower())
            if actual is None:
                return None
            values = as_list(expected)
            if base in _EQUALS:
                held = actual in values
            elif base == "stringequalsignorecase":
                held = actual.lower() in [v.lower() for v in values]
            elif base in _LIKE:
                held = any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif base == "bool":
                held = actual in [v.lower() for v in values]
            else:
                return None
            if not held:
                return False
    return True


def publish_verdict(policy: dict[str, Any], topic_arn: str, facts: dict[str, str]) -> bool | None:
    """Whether the topic policy lets CloudWatch publish for an alarm described by `facts`: True, False, or
    None when a statement that could decide it has a condition the check cannot evaluate."""
    statements = as_list_of_dicts(policy.get("Statement", []))
    relevant = [
        s
        for s in statements
        if _names_cloudwatch(s)
        and _covers(as_list(s.get("Action")), _PUBLISH)
        and _covers(as_list(s.get("Resource")), topic_arn)
    ]
    verdicts = [(s.get("Effect"), _condition_holds(s.get("Condition", {}), facts)) for s in relevant]
    if ("Deny", True) in verdicts:
        return False
    if ("Allow", True) in verdicts and ("Deny", None) not in verdicts:
        return True
    if ("Allow", None) in verdicts or ("Deny", None) in verdicts:
        return None
    return False


def _alarm_facts(ctx: Context) -> dict[str, str]:
    alarm = error_rate_alarm_name(ctx.config.endpoint_name)
    return {
        "aws:sourcearn": f"arn:{ctx.partition}:cloudwatch:{ctx.region}:{ctx.account}:alarm:{alarm}",
        "aws:sourceaccount": ctx.account,
        "aws:sourceowner": ctx.account,
        "aws:securetransport": "true",
    }


def _check_key(ctx: Context, name: str, key_id: str, region: str) -> list[Finding]:
    if key_id.endswith(_AWS_MANAGED_SNS_KEY):
        return [
            problem(
                name,
                "the topic is encrypted with the AWS managed key aws/sns, whose policy cannot let CloudWatch "
                "alarms publish: encrypt it with a customer managed key that allows cloudwatch.amazonaws.com "
                "kms:Decrypt and kms:GenerateDataKey*",
            )
        ]
    needed = Requirement("CloudWatch alarms", ("Service", CLOUDWATCH), ("kms:Decrypt", "kms:GenerateDataKey"))
    kms = ctx.client("kms", region)
    try:
        with needs("kms:DescribeKey"):
            metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        if metadata.get("KeyManager") == "AWS":
            return _check_key(ctx, name, _AWS_MANAGED_SNS_KEY, region)
        with needs("kms:GetKeyPolicy"):
            text = kms.get_key_policy(KeyId=metadata["Arn"], PolicyName="default")["Policy"]
    except Skipped as denied:
        return [
            info(
                name,
                f"the topic is encrypted with {key_id}, whose policy could not be read (needs "
                f"{denied.action}); it must allow {CLOUDWATCH} kms:Decrypt and kms:GenerateDataKey*",
            )
        ]
    missing = missing_actions(json.loads(text), needed, ctx.account)
    if missing:
        return [
            problem(
                name,
                f"the topic's key {metadata['Arn']} does not allow {CLOUDWATCH} {', '.join(missing)}, so the "
                "alarms cannot publish to the encrypted topic: add that statement to the key policy",
            )
        ]
    return []


def check_alarm_topic(ctx: Context) -> list[Finding]:
    monitoring = ctx.config.monitoring
    topic_arn = monitoring.sns_topic_arn
    if topic_arn is None or not monitoring.alarms:
        return []
    name = "alarm topic"
    region = topic_arn.split(":")[3]
    try:
        with needs("sns:GetTopicAttributes"):
            attributes = ctx.client("sns", region).get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    except ClientError as exc:
        if error_code(exc) == "NotFound":
            return [problem(name, f"{topic_arn} does not exist; create it or fix monitoring.sns_topic_arn")]
        raise
    verdict = publish_verdict(json.loads(attributes.get("Policy") or "{}"), topic_arn, _alarm_facts(ctx))
    if verdict is False:
        findings = [
            problem(
                name,
                f"the policy of {topic_arn} does not let CloudWatch alarms publish: add an Allow of "
                f'sns:Publish for {{"Service": "{CLOUDWATCH}"}} with aws:SourceAccount {ctx.account} and '
                f"an ArnLike aws:SourceArn arn:{ctx.partition}:cloudwatch:{ctx.region}:{ctx.account}:alarm:"
                f"{ctx.config.endpoint_name}-* (README 'Monitoring')",
            )
        ]
    elif verdict is None:
        findings = [
            info(
                name,
                f"the policy of {topic_arn} has conditions the pre-flight cannot evaluate; check that it "
                f"lets {CLOUDWATCH} publish for this stack's alarms",
            )
        ]
    else:
        findings = [ok(name, f"{topic_arn} lets this stack's alarms publish")]
    key_id = attributes.get("KmsMasterKeyId")
    if key_id:
        findings += _check_key(ctx, name, str(key_id), region)
    return findings
