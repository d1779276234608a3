"""The operations settings in the template: autoscaling, alarms, dashboard, VPC and KMS."""

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from sagemaker_openai.config import parse_config
from stacks import add_deployment
from tests.conftest import CONFIG_DIR, Synthesized, cdk_json_context, load_yaml, resolve

Synth = Callable[[dict[str, Any]], Synthesized]
PRODUCTION = load_yaml(CONFIG_DIR / "qwen3-4b-production.yaml")
REFS = {"AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws"}
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ops-alerts"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SG = "sg-0123456789abcdef0"
RATE_EXPRESSION = "IF(invocations > 0, 100 * errors / invocations, 0)"


@pytest.fixture(scope="module")
def prod(synth: Synth) -> Synthesized:
    return synth(PRODUCTION)


def template_without_nag(data: dict[str, Any]) -> dict[str, Any]:
    """A template synthesized without the nag packs: enough for property assertions, and quicker."""
    stack = add_deployment(cdk.App(context=cdk_json_context()), parse_config(data))
    return dict(assertions.Template.from_stack(stack).to_json())


def _only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in template["Resources"].items() if v["Type"] == resource_type]
    return found


def _statements(template: dict[str, Any], description: str) -> list[dict[str, Any]]:
    (policy,) = [
        v
        for v in template["Resources"].values()
        if v["Type"] == "AWS::IAM::ManagedPolicy" and v["Properties"]["Description"].startswith(description)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements if "Sid" in s}


def test_variant_autoscaling_tracks_concurrency_and_keeps_the_count_on_redeploy(prod: Synthesized) -> None:
    endpoint_id, endpoint = _only(prod.template, "AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["RetainAllVariantProperties"] is True
    target_id, target = _only(prod.template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"] == {
        "MaxCapacity": 4,
        "MinCapacity": 2,
        "ResourceId": "endpoint/qwen3-4b-prod/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "ServiceNamespace": "sagemaker",
        "Tags": [
            {"Key": "managed-by", "Value": "sagemaker-openai"},
            {"Key": "sagemaker-openai:region", "Value": {"Ref": "AWS::Region"}},
            {"Key": "sagemaker-openai:stack", "Value": "qwen3-4b-prod"},
        ],
    }
    assert "RoleARN" not in target["Properties"], "the service-linked role, no IAM role of ours"
    assert target["DependsOn"] == [endpoint_id]
    _, policy = _only(prod.template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["Properties"] == {
        "PolicyName": "qwen3-4b-prod-concurrency",
        "PolicyType": "TargetTrackingScaling",
        "ScalingTargetId": {"Ref": target_id},
        "TargetTrackingScalingPolicyConfiguration": {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"
            },
            "ScaleInCooldown": 600,
            "ScaleOutCooldown": 60,
            "TargetValue": 12,
        },
    }


def test_invocations_target_and_no_autoscaling() -> None:
    scaled = template_without_nag(
        {
            "autoscaling": {"max_instances": 2, "target_invocations_per_instance": 40},
            "monitoring": {"alarms": False},
        }
    )
    _, policy = _only(scaled, "AWS::ApplicationAutoScaling::ScalingPolicy")
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert config["TargetValue"] == 40
    plain = template_without_nag({"monitoring": {"alarms": False}})
    assert "RetainAllVariantProperties" not in _only(plain, "AWS::SageMaker::Endpoint")[1]["Properties"]
    assert not [v for v in plain["Resources"].values() if v["Type"].startswith("AWS::ApplicationAutoScaling")]
    assert not [v for v in plain["Resources"].values() if v["Type"] == "AWS::CloudWatch::Alarm"]


def test_instance_type_change_under_autoscaling_takes_two_deploys() -> None:
    """AWS fails an UpdateEndpoint that changes the instance type of a variant under autoscaling.

    The README's way: deploy without ``autoscaling`` (CloudFormation deletes the target, which
    deregisters it), then deploy the new instance type with ``autoscaling`` back (the target is
    registered after the endpoint update, because it depends on the endpoint).
    """
    base = {**PRODUCTION, "kms": None, "vpc": None, "monitoring": {"alarms": False}}
    before = template_without_nag(base)
    changed = template_without_nag({**base, "instance_type": "ml.g6.4xlarge"})
    step_one = template_without_nag({**base, "autoscaling": None})
    step_two = changed

    def variant(template: dict[str, Any]) -> dict[str, Any]:
        config = _only(template, "AWS::SageMaker::EndpointConfig")[1]["Properties"]
        first: dict[str, Any] = config["ProductionVariants"][0]
        return first

    assert (variant(before)["InstanceType"], variant(changed)["InstanceType"]) == (
        "ml.g6.2xlarge",
        "ml.g6.4xlarge",
    )
    # In one deploy the target stays registered through the endpoint update, which AWS refuses.
    assert _only(before, "AWS::ApplicationAutoScaling::ScalableTarget") == _only(
        changed, "AWS::ApplicationAutoScaling::ScalableTarget"
    )
    assert not [
        v for v in step_one["Resources"].values() if v["Type"].startswith("AWS::ApplicationAutoScaling")
    ]
    assert variant(step_one)["InstanceType"] == "ml.g6.2xlarge"
    endpoint_id, _ = _only(step_two, "AWS::SageMaker::Endpoint")
    assert _only(step_two, "AWS::ApplicationAutoScaling::ScalableTarget")[1]["DependsOn"] == [endpoint_id]


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        v["Properties"]["AlarmName"]: v["Properties"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::CloudWatch::Alarm" and "AlarmName" in v["Properties"]
    }


def _error_rate_metrics(dimensions: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The 5xx alarm's metric math: errors per 100 requests, and 0 (not missing) with no requests."""
    return [
        {
            "Expression": RATE_EXPRESSION,
            "Id": "expr_1",
            "Label": "5xx responses (% of requests)",
            "ReturnData": True,
        },
        *(
            {
                "Id": metric_id,
                "MetricStat": {
                    "Metric": {"Dimensions": dimensions, "MetricName": name, "Namespace": "AWS/SageMaker"},
                    "Period": 300,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }
            for metric_id, name in (("errors", "Invocation5XXErrors"), ("invocations", "Invocations"))
        ),
    ]


def test_single_model_alarms_have_their_metrics_and_thresholds(prod: Synthesized) -> None:
    alarms = _alarms(prod.template)
    assert sorted(alarms) == [
        "qwen3-4b-prod-5xx-error-rate",
        "qwen3-4b-prod-disk-utilization",
        "qwen3-4b-prod-latency-p99",
    ], "GPU utilization is on the dashboard only"
    variant = [
        {"Name": "EndpointName", "Value": "qwen3-4b-prod"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    errors = alarms["qwen3-4b-prod-5xx-error-rate"]
    assert errors["Metrics"] == _error_rate_metrics(variant)
    assert (errors["Threshold"], errors["EvaluationPeriods"], errors["DatapointsToAlarm"]) == (5, 1, 1)
    assert errors["TreatMissingData"] == "notBreaching"
    latency = alarms["qwen3-4b-prod-latency-p99"]
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == (
        "ModelLatency",
        "p99",
        30_000_000,
    ), "CloudWatch reports ModelLatency in microseconds"
    disk = alarms["qwen3-4b-prod-disk-utilization"]
    assert (disk["Namespace"], disk["MetricName"], disk["Statistic"], disk["Threshold"]) == (
        "/aws/sagemaker/Endpoints",
        "DiskUtilization",
        "Maximum",
        80,
    )
    topic_id, _ = _only(prod.template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    assert not [name for name in alarms if "memory" in name or "gpu" in name], "GPU is on the dashboard only"


def test_component_alarms_use_component_metrics(synth: Synth) -> None:
    two = synth(load_yaml(CONFIG_DIR / "two-models-g6-12xlarge.yaml"))
    alarms = _alarms(two.template)
    assert sorted(alarms) == sorted(
        [
            "two-models-disk-utilization",
            *(
                f"two-models-{key}-{kind}"
                for key in ("qwen3-4b", "qwen3-1-7b")
                for kind in ("5xx-error-rate", "latency-p99", "no-capacity")
            ),
        ]
    )
    component = [{"Name": "InferenceComponentName", "Value": "two-models-qwen3-4b"}]
    no_capacity = alarms["two-models-qwen3-4b-no-capacity"]
    assert (no_capacity["MetricName"], no_capacity["Dimensions"], no_capacity["Threshold"]) == (
        "NoCapacityInvocationFailures",
        component,
        1,
    )
    assert alarms["two-models-qwen3-1-7b-5xx-error-rate"]["Metrics"] == _error_rate_metrics(
        [{"Name": "InferenceComponentName", "Value": "two-models-qwen3-1-7b"}]
    )
    assert "AlarmActions" not in no_capacity, "no topic configured"


def test_dashboard_and_its_url(prod: Synthesized) -> None:
    _, dashboard = _only(prod.template, "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == "qwen3-4b-prod"
    body = resolve(dashboard["Properties"]["DashboardBody"], REFS)
    for needle in (
        '"GPUMemoryUtilization"',
        '"ConcurrentRequestsPerModel"',
        '"Invocation5XXErrors"',
        '"target"',
    ):
        assert needle in body
    # The 5xx rate the alarm watches is drawn on the right axis beside the alarm's threshold (5 %).
    (errors,) = [
        w for w in json.loads(body)["widgets"] if w["properties"].get("title") == "invocations and errors"
    ]
    rate = {"label": "5xx responses (% of requests)", "expression": RATE_EXPRESSION, "yAxis": "right"}
    assert [rate] in errors["properties"]["metrics"]
    assert errors["properties"]["annotations"] == {
        "horizontal": [{"value": 5, "label": "5xx alarm", "yAxis": "right"}]
    }
    url = prod.template["Outputs"]["DashboardUrl"]["Value"]["Fn::Join"][1]
    mapping_id, partition, key = url[1]["Fn::FindInMap"]
    assert partition == {"Ref": "AWS::Partition"}
    domain = prod.template["Mappings"][mapping_id]["aws"][key]
    assert resolve({"Fn::Join": ["", [url[0], domain, *url[2:]]]}, REFS) == (
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=qwen3-4b-prod"
    )
    assert prod.template["Mappings"][mapping_id]["aws-cn"][key] == "console.amazonaws.cn"


def test_created_key_encrypts_logs_and_topic_and_is_deleted_after_seven_days(prod: Synthesized) -> None:
    key_id, key = _only(prod.template, "AWS::KMS::Key")
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert (key["Properties"]["PendingWindowInDays"], key["Properties"]["EnableKeyRotation"]) == (7, True)
    statements = _by_sid(key["Properties"]["KeyPolicy"]["Statement"])
    logs_statement = statements["CloudWatchLogsOfThisStack"]
    assert resolve(logs_statement["Principal"]["Service"], REFS) == "logs.us-east-1.amazonaws.com"
    groups = logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert [resolve(g, REFS | {"AWS::AccountId": "1"}) for g in groups] == [
        "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/Endpoints/qwen3-4b-prod",
        "arn:aws:logs:us-east-1:1:log-group:/aws/vpc/flow-logs/qwen3-4b-prod",
    ]
    # Its conditions (this stack's alarms only) are asserted in test_alarm_topic.py.
    assert statements["CloudWatchAlarmsPublishToTheEncryptedTopic"] | {"Condition": None} == {
        "Condition": None,
        "Sid": "CloudWatchAlarmsPublishToTheEncryptedTopic",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    for group in prod.resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == key_arn
    assert _only(prod.template, "AWS::SNS::Topic")[1]["Properties"]["KmsMasterKeyId"] == key_arn
    decrypt = _by_sid(_statements(prod.template, "SageMaker execution role"))["DecryptWeightsThroughS3"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == key_arn
    assert (
        resolve(decrypt["Condition"]["StringEquals"]["kms:ViaService"], REFS) == "s3.us-east-1.amazonaws.com"
    )


def test_created_vpc_is_isolated_with_an_s3_gateway_and_a_closed_model_group(prod: Synthesized) -> None:
    template = prod.template
    subnets = prod.resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    for absent in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::Lambda::Function"):
        assert not prod.resources(absent), absent
    _, gateway = _only(template, "AWS::EC2::VPCEndpoint")
    assert gateway["Properties"]["VpcEndpointType"] == "Gateway"
    assert resolve(gateway["Properties"]["ServiceName"], REFS) == "com.amazonaws.us-east-1.s3"
    group_id, group = _only(template, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to S3 through the gateway endpoint",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    _, model = _only(template, "AWS::SageMaker::Model")
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert model["Properties"]["VpcConfig"] == {
        "SecurityGroupIds": [{"Fn::GetAtt": [group_id, "GroupId"]}],
        "Subnets": [{"Ref": subnet_id} for subnet_id in subnets],
    }
    _, flow_log = _only(template, "AWS::EC2::FlowLog")
    assert (flow_log["Properties"]["TrafficType"], flow_log["Properties"]["LogGroupName"]) == (
        "ALL",
        "/aws/vpc/flow-logs/qwen3-4b-prod",
    )


def test_existing_network_key_and_topic_are_used_by_id() -> None:
    template = template_without_nag(
        {
            "region": "us-east-1",
            "model": {"s3_uri": "s3://bucket/models/qwen3-4b/", "s3_kms_key_arn": BUCKET_KEY_ARN},
            "vpc": {"subnet_ids": SUBNETS, "security_group_ids": [SG]},
            "kms": {"key_arn": KEY_ARN},
            "monitoring": {"sns_topic_arn": TOPIC_ARN},
        }
    )
    for absent in ("AWS::EC2::VPC", "AWS::KMS::Key", "AWS::SNS::Topic", "AWS::CloudWatch::Dashboard"):
        assert not [v for v in template["Resources"].values() if v["Type"] == absent], absent
    _, model = _only(template, "AWS::SageMaker::Model")
    assert model["Properties"]["VpcConfig"] == {"SecurityGroupIds": [SG], "Subnets": SUBNETS}
    statements = _by_sid(_statements(template, "SageMaker execution role"))
    ec2_arn = "arn:aws:ec2:us-east-1:1:{}"
    refs = REFS | {"AWS::AccountId": "1"}
    assert [resolve(r, refs) for r in statements["CreateModelNetworkInterfaces"]["Resource"]] == [
        ec2_arn.format("network-interface/*"),
        ec2_arn.format(f"security-group/{SG}"),
        *(ec2_arn.format(f"subnet/{subnet}") for subnet in SUBNETS),
    ]
    assert statements["ManageModelNetworkInterfaces"]["Action"] == [
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ]
    assert statements["DescribeNetwork"]["Resource"] == "*"
    assert statements["DecryptWeightsThroughS3"]["Resource"] == [KEY_ARN, BUCKET_KEY_ARN]
    for group in [v for v in template["Resources"].values() if v["Type"] == "AWS::Logs::LogGroup"]:
        assert group["Properties"]["KmsKeyId"] == KEY_ARN
    for alarm in _alarms(template).values():
        assert alarm["AlarmActions"] == [TOPIC_ARN]


def test_inference_components_in_a_vpc_put_the_endpoint_config_there_too() -> None:
    template = template_without_nag(
        {
            "mode": "inference_component",
            "name": "multi",
            "models": [{"key": "chat", "s3_uri": "s3://bucket/models/qwen3-4b/"}],
            "vpc": {"subnet_ids": SUBNETS, "security_group_ids": [SG]},
        }
    )
    expected = {"SecurityGroupIds": [SG], "Subnets": SUBNETS}
    assert _only(template, "AWS::SageMaker::EndpointConfig")[1]["Properties"]["VpcConfig"] == expected
    assert _only(template, "AWS::SageMaker::Model")[1]["Properties"]["VpcConfig"] == expected
