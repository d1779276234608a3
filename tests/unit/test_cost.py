"""The instance-hours `make synth` states, and a price only from the dated table."""

from datetime import date
from decimal import Decimal

import pytest

from sagemaker_openai.catalog.cost import DatedPrice, describe_cost, instance_hours
from sagemaker_openai.config import parse_config

SOURCE = "AWS Price List API (test row)"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "1 x ml.g6.2xlarge per hour while in service"),
        (
            {
                "instance_count": 2,
                "autoscaling": {"min_instances": 1, "max_instances": 4, "target_invocations_per_instance": 9},
            },
            "2 x ml.g6.2xlarge per hour while in service (1 to 4 x with autoscaling)",
        ),
        (
            {
                "mode": "inference_component",
                "managed_instance_scaling": {"min_instances": 0, "max_instances": 1},
                "models": [{"key": "m", "hf_model_id": "Qwen/Qwen3-4B", "copies": {"min": 0}}],
            },
            "1 x ml.g6.2xlarge per hour while in service (0 while scaled to zero)",
        ),
        (
            {
                "mode": "inference_component",
                "instance_type": "ml.g6.12xlarge",
                "managed_instance_scaling": {"min_instances": 0, "max_instances": 3},
                "models": [{"key": "m", "hf_model_id": "Qwen/Qwen3-4B", "copies": {"min": 0, "max": 4}}],
            },
            "1 x ml.g6.12xlarge per hour while in service "
            "(0 while scaled to zero, up to 3 x when scaled out)",
        ),
    ],
)
def test_instance_hours_per_hour(config: dict[str, object], expected: str) -> None:
    assert instance_hours(parse_config(config)).describe() == expected


def test_fallback_pools_are_named_and_each_priced_from_its_own_row() -> None:
    config = parse_config({"region": "us-east-1", "instance_pools": ["ml.g6e.2xlarge", "ml.g5.2xlarge"]})
    prices = {("ml.g6e.2xlarge", "us-east-1"): DatedPrice(Decimal("2.5"), SOURCE, date(2026, 11, 30))}
    assert describe_cost(config, prices=prices) == [
        "Cost: 1 x ml.g6.2xlarge per hour while in service; ml.g6e.2xlarge, ml.g5.2xlarge in its place when "
        "it has no capacity (instance_pools)",
        "  price: the kit has no dated price for ml.g6.2xlarge in us-east-1; `make preflight` reads it from "
        "the AWS Price List API",
        "  $2.50 per hour while in service on ml.g6e.2xlarge ($2.50 per instance-hour in us-east-1, on "
        "demand; AWS Price List API (test row), 2026-11-30)",
        "  price: the kit has no dated price for ml.g5.2xlarge in us-east-1; `make preflight` reads it from "
        "the AWS Price List API",
    ]


def test_no_price_without_a_dated_row() -> None:
    lines = describe_cost(parse_config({"region": "us-east-1"}), prices={})
    assert lines == [
        "Cost: 1 x ml.g6.2xlarge per hour while in service",
        "  price: the kit has no dated price for ml.g6.2xlarge in us-east-1; `make preflight` reads it "
        "from the AWS Price List API",
    ]


def test_a_dated_row_gives_the_price_with_its_source_times_the_count() -> None:
    prices = {("ml.g6.2xlarge", "us-east-1"): DatedPrice(Decimal("1.2345"), SOURCE, date(2026, 11, 30))}
    lines = describe_cost(parse_config({"region": "us-east-1", "instance_count": 2}), prices=prices)
    assert lines[1] == (
        "  $2.47 per hour while in service ($1.23 per instance-hour in us-east-1, on demand; "
        "AWS Price List API (test row), 2026-11-30)"
    )
    # Without a region the row cannot apply.
    assert "no dated price" in describe_cost(parse_config({}), prices=prices)[1]


def test_make_synth_reports_the_instance_hours_of_its_config() -> None:
    from scripts.synth_report import cost_lines

    assert cost_lines("config/qwen3-4b.yaml")[0] == "Cost: 1 x ml.g6.2xlarge per hour while in service"
