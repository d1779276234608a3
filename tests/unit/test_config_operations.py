"""The operations fields (vpc, autoscaling, monitoring, kms, s3_kms_key_arn): one clear line per mistake."""

from typing import Any

import pytest

from sagemaker_openai.config import (
    InferenceComponentConfig,
    MonitoringSpec,
    SingleModelConfig,
    collect_warnings,
    parse_config,
)
from tests.unit.test_config import IC_MODEL, _error, _ic

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SG = ["sg-0123456789abcdef0"]
S3_MODEL = {"s3_uri": "s3://bucket/models/qwen3-4b/"}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SCALING = {"max_instances": 3, "target_concurrent_requests_per_instance": 8}


def test_operations_defaults_keep_the_default_deploy_cheap() -> None:
    config = parse_config({})
    assert isinstance(config, SingleModelConfig)
    assert (config.vpc, config.kms, config.autoscaling, config.model.s3_kms_key_arn) == (
        None,
        None,
        None,
        None,
    )
    assert config.monitoring == MonitoringSpec(alarms=True, dashboard=False)
    thresholds = config.monitoring.thresholds
    assert (thresholds.invocation_5xx_error_rate_percent, thresholds.model_latency_p99_seconds) == (5.0, 30.0)
    assert (thresholds.disk_utilization_percent, thresholds.no_capacity_invocation_failures) == (80.0, 1)
    monitoring = config.monitoring
    assert (monitoring.detailed_observability, monitoring.enhanced_metrics) == (False, False)
    assert monitoring.metric_publish_frequency_seconds == 60


def test_valid_operations_fields_parse() -> None:
    config = parse_config(
        {
            "model": S3_MODEL | {"s3_kms_key_arn": KEY},
            "vpc": {"subnet_ids": SUBNETS, "security_group_ids": SG},
            "autoscaling": SCALING,
            "monitoring": {
                "dashboard": True,
                "create_sns_topic": True,
                "thresholds": {"invocation_5xx_error_rate_percent": 1},
            },
            "kms": {"key_arn": KEY},
            "region": "us-east-1",
        }
    )
    assert isinstance(config, SingleModelConfig)
    assert config.vpc is not None
    assert config.vpc.subnet_ids == SUBNETS
    assert config.autoscaling is not None
    assert config.autoscaling.scale_in_cooldown_seconds == 300
    assert config.monitoring.thresholds.invocation_5xx_error_rate_percent == 1


@pytest.mark.parametrize(
    ("vpc", "expected"),
    [
        (
            {"subnet_ids": SUBNETS[:1], "security_group_ids": SG},
            "vpc: give at least two subnet_ids (in different Availability Zones, as SageMaker requires) "
            "and at least one security_group_ids entry, or set create: true",
        ),
        (
            {"subnet_ids": [SUBNETS[0], SUBNETS[0]], "security_group_ids": SG},
            "vpc: give at least two subnet_ids",
        ),
        ({"subnet_ids": SUBNETS}, "vpc: give at least two subnet_ids"),
        ({}, "vpc: give at least two subnet_ids"),
        (
            {"create": True, "subnet_ids": SUBNETS},
            "vpc: provide either create: true or subnet_ids and security_group_ids, not both",
        ),
        (
            {"subnet_ids": ["subnet-1", SUBNETS[0]], "security_group_ids": SG},
            "vpc.subnet_ids: 'subnet-1' is not an ID like subnet-0123456789abcdef0",
        ),
        (
            {"subnet_ids": SUBNETS, "security_group_ids": ["default"]},
            "vpc.security_group_ids: 'default' is not an ID like sg-0123456789abcdef0",
        ),
        (
            {"subnet_ids": SUBNETS, "security_group_ids": SG * 2},
            "vpc.security_group_ids: each ID may appear once",
        ),
        (
            {"subnet_ids": SUBNETS, "security_group_ids": [f"sg-0000000{i}" for i in range(6)]},
            "vpc.security_group_ids: List should have at most 5 items after validation, not 6",
        ),
    ],
)
def test_bad_vpc(vpc: dict[str, Any], expected: str) -> None:
    assert expected in _error({"model": S3_MODEL, "vpc": vpc})


def test_hub_model_in_the_created_vpc_points_to_stage_weights() -> None:
    expected = (
        "cfg.yaml: model.hf_model_id: the VPC of vpc.create has no internet route, so the container cannot "
        "download from the Hugging Face Hub; copy the weights with `sagemaker-openai stage-weights` and set "
        "s3_uri instead"
    )
    assert _error({"vpc": {"create": True}}) == expected
    s3_component = {"key": "s3", **S3_MODEL}
    assert _error(
        _ic([s3_component, IC_MODEL], vpc={"create": True}, instance_type="ml.g6.12xlarge")
    ).startswith("cfg.yaml: models[1].hf_model_id: the VPC of vpc.create has no internet route")
    assert parse_config({"model": S3_MODEL, "vpc": {"create": True}}).vpc is not None


def test_hub_model_in_existing_subnets_warns_about_the_internet_route() -> None:
    config = parse_config({"instance_count": 2, "vpc": {"subnet_ids": SUBNETS, "security_group_ids": SG}})
    assert collect_warnings(config) == [
        "model.hf_model_id: the container downloads from the Hugging Face Hub through vpc.subnet_ids, "
        "which need a NAT route to the internet; or stage the weights with `sagemaker-openai stage-weights`"
    ]


@pytest.mark.parametrize(
    ("scaling", "extra", "expected"),
    [
        (
            {"max_instances": 2},
            {},
            "autoscaling: provide either target_concurrent_requests_per_instance or "
            "target_invocations_per_instance, not both",
        ),
        (
            SCALING | {"target_invocations_per_instance": 100},
            {},
            "autoscaling: provide either target_concurrent_requests_per_instance",
        ),
        (SCALING | {"min_instances": 4}, {}, "autoscaling: min_instances (4) is above max_instances (3)"),
        (
            SCALING | {"min_instances": 0},
            {},
            "autoscaling.min_instances: Input should be greater than or equal to 1",
        ),
        (
            SCALING,
            {"instance_count": 5},
            "instance_count (5) must lie between autoscaling.min_instances (1) and max_instances (3)",
        ),
        ({"target_invocations_per_instance": 10}, {}, "autoscaling.max_instances: Field required"),
        (
            SCALING | {"scale_in_cooldown_seconds": -1},
            {},
            "autoscaling.scale_in_cooldown_seconds: Input should be",
        ),
    ],
)
def test_bad_autoscaling(scaling: dict[str, Any], extra: dict[str, Any], expected: str) -> None:
    assert expected in _error({"autoscaling": scaling, **extra})


def test_autoscaling_is_single_model_only() -> None:
    assert "autoscaling: unknown field" in _error(_ic([IC_MODEL], autoscaling=SCALING))


@pytest.mark.parametrize(
    ("monitoring", "expected"),
    [
        (
            {"create_sns_topic": True, "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts"},
            "monitoring: provide either create_sns_topic or sns_topic_arn, not both",
        ),
        (
            {"alarms": False, "create_sns_topic": True},
            "monitoring: an SNS topic needs alarms: true (only the alarms notify it)",
        ),
        (
            {"sns_topic_arn": "alerts"},
            "monitoring.sns_topic_arn: 'alerts' is not a standard SNS topic ARN like "
            "arn:aws:sns:us-east-1:123456789012:alerts",
        ),
        (
            {"thresholds": {"invocation_5xx_error_rate_percent": 150}},
            "monitoring.thresholds.invocation_5xx_error_rate_percent: Input should be less than or equal to "
            "100",
        ),
        (
            {"thresholds": {"gpu_utilization_percent": 90}},
            "monitoring.thresholds: gpu_utilization_percent was replaced: GPU utilization is on the "
            "dashboard "
            "only (vLLM keeps a busy GPU near 100% by design); remove it",
        ),
        (
            {"thresholds": {"invocation_5xx_errors": 5}},
            "monitoring.thresholds: invocation_5xx_errors was replaced: the 5xx alarm is an error rate now; "
            "set invocation_5xx_error_rate_percent",
        ),
        (
            {"metric_publish_frequency_seconds": 15},
            "monitoring.metric_publish_frequency_seconds: Input should be 10, 30, 60, 120, 180, 240 or 300",
        ),
        ({"thresholds": {"latency": 1}}, "monitoring.thresholds.latency: unknown field; allowed here: "),
    ],
)
def test_bad_monitoring(monitoring: dict[str, Any], expected: str) -> None:
    assert expected in _error({"monitoring": monitoring})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kms": {}}, "kms: provide either create: true or key_arn, not both"),
        ({"kms": {"create": True, "key_arn": KEY}}, "kms: provide either create: true or key_arn, not both"),
        (
            {"kms": {"key_arn": "alias/weights"}},
            "kms.key_arn: 'alias/weights' is not a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/",
        ),
        (
            {"kms": {"key_arn": KEY}, "region": "eu-west-1"},
            "kms.key_arn is in us-east-1 but region is eu-west-1; CloudWatch Logs and SNS use only keys of "
            "their own region",
        ),
        (
            {"kms": {"create": True, "storage_volume": True}},
            "cfg.yaml: kms.storage_volume: ml.g6.2xlarge has NVMe instance storage, which the instance "
            "encrypts in hardware, and CreateEndpointConfig rejects a KmsKeyId for instance types with local "
            "storage; set storage_volume: false",
        ),
        (
            {"model": {"hf_model_id": "a/b", "s3_kms_key_arn": KEY}},
            "model: s3_kms_key_arn applies to weights in S3; set s3_uri or remove it",
        ),
        (
            {"model": S3_MODEL | {"s3_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/x"}},
            "model: s3_kms_key_arn: 'arn:aws:kms:us-east-1:123456789012:alias/x' is not a KMS key ARN",
        ),
    ],
)
def test_bad_kms(data: dict[str, Any], expected: str) -> None:
    assert expected in _error(data)


def test_storage_volume_is_refused_on_every_instance_type_of_today() -> None:
    message = _error(
        _ic([IC_MODEL], instance_type="ml.g5.12xlarge", kms={"key_arn": KEY, "storage_volume": True})
    )
    assert "kms.storage_volume: ml.g5.12xlarge has NVMe instance storage" in message


def test_max_instance_count_is_what_the_quota_must_cover() -> None:
    assert parse_config({"instance_count": 2}).max_instance_count == 2
    assert parse_config({"autoscaling": SCALING}).max_instance_count == 3
    ic = parse_config(_ic([IC_MODEL], managed_instance_scaling={"min_instances": 1, "max_instances": 4}))
    assert isinstance(ic, InferenceComponentConfig)
    assert ic.max_instance_count == 4
