"""An existing KMS key (kms.key_arn): its policy must let the stack's services and roles use it.

The stack cannot change the policy of a key it did not create, so the statements are checked here:
- the account's root principal with ``kms:*`` (or at least kms:Decrypt), so that the IAM policies the
  stack attaches (the execution role's kms:Decrypt) take effect;
- ``logs.<region>.amazonaws.com`` with kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey* and
  kms:Describe*, to encrypt the log groups (CloudWatch Logs user guide, "Encrypt log data using AWS KMS");
- with an SNS topic the stack creates, ``cloudwatch.amazonaws.com`` with kms:Decrypt and
  kms:GenerateDataKey*, so that alarms may publish to it (AWS re:Post knowledge center,
  "cloudwatch-configure-alarm-sns").
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from sagemaker_openai.preflight.report import Context, Finding, needs, ok, problem


@dataclass(frozen=True)
class Requirement:
    who: str
    principal: tuple[str, str]  # ("AWS" | "Service", value)
    actions: tuple[str, ...]


def requirements(ctx: Context) -> list[Requirement]:
    needed = [
        Requirement(
            "the account (so IAM policies can grant the key)",
            ("AWS", f"arn:{ctx.partition}:iam::{ctx.account}:root"),
            ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
        ),
        Requirement(
            "CloudWatch Logs",
            ("Service", f"logs.{ctx.region}.amazonaws.com"),
            ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey", "kms:DescribeKey"),
        ),
    ]
    if ctx.config.monitoring.alarms and ctx.config.monitoring.create_sns_topic:
        needed.append(
            Requirement(
                "CloudWatch alarms (the SNS topic)",
                ("Service", "cloudwatch.amazonaws.com"),
                ("kms:Decrypt", "kms:GenerateDataKey"),
            )
        )
    return needed


def as_list(value: Any) -> list[str]:
    """A policy field that holds one string or a list of them, as a list."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _names_principal(statement: dict[str, Any], kind: str, value: str, account: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    named = as_list(principal.get(kind))
    if "*" in named or value in named:
        return True
    return kind == "AWS" and account in named


def _allows(statement: dict[str, Any], action: str) -> bool:
    patterns = [p.lower() for p in as_list(statement.get("Action"))]
    return any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in patterns)


def missing_actions(policy: dict[str, Any], requirement: Requirement, account: str) -> list[str]:
    statements = [
        s
        for s in as_list_of_dicts(policy.get("Statement"))
        if s.get("Effect") == "Allow" and _names_principal(s, *requirement.principal, account)
    ]
    return [a for a in requirement.actions if not any(_allows(s, a) for s in statements)]


def as_list_of_dicts(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def check_key_policy(ctx: Context) -> list[Finding]:
    kms = ctx.config.kms
    if kms is None or kms.key_arn is None:
        return []
    name = "kms.key_arn"
    with needs("kms:GetKeyPolicy"):
        text = ctx.client("kms").get_key_policy(KeyId=kms.key_arn, PolicyName="default")["Policy"]
    policy = json.loads(text)
    findings = []
    for requirement in requirements(ctx):
        missing = missing_actions(policy, requirement, ctx.account)
        if missing:
            kind, value = requirement.principal
            findings.append(
                problem(
                    name,
                    f"the key policy does not allow {requirement.who} ({kind} {value}) {', '.join(missing)}; "
                    "add the statement the README lists under 'An existing KMS key'",
                )
            )
    return findings or [ok(name, "the key policy has the statements the stack needs")]
