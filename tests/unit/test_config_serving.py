"""Production-serving fields: updates, availability, routing, capacity, caching and metrics."""

import re
from typing import Any, get_args

import botocore.session
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from sagemaker_openai.config import (
    UNSUPPORTED_ROUTING_STRATEGIES,
    InferenceComponentConfig,
    RoutingStrategy,
    ScaleInPolicySpec,
    SingleModelConfig,
    collect_warnings,
    load_config,
    parse_config,
)
from tests.conftest import CONFIG_DIR, ROOT
from tests.unit.test_config import IC_MODEL, _error, _ic

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def _enum(shape: str) -> set[str]:
    """The values botocore's installed SageMaker model allows for a string shape."""
    found: list[str] = getattr(SAGEMAKER.shape_for(shape), "enum")  # noqa: B009 - StringShape only
    return set(found)


def _members(shape: str) -> set[str]:
    return set(getattr(SAGEMAKER.shape_for(shape), "members"))  # noqa: B009 - StructureShape only


SCALING = {"target_concurrent_requests_per_instance": 8}
RESERVATION = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan"


def _cfn_enum(resource: str, *path: str) -> list[str]:
    schema: Any = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource).schema
    node = schema["definitions"]
    for part in path:
        node = node[part]
    return list(node["enum"])


def _single(data: dict[str, Any]) -> SingleModelConfig:
    config = parse_config(data)
    assert isinstance(config, SingleModelConfig)
    return config


def _components(**extra: Any) -> InferenceComponentConfig:
    config = parse_config(_ic([IC_MODEL | {"copies": {"initial": 2, "min": 2, "max": 4}}], **extra))
    assert isinstance(config, InferenceComponentConfig)
    return config


# Routing ------------------------------------------------------------------------------------------


def test_routing_strategies_are_botocores_and_cloudformations() -> None:
    """A value SageMaker adds shows up here: accept it, or refuse it with the reason."""
    accepted = set(get_args(RoutingStrategy))
    assert _enum("RoutingStrategy") == accepted | set(UNSUPPORTED_ROUTING_STRATEGIES)
    schema = _cfn_enum("AWS::SageMaker::EndpointConfig", "RoutingConfig", "properties", "RoutingStrategy")
    assert set(schema) == accepted
    assert _members("PrefixAwareRoutingConfig") == {
        "PrefixLength",
        "ConcurrencyThreshold",
    }


def test_kv_aware_is_refused_with_the_reason() -> None:
    assert _error({"routing_strategy": "KV_AWARE"}) == (
        "cfg.yaml: routing_strategy: KV_AWARE is in SageMaker's API but not among CloudFormation's "
        "AWS::SageMaker::EndpointConfig RoutingStrategy values yet, and the API documents no settings for "
        "it; "
        "use PREFIX_AWARE (with prefix_aware_routing) or LEAST_OUTSTANDING_REQUESTS (got 'KV_AWARE')"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"routing_strategy": "PREFIX_AWARE"},
            "routing_strategy PREFIX_AWARE needs prefix_aware_routing with prefix_length (1024-65536) and "
            "concurrency_threshold (1-1024), which SageMaker requires",
        ),
        (
            {"prefix_aware_routing": {"prefix_length": 2048, "concurrency_threshold": 8}},
            "prefix_aware_routing applies to routing_strategy PREFIX_AWARE, not LEAST_OUTSTANDING_REQUESTS; "
            "remove it or set routing_strategy: PREFIX_AWARE",
        ),
        (
            {
                "routing_strategy": "PREFIX_AWARE",
                "prefix_aware_routing": {"prefix_length": 512, "concurrency_threshold": 8},
            },
            "prefix_aware_routing.prefix_length: Input should be greater than or equal to 1024 (got 512)",
        ),
    ],
)
def test_prefix_aware_routing_needs_its_settings(data: dict[str, Any], expected: str) -> None:
    assert _error(data) == f"cfg.yaml: {expected}"


def test_prefix_aware_routing_on_one_instance_warns() -> None:
    config = parse_config(
        {
            "routing_strategy": "PREFIX_AWARE",
            "prefix_aware_routing": {"prefix_length": 4096, "concurrency_threshold": 8},
        }
    )
    assert collect_warnings(config) == [
        "routing_strategy: PREFIX_AWARE applies only when two or more instances can serve a request "
        "(SageMaker RoutingStrategy), and this endpoint runs at most one"
    ]


# Updates -----------------------------------------------------------------------------------------


def test_update_defaults_roll_one_instance_at_a_time_when_there_are_two() -> None:
    two = _single({"instance_count": 2})
    assert (two.update.strategy, two.update.batch_size, two.update.wait_seconds) == ("rolling", 1, 900)
    assert two.update.max_execution_seconds == 7200
    assert (two.update_strategy, two.update_peak_instance_count) == ("rolling", 3)
    scaled = _single({"instance_count": 2, "autoscaling": SCALING | {"min_instances": 2, "max_instances": 4}})
    assert (scaled.update_strategy, scaled.update_peak_instance_count) == ("rolling", 5)


def test_one_instance_updates_blue_green_all_at_once_needing_twice_the_instances() -> None:
    one = _single({})
    assert (one.update.strategy, one.update_strategy, one.update_peak_instance_count) == (
        "rolling",
        "all_at_once",
        2,
    )
    canary = _single({"instance_count": 4, "update": {"strategy": "canary"}})
    assert (canary.update_strategy, canary.update_peak_instance_count) == ("canary", 8)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"update": {"strategy": "rolling"}},
            "update.batch_size: a rolling batch of 1 instance(s) is more than half of the 1 this endpoint "
            "can "
            "run (SageMaker allows 5% to 50%); raise instance_count to 2 or more, or set update.strategy: "
            "all_at_once",
        ),
        (
            {
                "instance_count": 2,
                "autoscaling": SCALING | {"min_instances": 2, "max_instances": 3},
                "update": {"batch_size": 2},
            },
            "update.batch_size: a rolling batch of 2 instance(s) is more than half of the 2 this endpoint "
            "can "
            "run (SageMaker allows 5% to 50%); raise autoscaling.min_instances to 4 or more, or set "
            "update.strategy: all_at_once",
        ),
        (
            {
                "instance_count": 30,
                "autoscaling": SCALING | {"min_instances": 30, "max_instances": 100},
                "update": {"batch_size": 4},
            },
            "update.batch_size: a rolling batch of 4 instance(s) is less than 5% of the 100 this endpoint "
            "can "
            "run (SageMaker allows 5% to 50%); raise it to 5",
        ),
        (
            {"update": {"strategy": "canary"}},
            "update.batch_size: a canary of 1 instance(s) is more than half of the 1 this endpoint can run "
            "(SageMaker allows at most 50%); raise instance_count to 2 or more, or set update.strategy: "
            "all_at_once",
        ),
        (
            {"update": {"strategy": "all_at_once", "batch_size": 2}},
            "update: batch_size applies to rolling and canary updates; remove it for all_at_once",
        ),
        (
            {"update": {"wait_seconds": 4000}},
            "update.wait_seconds: Input should be less than or equal to 3600",
        ),
        (
            {"update": {"max_execution_seconds": 300}},
            "update.max_execution_seconds: Input should be greater than or equal to 600",
        ),
        (
            {"update": {"strategy": "linear"}},
            "update.strategy: Input should be 'rolling', 'canary' or 'all_at_once'",
        ),
    ],
)
def test_bad_single_model_update(data: dict[str, Any], expected: str) -> None:
    assert _error(data).startswith(f"cfg.yaml: {expected}")


def test_components_roll_by_copies_where_their_copies_allow() -> None:
    config = _components(instance_type="ml.g6.12xlarge")
    assert config.rolls(config.models[0])
    one_copy = parse_config(_ic([IC_MODEL]))
    assert isinstance(one_copy, InferenceComponentConfig)
    assert not one_copy.rolls(one_copy.models[0]), "a batch of 1 is all of one copy"
    assert one_copy.update_peak_instance_count == one_copy.managed_instance_scaling.max_instances


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (
            {"strategy": "canary"},
            "update.strategy canary: inference components update by rolling copies only "
            "(InferenceComponentDeploymentConfig has a RollingUpdatePolicy and no blue/green); use rolling",
        ),
        (
            {"batch_size": 1},
            "update.batch_size: a rolling batch of 1 copies must be 5% to 50% of models[0] (chat), which "
            "runs 1 to 1 copies; raise its copies.min to 2 or more, or remove update",
        ),
    ],
)
def test_bad_component_update(update: dict[str, Any], expected: str) -> None:
    assert _error(_ic([IC_MODEL], update=update)) == f"cfg.yaml: {expected}"


# Availability ------------------------------------------------------------------------------------


def test_production_settings_on_one_instance_warn() -> None:
    config = parse_config({"autoscaling": SCALING | {"max_instances": 3}})
    assert collect_warnings(config) == [
        "autoscaling.min_instances: is 1 with production settings (autoscaling): one instance sits in one "
        "Availability Zone, so an instance or zone failure, or an update, leaves nothing serving; set it to "
        "2 or more"
    ]
    kms = {"create": True}
    components = parse_config(_ic([IC_MODEL], kms=kms))
    assert collect_warnings(components)[0].startswith(
        "managed_instance_scaling.min_instances: is 1 with production settings (kms): one instance"
    )
    assert collect_warnings(parse_config({"instance_count": 2, "kms": kms})) == []


def test_no_alarms_means_no_rollback_and_warns() -> None:
    assert collect_warnings(parse_config({"monitoring": {"alarms": False}})) == [
        "monitoring.alarms: is false, so updates have no rollback alarms and a bad model keeps serving until "
        "you roll it back yourself; set alarms: true"
    ]


def test_the_production_examples_run_two_instances_or_more() -> None:
    for name in ("qwen3-4b-production.yaml", "two-models-production.yaml"):
        config = load_config(str(CONFIG_DIR / name))
        assert config.production_settings(), name
        assert config.min_instance_count >= 2, name
        assert collect_warnings(config) == [], name


def test_components_balance_zones_when_there_can_be_two_instances() -> None:
    assert not _components(instance_type="ml.g6.12xlarge").balances_zones
    scaled = _components(
        instance_type="ml.g6.12xlarge", managed_instance_scaling={"min_instances": 1, "max_instances": 2}
    )
    assert scaled.balances_zones


# Capacity ----------------------------------------------------------------------------------------


def test_instance_pools_fall_back_in_order() -> None:
    config = _single(
        {"instance_pools": ["ml.g6e.2xlarge", "ml.g5.2xlarge"], "instance_provision_timeout_seconds": 600}
    )
    assert config.instance_types == ["ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g5.2xlarge"]
    assert SAGEMAKER.shape_for("InstancePoolList").metadata == {"min": 1, "max": 5}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"instance_pools": ["ml.g9.2xlarge"]},
            "instance_pools[0]: 'ml.g9.2xlarge' is not in the kit's instance table; use one of ",
        ),
        ({"instance_pools": ["ml.g6.2xlarge"]}, "instance_pools[0]: ml.g6.2xlarge appears twice"),
        (
            {"instance_pools": ["ml.g6.12xlarge"]},
            "instance_pools[0]: ml.g6.12xlarge has 4 GPU(s) but ml.g6.2xlarge has 1; every pool needs the "
            "same "
            "GPU count, since model.vllm.tensor_parallel_size and the GPU metrics assume one",
        ),
        (
            {"instance_type": "ml.g6e.2xlarge", "instance_pools": ["ml.g6.2xlarge"]},
            "instance_pools[0]: ml.g6.2xlarge has 24 GiB of GPU memory, less than ml.g6e.2xlarge's 48; the "
            "model and its KV cache may not fit, so list only types with at least as much",
        ),
        (
            {"instance_provision_timeout_seconds": 600},
            "instance_provision_timeout_seconds applies with instance_pools; add fallback types or remove it",
        ),
        (
            {
                "instance_pools": ["ml.g6e.2xlarge"],
                "capacity_reservation": {"ml_reservation_arn": RESERVATION},
            },
            "provide either instance_pools or capacity_reservation, not both: a reservation holds one "
            "instance "
            "type and launches only into it",
        ),
        (
            {"instance_pools": [f"ml.g{n}.2xlarge" for n in ("5", "6e", "5", "6e", "5")]},
            "instance_pools: List should have at most 4 items after validation, not 5",
        ),
    ],
)
def test_bad_instance_pools(data: dict[str, Any], expected: str) -> None:
    assert _error(data).startswith(f"cfg.yaml: {expected}")


def test_instance_pools_are_single_model_only() -> None:
    assert _error(_ic([IC_MODEL], instance_pools=["ml.g6e.2xlarge"])) == (
        "cfg.yaml: instance_pools applies to single_model mode: with several instance types CloudFormation "
        "wants one inference-component Specifications entry per type, which the kit does not build; remove it"
    )


def test_capacity_reservation_is_checked() -> None:
    assert (
        _single({"capacity_reservation": {"ml_reservation_arn": RESERVATION}}).capacity_reservation
        is not None
    )
    assert _error({"capacity_reservation": {"ml_reservation_arn": "my-plan"}}) == (
        "cfg.yaml: capacity_reservation: ml_reservation_arn: 'my-plan' is not a SageMaker reservation ARN "
        "like "
        "arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan"
    )
    assert _error({"region": "us-west-2", "capacity_reservation": {"ml_reservation_arn": RESERVATION}}) == (
        "cfg.yaml: capacity_reservation.ml_reservation_arn is in us-east-1 but region is us-west-2; an "
        "endpoint "
        "launches only into a reservation of its own region"
    )


# Caching and scale-in ----------------------------------------------------------------------------


def test_scale_in_strategies_are_botocores() -> None:
    strategy = ScaleInPolicySpec.model_fields["strategy"].annotation
    assert set(get_args(strategy)) == _enum("ManagedInstanceScalingScaleInStrategy")
    assert _error(
        _ic(
            [IC_MODEL],
            managed_instance_scaling={
                "scale_in_policy": {"strategy": "IDLE_RELEASE", "maximum_step_size": 2}
            },
        )
    ) == (
        "cfg.yaml: managed_instance_scaling.scale_in_policy: maximum_step_size applies to strategy "
        "CONSOLIDATION; remove it"
    )


def test_data_cache_is_per_component_and_optional() -> None:
    config = parse_config(
        _ic([IC_MODEL | {"data_cache": True}, IC_MODEL | {"key": "other"}], instance_type="ml.g6.12xlarge")
    )
    assert isinstance(config, InferenceComponentConfig)
    assert [model.data_cache for model in config.models] == [True, None]


def test_readme_links_to_its_production_sections_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)
    }
    for needed in (
        "changing-a-model-safely",
        "high-availability-and-capacity",
        "llm-aware-routing-caching-and-metrics",
    ):
        assert needed in anchors, needed
    assert sorted(set(re.findall(r"\]\(#([a-z0-9-]+)\)", readme)) - anchors) == []
