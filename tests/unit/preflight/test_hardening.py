"""The pre-flight checks of issue 16: advisory checks that fail are notes, the subnets' routes to the
weights, a named alarm topic that CloudWatch may publish to, and an expiry that is still ahead."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.preflight import Status, expiry, network, topic
from sagemaker_openai.preflight.report import Finding
from sagemaker_openai.preflight.runner import run_check
from tests.conftest import CONFIG_DIR

from .helpers import ACCOUNT, REGION, denied, stubs

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUP = "sg-0123456789abcdef0"
S3_VPC = {
    "vpc": {"subnet_ids": SUBNETS, "security_group_ids": [GROUP]},
    "model": {"s3_uri": "s3://weights-bucket/models/qwen/"},
}
HUB_VPC = {"vpc": {"subnet_ids": SUBNETS, "security_group_ids": [GROUP]}}
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops-alerts"
NAMED_TOPIC = {"monitoring": {"sns_topic_arn": TOPIC}}
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _lines(findings: list[Finding]) -> list[str]:
    return [f.line().strip() for f in findings]


# A failing advisory check is a note, not a problem


@pytest.mark.parametrize(
    ("name", "service", "operation", "config"),
    [
        ("cost", "pricing", "get_products", {}),
        ("quota", "service-quotas", "list_service_quotas", {}),
    ],
)
def test_an_aws_error_in_the_cost_or_quota_check_is_a_note(
    name: str, service: str, operation: str, config: dict[str, Any]
) -> None:
    from sagemaker_openai.preflight.runner import CHECKS

    check = dict(CHECKS)[name]
    with stubs() as aws:
        aws[service].add_client_error(
            operation, service_error_code="ThrottlingException", service_message="slow"
        )
        findings = run_check(name, check, aws.context(config))
    assert _lines(findings) == [f"info     {name}: could not check: ThrottlingException: slow"]
    with stubs() as aws:
        denied(aws[service], operation)
        (finding,) = run_check(name, check, aws.context(config))
    assert finding.status is Status.SKIPPED


def test_an_unreadable_price_list_answer_is_a_note() -> None:
    from sagemaker_openai.preflight.runner import CHECKS

    with stubs() as aws:
        aws["pricing"].add_response("get_products", {"PriceList": ["{not json"], "FormatVersion": "aws_v1"})
        (finding,) = run_check("cost", dict(CHECKS)["cost"], aws.context({}))
    assert finding.status is Status.INFO
    assert finding.message.startswith("could not check: unexpected answer (JSONDecodeError")


def test_an_aws_error_in_another_check_still_stops_the_deploy() -> None:
    from sagemaker_openai.preflight.runner import CHECKS

    with stubs() as aws:
        aws["ec2"].add_client_error("describe_subnets", service_error_code="InternalError")
        (finding,) = run_check("vpc", dict(CHECKS)["vpc"], aws.context(S3_VPC))
    assert finding.status is Status.PROBLEM


# Existing subnets reach the weights


def _subnets(aws: Any) -> None:
    aws["ec2"].add_response(
        "describe_subnets",
        {
            "Subnets": [
                {"SubnetId": s, "AvailabilityZone": f"us-east-1{z}", "VpcId": "vpc-1"}
                for s, z in zip(SUBNETS, "ab", strict=True)
            ]
        },
        {"SubnetIds": SUBNETS},
    )


def _tables(aws: Any, *, main_routes: list[dict[str, Any]], own_routes: list[dict[str, Any]]) -> None:
    local = {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}
    aws["ec2"].add_response(
        "describe_route_tables",
        {
            "RouteTables": [
                {
                    "RouteTableId": "rtb-main",
                    "VpcId": "vpc-1",
                    "Associations": [{"Main": True}],
                    "Routes": [local, *main_routes],
                },
                {
                    "RouteTableId": "rtb-own",
                    "VpcId": "vpc-1",
                    "Associations": [{"Main": False, "SubnetId": SUBNETS[0]}],
                    "Routes": [local, *own_routes],
                },
            ]
        },
        {"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]},
    )


def _s3_endpoint(aws: Any, tables: list[str]) -> None:
    aws["ec2"].add_response(
        "describe_vpc_endpoints",
        {
            "VpcEndpoints": [
                {
                    "VpcEndpointId": "vpce-1",
                    "ServiceName": f"com.amazonaws.{REGION}.s3",
                    "State": "available",
                    "RouteTableIds": tables,
                },
                {
                    "VpcEndpointId": "vpce-2",
                    "ServiceName": f"com.amazonaws.{REGION}.dynamodb",
                    "RouteTableIds": ["rtb-main"],
                },
            ]
        },
    )


NAT = {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}
IGW = {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}


def test_s3_weights_need_an_s3_gateway_endpoint_on_each_subnets_route_table() -> None:
    with stubs() as aws:
        _subnets(aws)
        _tables(aws, main_routes=[], own_routes=[])
        _s3_endpoint(aws, ["rtb-own"])
        findings = network.check_routes(aws.context(S3_VPC))
    assert [(f.status, f.message) for f in findings] == [
        (
            Status.PROBLEM,
            f"{SUBNETS[1]} (rtb-main) has no S3 gateway endpoint and no NAT route, so SageMaker cannot read "
            f"the S3 weights through it: add a gateway endpoint for com.amazonaws.{REGION}.s3 to that route "
            "table",
        )
    ]
    with stubs() as aws:
        _subnets(aws)
        _tables(aws, main_routes=[NAT], own_routes=[])
        _s3_endpoint(aws, ["rtb-own"])
        findings = network.check_routes(aws.context(S3_VPC))
    assert [f.status for f in findings] == [Status.INFO]
    assert "reaches S3 through its NAT gateway" in findings[0].message
    with stubs() as aws:
        _subnets(aws)
        _tables(aws, main_routes=[], own_routes=[])
        _s3_endpoint(aws, ["rtb-own", "rtb-main"])
        findings = network.check_routes(aws.context(S3_VPC))
    assert _lines(findings) == ["ok       vpc routes: 2 subnets reach S3"]


def test_hub_weights_need_a_nat_route_not_only_an_internet_gateway() -> None:
    with stubs() as aws:
        _subnets(aws)
        _tables(aws, main_routes=[IGW], own_routes=[NAT])
        findings = network.check_routes(aws.context(HUB_VPC))
    assert [(f.status, f.message.split(",")[0]) for f in findings] == [
        (Status.PROBLEM, f"{SUBNETS[1]} (rtb-main) has no NAT route (0.0.0.0/0 to a NAT gateway)")
    ]
    with stubs() as aws:
        _subnets(aws)
        _tables(aws, main_routes=[NAT], own_routes=[NAT])
        findings = network.check_routes(aws.context(HUB_VPC))
    assert _lines(findings) == ["ok       vpc routes: 2 subnets reach the internet"]


def test_a_created_vpc_or_none_has_no_route_check() -> None:
    with stubs() as aws:
        assert (
            network.check_routes(
                aws.context(
                    {"model": {"s3_uri": "s3://weights-bucket/models/qwen/"}, "vpc": {"create": True}}
                )
            )
            == []
        )
        assert network.check_routes(aws.context({})) == []


# A named alarm topic


def _topic(aws: Any, policy: dict[str, Any] | None, key: str | None = None) -> None:
    attributes = {"TopicArn": TOPIC}
    if policy is not None:
        attributes["Policy"] = json.dumps(policy)
    if key is not None:
        attributes["KmsMasterKeyId"] = key
    aws["sns"].add_response("get_topic_attributes", {"Attributes": attributes}, {"TopicArn": TOPIC})


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SSL_ONLY = {
    "Sid": "AllowPublishThroughSSLOnly",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sns:Publish",
    "Resource": TOPIC,
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
DEFAULT_POLICY = {
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["SNS:GetTopicAttributes", "SNS:Subscribe", "SNS:Publish"],
    "Resource": TOPIC,
    "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}},
}


def _cloudwatch(pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": TOPIC,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{pattern}"},
            **extra,
        },
    }


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        (_doc(SSL_ONLY, DEFAULT_POLICY), Status.OK),
        (_doc(SSL_ONLY, _cloudwatch("qwen3-4b-*")), Status.OK),
        # A policy naming the stack's own 5xx error-rate alarm exactly (as the construct names it).
        (_doc(SSL_ONLY, _cloudwatch("qwen3-4b-5xx-error-rate")), Status.OK),
        (_doc(SSL_ONLY), Status.PROBLEM),  # what the kit's created topic held before
        (_doc(SSL_ONLY, _cloudwatch("other-*")), Status.PROBLEM),
        (_doc(_cloudwatch("qwen3-4b-*"), {**SSL_ONLY, "Condition": {}}), Status.PROBLEM),
        (_doc(_cloudwatch("*", StringLike={"aws:PrincipalOrgID": "o-1"})), Status.INFO),
        (None, Status.PROBLEM),
    ],
)
def test_a_named_topic_must_let_this_stacks_alarms_publish(
    policy: dict[str, Any] | None, status: Status
) -> None:
    with stubs() as aws:
        _topic(aws, policy)
        (finding,) = topic.check_alarm_topic(aws.context(NAMED_TOPIC))
    assert finding.status is status, finding.message
    if status is Status.PROBLEM:
        assert finding.message.startswith(
            f"the policy of {TOPIC} does not let CloudWatch alarms publish: add"
        )


def test_a_missing_topic_or_a_denied_read() -> None:
    with stubs() as aws:
        aws["sns"].add_client_error("get_topic_attributes", service_error_code="NotFound")
        assert _lines(topic.check_alarm_topic(aws.context(NAMED_TOPIC))) == [
            f"PROBLEM  alarm topic: {TOPIC} does not exist; create it or fix monitoring.sns_topic_arn"
        ]
    with stubs() as aws:
        denied(aws["sns"], "get_topic_attributes", "AuthorizationError")
        from sagemaker_openai.preflight.runner import CHECKS

        assert _lines(run_check("alarm topic", dict(CHECKS)["alarm topic"], aws.context(NAMED_TOPIC))) == [
            "skipped  alarm topic: skipped: needs sns:GetTopicAttributes"
        ]
    with stubs() as aws:
        assert topic.check_alarm_topic(aws.context({"monitoring": {"create_sns_topic": True}})) == []


def test_an_encrypted_topic_needs_a_key_that_lets_cloudwatch_use_it() -> None:
    with stubs() as aws:
        _topic(aws, _doc(DEFAULT_POLICY), key="alias/aws/sns")
        findings = topic.check_alarm_topic(aws.context(NAMED_TOPIC))
    assert [f.status for f in findings] == [Status.OK, Status.PROBLEM]
    assert "AWS managed key aws/sns" in findings[1].message

    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    metadata = {"KeyMetadata": {"KeyId": "1234", "Arn": KEY, "KeyManager": "CUSTOMER"}}
    with stubs() as aws:
        _topic(aws, _doc(DEFAULT_POLICY), key=KEY)
        aws["kms"].add_response("describe_key", metadata, {"KeyId": KEY})
        aws["kms"].add_response(
            "get_key_policy", {"Policy": json.dumps(_doc(root))}, {"KeyId": KEY, "PolicyName": "default"}
        )
        findings = topic.check_alarm_topic(aws.context(NAMED_TOPIC))
    assert findings[1].message == (
        f"the topic's key {KEY} does not allow cloudwatch.amazonaws.com kms:Decrypt, kms:GenerateDataKey, so "
        "the alarms cannot publish to the encrypted topic: add that statement to the key policy"
    )
    with stubs() as aws:
        _topic(aws, _doc(DEFAULT_POLICY), key=KEY)
        aws["kms"].add_response("describe_key", metadata, {"KeyId": KEY})
        denied(aws["kms"], "get_key_policy")
        findings = topic.check_alarm_topic(aws.context(NAMED_TOPIC))
    assert [f.status for f in findings] == [Status.OK, Status.INFO]
    assert "could not be read (needs kms:GetKeyPolicy)" in findings[1].message


# The expiry of the template about to be deployed


def _expiring(stamp: str) -> dict[str, Any]:
    return {"Resources": {}, "Outputs": {"ExpiresAt": {"Value": stamp, "Description": "x"}}}


@pytest.mark.parametrize(
    ("stamp", "status", "words"),
    [
        ("2026-12-01T11:59:00Z", Status.PROBLEM, "which passed"),
        ("2026-12-01T12:10:30Z", Status.PROBLEM, "which is 10 minutes away"),
        ("2026-12-01T12:15:00Z", Status.OK, "in 0 h 15 min"),
        ("2026-12-01T14:00:00Z", Status.OK, "in 2 h 00 min"),
        ("tomorrow", Status.PROBLEM, "is not a UTC time"),
    ],
)
def test_an_expiry_past_or_under_15_minutes_away_stops_the_deploy(
    stamp: str, status: Status, words: str
) -> None:
    with stubs() as aws:
        ctx = aws.context({})
    ctx.template, ctx.clock = _expiring(stamp), lambda: NOW
    (finding,) = expiry.check_expiry(ctx)
    assert finding.status is status
    assert words in finding.message


def test_a_template_without_an_expiry_or_no_template_is_not_checked() -> None:
    with stubs() as aws:
        ctx = aws.context({})
    assert expiry.check_expiry(ctx) == []
    ctx.template = {"Resources": {}, "Outputs": {}}
    assert expiry.check_expiry(ctx) == []


def test_the_make_entry_point_reads_the_assembly_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scripts.preflight import main

    code = main(["--config", str(CONFIG_DIR / "qwen3-4b.yaml"), "--assembly", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: no readable template of stack qwen3-4b in {tmp_path} (")
    assert err.endswith("; run `make synth`\n")
