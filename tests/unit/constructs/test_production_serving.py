"""Safe updates, capacity fallback, zone balance, LLM-aware routing, caching and metrics in the templates."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import CONFIG_DIR, Synthesized, load_yaml, references

Synth = Callable[[dict[str, Any]], Synthesized]
RESERVATION = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan"
POOLED: dict[str, Any] = {
    "name": "pooled",
    "instance_count": 4,
    "instance_pools": ["ml.g6e.2xlarge", "ml.g5.2xlarge"],
    "instance_provision_timeout_seconds": 600,
    "update": {"strategy": "canary", "batch_size": 1, "wait_seconds": 600, "max_execution_seconds": 3600},
    "routing_strategy": "PREFIX_AWARE",
    "prefix_aware_routing": {"prefix_length": 4096, "concurrency_threshold": 8},
    "monitoring": {"enhanced_metrics": True, "metric_publish_frequency_seconds": 10},
}
RESERVED: dict[str, Any] = {
    "name": "reserved",
    "update": {"strategy": "all_at_once"},
    "capacity_reservation": {"ml_reservation_arn": RESERVATION},
    "monitoring": {"alarms": False, "detailed_observability": True},
}


@pytest.fixture(scope="module")
def prod(synth: Synth) -> Synthesized:
    return synth(load_yaml(CONFIG_DIR / "qwen3-4b-production.yaml"))


@pytest.fixture(scope="module")
def two_prod(synth: Synth) -> Synthesized:
    return synth(load_yaml(CONFIG_DIR / "two-models-production.yaml"))


def _one(s: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = s.resources(resource_type).items()
    return found[0], found[1]["Properties"]


def _alarm_ids(s: Synthesized) -> dict[str, str]:
    """Alarm name -> logical ID."""
    return {
        props["Properties"]["AlarmName"]: logical_id
        for logical_id, props in s.resources("AWS::CloudWatch::Alarm").items()
        if "AlarmName" in props["Properties"]
    }


def _variant(s: Synthesized) -> dict[str, Any]:
    _, config = _one(s, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["ProductionVariants"]
    return dict(variant)


def _describe_alarms(s: Synthesized, alarm_ids: list[str]) -> dict[str, Any]:
    return {
        "Sid": "DescribeRollbackAlarms",
        "Effect": "Allow",
        "Action": "cloudwatch:DescribeAlarms",
        "Resource": [{"Fn::GetAtt": [alarm_id, "Arn"]} for alarm_id in alarm_ids],
    }


# Single-model endpoints ------------------------------------------------------------------------------


def test_production_endpoint_rolls_one_instance_at_a_time_and_rolls_back_on_its_alarms(
    prod: Synthesized,
) -> None:
    alarms = _alarm_ids(prod)
    rollback = [alarms["qwen3-4b-prod-5xx-error-rate"], alarms["qwen3-4b-prod-latency-p99"]]
    endpoint_id, endpoint = _one(prod, "AWS::SageMaker::Endpoint")
    assert endpoint["DeploymentConfig"] == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 900,
            "MaximumExecutionTimeoutInSeconds": 7200,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": {"Ref": alarm_id}} for alarm_id in rollback]},
    }
    assert set(rollback) <= references(prod.template, endpoint_id), "the alarms exist before the endpoint"
    assert endpoint["RetainAllVariantProperties"] is True
    statements = prod.policy_statements("SageMaker execution role")
    assert statements[-1] == _describe_alarms(prod, rollback)
    assert _variant(prod)["InitialInstanceCount"] == 2


def test_metrics_config_is_written_out(prod: Synthesized) -> None:
    _, config = _one(prod, "AWS::SageMaker::EndpointConfig")
    assert config["MetricsConfig"] == {
        "EnableDetailedObservability": False,
        "EnableEnhancedMetrics": False,
        "MetricPublishFrequencyInSeconds": 60,
    }


def test_one_instance_updates_blue_green_all_at_once_with_rollback(synth: Synth) -> None:
    default = synth(load_yaml(CONFIG_DIR / "qwen3-4b.yaml"))
    alarms = _alarm_ids(default)
    _, endpoint = _one(default, "AWS::SageMaker::Endpoint")
    assert endpoint["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 900},
            "MaximumExecutionTimeoutInSeconds": 7200,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [
                {"AlarmName": {"Ref": alarms["qwen3-4b-5xx-error-rate"]}},
                {"AlarmName": {"Ref": alarms["qwen3-4b-latency-p99"]}},
            ]
        },
    }
    assert _variant(default)["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}


def test_pools_canary_and_prefix_aware_routing(synth: Synth) -> None:
    pooled = synth(POOLED)
    variant = _variant(pooled)
    assert "InstanceType" not in variant, "the pools name every type, in priority order"
    assert variant["InstancePools"] == [
        {"InstanceType": "ml.g6.2xlarge", "Priority": 1},
        {"InstanceType": "ml.g6e.2xlarge", "Priority": 2},
        {"InstanceType": "ml.g5.2xlarge", "Priority": 3},
    ]
    assert variant["VariantInstanceProvisionTimeoutInSeconds"] == 600
    assert variant["RoutingConfig"] == {
        "RoutingStrategy": "PREFIX_AWARE",
        "PrefixAwareRoutingConfig": {"PrefixLength": 4096, "ConcurrencyThreshold": 8},
    }
    _, endpoint = _one(pooled, "AWS::SageMaker::Endpoint")
    assert endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 600,
        },
        "MaximumExecutionTimeoutInSeconds": 3600,
    }
    _, config = _one(pooled, "AWS::SageMaker::EndpointConfig")
    assert config["MetricsConfig"] == {
        "EnableDetailedObservability": False,
        "EnableEnhancedMetrics": True,
        "MetricPublishFrequencyInSeconds": 10,
    }


def test_capacity_reservation_and_no_alarms_means_no_rollback(synth: Synth) -> None:
    reserved = synth(RESERVED)
    assert _variant(reserved)["CapacityReservationConfig"] == {
        "CapacityReservationPreference": "capacity-reservations-only",
        "MlReservationArn": RESERVATION,
    }
    _, endpoint = _one(reserved, "AWS::SageMaker::Endpoint")
    assert endpoint["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 900},
            "MaximumExecutionTimeoutInSeconds": 7200,
        }
    }
    sids = [statement.get("Sid") for statement in reserved.policy_statements("SageMaker execution role")]
    assert "DescribeRollbackAlarms" not in sids
    _, config = _one(reserved, "AWS::SageMaker::EndpointConfig")
    assert config["MetricsConfig"]["EnableDetailedObservability"] is True


# Inference components -----------------------------------------------------------------------------


def test_each_component_rolls_by_copies_and_rolls_back_on_its_own_alarms(two_prod: Synthesized) -> None:
    alarms = _alarm_ids(two_prod)
    components = {
        props["Properties"]["InferenceComponentName"]: (logical_id, props["Properties"])
        for logical_id, props in two_prod.resources("AWS::SageMaker::InferenceComponent").items()
    }
    assert sorted(components) == ["two-models-prod-qwen3-1-7b", "two-models-prod-qwen3-4b"]
    watched: list[str] = []
    for name, (logical_id, component) in components.items():
        rollback = [alarms[f"{name}-5xx-error-rate"], alarms[f"{name}-latency-p99"]]
        assert component["DeploymentConfig"] == {
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 900,
                "MaximumExecutionTimeoutInSeconds": 7200,
            },
            "AutoRollbackConfiguration": {
                "Alarms": [{"AlarmName": {"Ref": alarm_id}} for alarm_id in rollback]
            },
        }, name
        assert set(rollback) <= references(two_prod.template, logical_id)
        watched += rollback
        spec = component["Specification"]
        assert spec["SchedulingConfig"] == {
            "PlacementStrategy": "SPREAD",
            "AvailabilityZoneBalance": {"EnforcementMode": "PERMISSIVE", "MaxImbalance": 1},
        }, "two or more instances: copies spread over the zones"
        assert spec["DataCacheConfig"] == {"EnableCaching": True}
        assert component["RuntimeConfig"] == {"CopyCount": 2}
    statements = two_prod.policy_statements("SageMaker execution")
    assert statements[-1] == _describe_alarms(two_prod, watched)
    _, endpoint = _one(two_prod, "AWS::SageMaker::Endpoint")
    assert "DeploymentConfig" not in endpoint, "components carry their own"


def test_component_endpoint_routes_by_prefix_and_consolidates(two_prod: Synthesized) -> None:
    variant = _variant(two_prod)
    assert variant["RoutingConfig"] == {
        "RoutingStrategy": "PREFIX_AWARE",
        "PrefixAwareRoutingConfig": {"PrefixLength": 4096, "ConcurrencyThreshold": 16},
    }
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 2,
        "MaxInstanceCount": 3,
        "ScaleInPolicy": {"Strategy": "CONSOLIDATION"},
    }
    _, config = _one(two_prod, "AWS::SageMaker::EndpointConfig")
    assert config["MetricsConfig"]["EnableDetailedObservability"] is False


def test_components_of_one_copy_keep_sagemakers_default_update(synth: Synth) -> None:
    two = synth(load_yaml(CONFIG_DIR / "two-models-g6-12xlarge.yaml"))
    for component in two.resources("AWS::SageMaker::InferenceComponent").values():
        assert "DeploymentConfig" not in component["Properties"], "a batch of 1 is all of one copy"
        assert "DataCacheConfig" not in component["Properties"]["Specification"]
    sids = [statement.get("Sid") for statement in two.policy_statements("SageMaker execution")]
    assert "DescribeRollbackAlarms" not in sids
