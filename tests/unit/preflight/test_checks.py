"""Each pre-flight check against stubbed AWS answers: what passes, what is a problem, what is skipped."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY

from sagemaker_openai.preflight import (
    Status,
    account,
    keys,
    logs,
    network,
    observability,
    pricing,
    principals,
    weights,
)
from sagemaker_openai.preflight.report import Finding
from sagemaker_openai.preflight.runner import run_check

from .helpers import ACCOUNT, REGION, denied, stubs

S3_MODEL = {"model": {"s3_uri": "s3://weights-bucket/models/qwen/"}}
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUP = "sg-0123456789abcdef0"


def _lines(findings: list[Finding]) -> list[str]:
    return [f.line().strip() for f in findings]


# CDK bootstrap


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("30", "ok       CDK bootstrap: version 30"),
        (
            "5",
            "PROBLEM  CDK bootstrap: bootstrap version 5 is too old: run "
            f"`npx cdk bootstrap aws://{ACCOUNT}/{REGION}` again",
        ),
        (
            None,
            f"PROBLEM  CDK bootstrap: account {ACCOUNT} is not bootstrapped for the CDK in {REGION}: run "
            f"`npx cdk bootstrap aws://{ACCOUNT}/{REGION}`",
        ),
    ],
)
def test_bootstrap(answer: str | None, expected: str) -> None:
    with stubs() as aws:
        if answer is None:
            aws["ssm"].add_client_error("get_parameter", service_error_code="ParameterNotFound")
        else:
            aws["ssm"].add_response(
                "get_parameter",
                {"Parameter": {"Value": answer}},
                {"Name": "/cdk-bootstrap/hnb659fds/version"},
            )
        assert _lines(account.check_bootstrap(aws.context({}))) == [expected]


def test_a_denied_call_is_skipped_with_the_action_it_needs() -> None:
    with stubs() as aws:
        denied(aws["ssm"], "get_parameter", "AccessDenied")
        findings = run_check("CDK bootstrap", account.check_bootstrap, aws.context({}))
    assert findings == [Finding(Status.SKIPPED, "CDK bootstrap", "skipped: needs ssm:GetParameter")]


# Image region


def test_the_region_must_serve_the_image() -> None:
    with stubs() as aws:
        ctx = aws.context({})
    assert _lines(account.check_image_region(ctx))[0].startswith(
        "ok       image: vLLM DLC 0.30.0 is published"
    )
    with stubs() as aws:
        ctx = aws.context({"image": {"uri": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/vllm:0.30.0-gpu"}})
    assert _lines(account.check_image_region(ctx)) == [
        "PROBLEM  image: image.uri is in eu-west-1 but the stack deploys to us-east-1; SageMaker pulls "
        "images from the endpoint's region: use that region's copy"
    ]


# Quota


def _quota(aws: Any, value: float | None, *, applied: bool = True) -> None:
    quotas = [{"QuotaName": "ml.g6.2xlarge for endpoint usage", "Value": value}] if value is not None else []
    other = [{"QuotaName": "ml.g6.2xlarge for training job usage", "Value": 50.0}]
    aws["service-quotas"].add_response(
        "list_service_quotas", {"Quotas": other + (quotas if applied else [])}, {"ServiceCode": "sagemaker"}
    )
    if not applied or value is None:
        aws["service-quotas"].add_response(
            "list_aws_default_service_quotas", {"Quotas": quotas}, {"ServiceCode": "sagemaker"}
        )


def _endpoint(aws: Any, name: str, instance_type: str, current: int, desired: int | None = None) -> None:
    aws["sagemaker"].add_response(
        "describe_endpoint",
        {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
            "EndpointConfigName": f"{name}-config",
            "EndpointStatus": "InService",
            "CreationTime": "2026-11-30T00:00:00Z",
            "LastModifiedTime": "2026-11-30T00:00:00Z",
            "ProductionVariants": [
                {"VariantName": "AllTraffic", "CurrentInstanceCount": current}
                | ({"DesiredInstanceCount": desired} if desired is not None else {})
            ],
        },
        {"EndpointName": name},
    )
    aws["sagemaker"].add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": f"{name}-config",
            "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{name}-config",
            "CreationTime": "2026-11-30T00:00:00Z",
            "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": instance_type}],
        },
        {"EndpointConfigName": f"{name}-config"},
    )


def _list_endpoints(aws: Any, *names_and_states: tuple[str, str]) -> None:
    aws["sagemaker"].add_response(
        "list_endpoints",
        {
            "Endpoints": [
                {
                    "EndpointName": name,
                    "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
                    "CreationTime": "2026-11-30T00:00:00Z",
                    "LastModifiedTime": "2026-11-30T00:00:00Z",
                    "EndpointStatus": state,
                }
                for name, state in names_and_states
            ]
        },
        {},
    )


def test_quota_subtracts_the_instances_other_endpoints_hold() -> None:
    with stubs() as aws:
        _quota(aws, 4.0)
        _list_endpoints(aws, ("busy", "InService"), ("gone", "Failed"))
        # Scaling out from 1 to 3: the larger count is what the quota must cover.
        _endpoint(aws, "busy", "ml.g6.2xlarge", 1, desired=3)
        ctx = aws.context(
            {"instance_count": 2, "autoscaling": {"max_instances": 2, "target_invocations_per_instance": 5}}
        )
        findings = account.check_quota(ctx)
    assert _lines(findings) == [
        "PROBLEM  quota: 'ml.g6.2xlarge for endpoint usage' is 4, other endpoints use 3, this config needs "
        "up to 2: request an increase to at least 5 in the Service Quotas console (Amazon SageMaker), or "
        "lower the instance count"
    ]


def test_quota_falls_back_to_the_default_value_and_ignores_other_types() -> None:
    with stubs() as aws:
        _quota(aws, 1.0, applied=False)
        _list_endpoints(aws, ("other-type", "InService"), ("qwen3-4b", "InService"))
        _endpoint(aws, "other-type", "ml.g5.2xlarge", 4)
        findings = account.check_quota(aws.context({}))
    assert _lines(findings) == [
        "ok       quota: 'ml.g6.2xlarge for endpoint usage' is 1, other endpoints use 0, this config "
        "needs up to 1",
        "info     quota: endpoint qwen3-4b exists: a blue/green update (all at once) starts a whole new "
        "fleet first, needing up to 2 for a while; request an increase to at least 2 before changing the "
        "model",
    ]


def test_quota_of_a_rolling_update_is_one_batch_more_and_each_pool_is_checked() -> None:
    with stubs() as aws:
        for instance_type, value in (("ml.g6.2xlarge", 3.0), ("ml.g6e.2xlarge", 1.0)):
            quotas = [{"QuotaName": f"{instance_type} for endpoint usage", "Value": value}]
            aws["service-quotas"].add_response(
                "list_service_quotas", {"Quotas": quotas}, {"ServiceCode": "sagemaker"}
            )
            _list_endpoints(aws, ("qwen3-4b", "InService"))
        findings = account.check_quota(
            aws.context({"instance_count": 3, "instance_pools": ["ml.g6e.2xlarge"]})
        )
    assert _lines(findings) == [
        "ok       quota: 'ml.g6.2xlarge for endpoint usage' is 3, other endpoints use 0, this config needs "
        "up to 3",
        "info     quota: endpoint qwen3-4b exists: a rolling update adds a batch of 1 before it removes one, "
        "needing up to 4 for a while; request an increase to at least 4 before changing the model",
        "PROBLEM  quota: 'ml.g6e.2xlarge for endpoint usage' is 1, other endpoints use 0, this config needs "
        "up to 3: request an increase to at least 3 in the Service Quotas console (Amazon SageMaker), or "
        "lower the instance count",
    ]


def test_no_quota_of_that_name_means_no_such_instance_type_here() -> None:
    with stubs() as aws:
        _quota(aws, None)
        findings = account.check_quota(aws.context({}))
    assert findings[0].status is Status.PROBLEM
    assert findings[0].message.startswith("Service Quotas has no 'ml.g6.2xlarge for endpoint usage' quota")


# Weights in S3


def _bucket(aws: Any, location: str | None = None) -> None:
    aws["s3"].add_response(
        "get_bucket_location",
        {"LocationConstraint": location} if location else {},
        {"Bucket": "weights-bucket"},
    )


def _listing(aws: Any, keys: dict[str, int]) -> None:
    aws["s3"].add_response(
        "list_objects_v2",
        {"Contents": [{"Key": f"models/qwen/{k}", "Size": size} for k, size in keys.items()]},
        {"Bucket": "weights-bucket", "Prefix": "models/qwen/"},
    )


def _head(aws: Any, kms_key: str | None = None) -> None:
    answer: dict[str, Any] = {"ContentLength": 10}
    if kms_key:
        answer |= {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    aws["s3"].add_response(
        "head_object", answer, {"Bucket": "weights-bucket", "Key": "models/qwen/config.json"}
    )


KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_weights_pass_with_config_and_safetensors_at_the_top_and_a_matching_manifest() -> None:
    manifest = {
        "schema_version": 1,
        "hf_model_id": "Qwen/Qwen3-4B",
        "revision": None,
        "commit": None,
        "files": [{"path": "config.json", "size": 10, "sha256": "0" * 64}],
    }
    with stubs() as aws:
        _bucket(aws)
        _listing(aws, {"config.json": 10, "model.safetensors": 99, "sagemaker-openai-manifest.json": 5})
        _head(aws)
        aws["s3"].add_response(
            "get_object",
            {"Body": _body(json.dumps(manifest))},
            {"Bucket": "weights-bucket", "Key": "models/qwen/sagemaker-openai-manifest.json"},
        )
        findings = weights.check_weights(aws.context(S3_MODEL))
    assert _lines(findings) == [
        "ok       weights model: s3://weights-bucket/models/qwen/: config.json and 3 files at the top"
    ]


def _body(text: str) -> Any:
    data = text.encode()
    return StreamingBody(io.BytesIO(data), len(data))


def test_weights_in_another_region_or_without_config_json_are_problems() -> None:
    with stubs() as aws:
        _bucket(aws, "eu-west-1")
        findings = weights.check_weights(aws.context(S3_MODEL))
    assert findings[0].message.startswith(
        "bucket weights-bucket is in eu-west-1 but the endpoint is in us-east-1; SageMaker reads model data"
    )
    with stubs() as aws:
        _bucket(aws)
        _listing(aws, {"sub/config.json": 1})
        findings = weights.check_weights(aws.context(S3_MODEL))
    assert _lines(findings) == [
        "PROBLEM  weights model: s3://weights-bucket/models/qwen/ has no config.json and no weights "
        "(*.safetensors) at its top; stage the model with `sagemaker-openai stage-weights HF_MODEL_ID "
        "s3://weights-bucket/models/qwen/`"
    ]


def test_weights_under_a_customer_key_the_config_does_not_name_are_a_problem() -> None:
    with stubs() as aws:
        _bucket(aws)
        _listing(aws, {"config.json": 10, "model.safetensors": 99})
        _head(aws, KEY_ARN)
        aws["kms"].add_response(
            "describe_key",
            {"KeyMetadata": {"KeyId": "k", "Arn": KEY_ARN, "KeyManager": "CUSTOMER"}},
            {"KeyId": KEY_ARN},
        )
        findings = weights.check_weights(aws.context(S3_MODEL))
    assert _lines(findings) == [
        f"PROBLEM  weights model: the weights are encrypted with customer managed key {KEY_ARN}; set "
        "model.s3_kms_key_arn to it so the execution role may decrypt them"
    ]
    # Named in the config: nothing to look up.
    with stubs() as aws:
        _bucket(aws)
        _listing(aws, {"config.json": 10, "model.safetensors": 99})
        _head(aws, KEY_ARN)
        config = {"model": {**S3_MODEL["model"], "s3_kms_key_arn": KEY_ARN}}
        assert weights.check_weights(aws.context(config))[0].status is Status.OK


def test_a_manifest_the_prefix_does_not_match_means_an_unfinished_copy() -> None:
    manifest = {
        "schema_version": 1,
        "hf_model_id": "m",
        "revision": None,
        "commit": None,
        "files": [{"path": "model-2.safetensors", "size": 7, "sha256": "0" * 64}],
    }
    with stubs() as aws:
        _bucket(aws)
        _listing(aws, {"config.json": 10, "model-1.safetensors": 99, "sagemaker-openai-manifest.json": 5})
        _head(aws)
        aws["s3"].add_response("get_object", {"Body": _body(json.dumps(manifest))})
        findings = weights.check_weights(aws.context(S3_MODEL))
    assert findings[0].message == (
        "1 file(s) of sagemaker-openai-manifest.json are missing or of another size "
        "(e.g. model-2.safetensors); run stage-weights again to finish the copy"
    )


def test_denied_s3_reads_skip_the_weights_check() -> None:
    with stubs() as aws:
        denied(aws["s3"], "get_bucket_location", "AccessDenied")
        findings = weights.check_weights(aws.context(S3_MODEL))
    assert _lines(findings) == ["skipped  weights model: skipped: needs s3:GetBucketLocation"]


# VPC


def _subnets(aws: Any, zones: list[str], vpc: str = "vpc-1") -> None:
    aws["ec2"].add_response(
        "describe_subnets",
        {
            "Subnets": [
                {"SubnetId": s, "AvailabilityZone": z, "VpcId": vpc}
                for s, z in zip(SUBNETS, zones, strict=True)
            ]
        },
        {"SubnetIds": SUBNETS},
    )


VPC = {"vpc": {"subnet_ids": SUBNETS, "security_group_ids": [GROUP]}, **S3_MODEL}


def test_vpc_subnets_in_two_zones_of_one_vpc_pass() -> None:
    with stubs() as aws:
        _subnets(aws, ["us-east-1a", "us-east-1b"])
        aws["ec2"].add_response(
            "describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP, "VpcId": "vpc-1"}]}
        )
        findings = network.check_vpc(aws.context(VPC))
    assert _lines(findings) == ["ok       vpc: 2 subnets in us-east-1a, us-east-1b of vpc-1"]


def test_vpc_problems_are_all_reported() -> None:
    with stubs() as aws:
        _subnets(aws, ["us-east-1a", "us-east-1a"])
        aws["ec2"].add_response(
            "describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP, "VpcId": "vpc-2"}]}
        )
        findings = network.check_vpc(aws.context(VPC))
    assert [f.message for f in findings] == [
        "the subnets are all in us-east-1a; SageMaker needs subnets in at least two Availability Zones: "
        "add a subnet of another zone to vpc.subnet_ids",
        "the subnets and security groups belong to several VPCs (vpc-1, vpc-2); use one VPC's",
    ]


def test_a_missing_subnet_is_named() -> None:
    with stubs() as aws:
        aws["ec2"].add_client_error(
            "describe_subnets",
            service_error_code="InvalidSubnetID.NotFound",
            service_message=f"The subnet ID '{SUBNETS[1]}' does not exist",
        )
        findings = network.check_vpc(aws.context(VPC))
    assert findings[0].message == f"subnet(s) {SUBNETS[1]} do not exist in us-east-1; fix vpc.subnet_ids"


# KMS key policy


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
LOGS_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    "Resource": "*",
}
KMS_CONFIG = {"kms": {"key_arn": KEY_ARN}, "monitoring": {"create_sns_topic": True}}


def test_a_key_policy_with_the_three_statements_passes() -> None:
    alarms = {
        "Effect": "Allow",
        "Principal": {"Service": ["cloudwatch.amazonaws.com"]},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    with stubs() as aws:
        aws["kms"].add_response(
            "get_key_policy",
            {"Policy": _policy(ROOT_STATEMENT, LOGS_STATEMENT, alarms)},
            {"KeyId": KEY_ARN, "PolicyName": "default"},
        )
        findings = keys.check_key_policy(aws.context(KMS_CONFIG))
    assert _lines(findings) == ["ok       kms.key_arn: the key policy has the statements the stack needs"]


def test_a_key_policy_without_the_logs_and_alarm_statements_names_both() -> None:
    with stubs() as aws:
        aws["kms"].add_response("get_key_policy", {"Policy": _policy(ROOT_STATEMENT)})
        findings = keys.check_key_policy(aws.context(KMS_CONFIG))
    assert [f.message for f in findings] == [
        f"the key policy does not allow CloudWatch Logs (Service logs.{REGION}.amazonaws.com) kms:Encrypt, "
        "kms:Decrypt, kms:ReEncryptFrom, kms:GenerateDataKey, kms:DescribeKey; add the statement the README "
        "lists under 'An existing KMS key'",
        "the key policy does not allow CloudWatch alarms (the SNS topic) (Service cloudwatch.amazonaws.com) "
        "kms:Decrypt, kms:GenerateDataKey; add the statement the README lists under 'An existing KMS key'",
    ]


# Trusted principals


def test_trusted_principals_that_do_not_exist_are_problems() -> None:
    config = {
        "invoker": {
            "trusted_principals": [
                "111122223333",
                f"arn:aws:iam::{ACCOUNT}:role/team/ci",
                f"arn:aws:iam::{ACCOUNT}:user/gone",
                "arn:aws:iam::444455556666:role/elsewhere",
            ]
        }
    }
    with stubs() as aws:
        aws["iam"].add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/team/",
                    "RoleName": "ci",
                    "RoleId": "AROAEXAMPLEEXAMPLE1",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:role/team/ci",
                    "CreateDate": "2026-01-01T00:00:00Z",
                }
            },
            {"RoleName": "ci"},
        )
        aws["iam"].add_client_error("get_user", service_error_code="NoSuchEntity", http_status_code=404)
        findings = principals.check_trusted_principals(aws.context(config))
    assert [f.status for f in findings] == [Status.OK, Status.OK, Status.PROBLEM, Status.INFO]
    assert findings[2].message == (
        f"arn:aws:iam::{ACCOUNT}:user/gone does not exist; IAM refuses a trust policy that names it: "
        "create it or remove it from invoker.trusted_principals"
    )


# Log groups


def test_a_log_group_left_behind_is_a_problem_unless_the_stack_owns_it() -> None:
    group = "/aws/sagemaker/Endpoints/qwen3-4b"
    with stubs() as aws:
        aws["logs"].add_response(
            "describe_log_groups", {"logGroups": [{"logGroupName": group}]}, {"logGroupNamePrefix": group}
        )
        aws["cloudformation"].add_client_error(
            "list_stack_resources",
            service_error_code="ValidationError",
            service_message="Stack with id qwen3-4b does not exist",
        )
        findings = logs.check_log_groups(aws.context({}))
    assert _lines(findings) == [
        f"PROBLEM  log groups: {group} exists already (left by logs.retain_on_delete, or created by "
        "SageMaker for an earlier endpoint of that name) and CloudFormation cannot create it: export "
        f"what you need, then `aws logs delete-log-group --log-group-name {group}`"
    ]
    with stubs() as aws:
        aws["logs"].add_response("describe_log_groups", {"logGroups": [{"logGroupName": group}]})
        aws["cloudformation"].add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": "EndpointLogGroup",
                        "PhysicalResourceId": group,
                        "ResourceType": "AWS::Logs::LogGroup",
                        "LastUpdatedTimestamp": "2026-11-30T00:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                ]
            },
            {"StackName": "qwen3-4b"},
        )
        assert logs.check_log_groups(aws.context({}))[0].status is Status.OK


# Cost


def _price(usd: str, *, unit: str = "Hrs") -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceName": "ml.g6.2xlarge", "component": "Hosting"}},
            "publicationDate": "2026-11-20T18:00:00Z",
            "terms": {
                "OnDemand": {
                    "SKU.T": {"priceDimensions": {"SKU.T.D": {"unit": unit, "pricePerUnit": {"USD": usd}}}}
                }
            },
        }
    )


def test_cost_comes_from_the_price_list_api_times_the_instances() -> None:
    with stubs() as aws:
        aws["pricing"].add_response(
            "get_products",
            {"PriceList": [_price("1.5000000000")], "FormatVersion": "aws_v1"},
            {
                "ServiceCode": "AmazonSageMaker",
                "Filters": pricing.hosting_filters("ml.g6.2xlarge", REGION),
                "FormatVersion": "aws_v1",
            },
        )
        config = {
            "mode": "inference_component",
            "managed_instance_scaling": {"min_instances": 0, "max_instances": 2},
            "models": [{"key": "m", "hf_model_id": "Qwen/Qwen3-4B", "copies": {"min": 0}}],
        }
        findings = pricing.check_cost(aws.context(config))
    assert _lines(findings) == [
        "info     cost: $1.50 per hour while in service (1 x ml.g6.2xlarge at $1.50, on demand, AWS Price "
        "List API for us-east-1, published 2026-11-20); up to $3.00 per hour at 2 instances; $0.00 for "
        "instances while scaled to zero"
    ]


def test_cost_prices_each_fallback_pool_per_instance_hour() -> None:
    with stubs() as aws:
        for instance_type, listed in (
            ("ml.g6.2xlarge", "1.5"),
            ("ml.g6e.2xlarge", "2.25"),
            ("ml.g5.2xlarge", "0"),
        ):
            aws["pricing"].add_response(
                "get_products",
                {"PriceList": [_price(listed)], "FormatVersion": "aws_v1"},
                {
                    "ServiceCode": "AmazonSageMaker",
                    "Filters": pricing.hosting_filters(instance_type, REGION),
                    "FormatVersion": "aws_v1",
                },
            )
        config = {"instance_pools": ["ml.g6e.2xlarge", "ml.g5.2xlarge"]}
        findings = pricing.check_cost(aws.context(config))
    assert _lines(findings) == [
        "info     cost: $1.50 per hour while in service (1 x ml.g6.2xlarge at $1.50, on demand, AWS Price "
        "List API for us-east-1, published 2026-11-20); per instance-hour in place of it when it has no "
        "capacity (instance_pools): ml.g6e.2xlarge $2.25, ml.g5.2xlarge not listed"
    ]


def test_no_listed_price_says_so_without_a_number() -> None:
    with stubs() as aws:
        aws["pricing"].add_response(
            "get_products",
            {"PriceList": [_price("0.0000000000")], "FormatVersion": "aws_v1"},
            {"ServiceCode": ANY, "Filters": ANY, "FormatVersion": ANY},
        )
        findings = pricing.check_cost(aws.context({}))
    assert findings[0].message == (
        "1 x ml.g6.2xlarge per hour while in service; the Price List API lists no hosting price for "
        "ml.g6.2xlarge in us-east-1"
    )


# Observability


def test_detailed_observability_states_its_cost_and_off_says_nothing() -> None:
    with stubs() as aws:
        assert observability.check_observability(aws.context({})) == []
        on = aws.context(
            {"monitoring": {"detailed_observability": True, "metric_publish_frequency_seconds": 30}}
        )
        assert _lines(observability.check_observability(on)) == [
            "info     observability: monitoring.detailed_observability is on: SageMaker publishes per-GPU, "
            "per-instance and vLLM metrics every 30 s, and CloudWatch bills them per GB ingested (not in the "
            "cost estimate); set it to false to avoid the charge"
        ]
