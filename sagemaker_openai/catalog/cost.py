"""What a deployment bills by the hour: instance-hours offline, and a price only from a dated source.

``make synth`` states the instance-hours per hour from the config alone. A price is printed beside it only
where ``PRICES`` holds one with its source (a page or the Price List API), region and date; the kit
never estimates one. ``make preflight`` asks the Price List API instead (sagemaker_openai.preflight).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sagemaker_openai.config import InferenceComponentConfig, KitConfig, SingleModelConfig


@dataclass(frozen=True)
class InstanceHours:
    """Instances of one type billed per hour while the endpoint is in service."""

    instance_type: str
    initial: int
    minimum: int
    maximum: int
    # `instance_pools`: the types SageMaker launches instead, in order, when instance_type has no capacity.
    fallbacks: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.initial} x {self.instance_type} per hour while in service"
        if self.minimum == 0:
            more = f", up to {self.maximum} x when scaled out" if self.maximum > self.initial else ""
            text += f" (0 while scaled to zero{more})"
        elif self.maximum > self.initial or self.minimum < self.initial:
            text += f" ({self.minimum} to {self.maximum} x with autoscaling)"
        if self.fallbacks:
            text += f"; {', '.join(self.fallbacks)} in its place when it has no capacity (instance_pools)"
        return text


@dataclass(frozen=True)
class DatedPrice:
    """An on-demand SageMaker hosting price per instance-hour, in USD, and where and when it was read."""

    usd_per_hour: Decimal
    source: str
    as_of: date


# (instance type, region) -> price. Empty: no dated AWS source was readable where this table was written
# (the pricing pages render their tables in the browser). Add rows only with a source and its date.
PRICES: dict[tuple[str, str], DatedPrice] = {}


def instance_hours(config: KitConfig) -> InstanceHours:
    if isinstance(config, InferenceComponentConfig):
        minimum = config.managed_instance_scaling.min_instances
    else:
        minimum = config.autoscaling.min_instances if config.autoscaling else config.instance_count
    return InstanceHours(
        instance_type=config.instance_type,
        initial=config.instance_count,
        minimum=minimum,
        maximum=config.max_instance_count,
        fallbacks=tuple(config.instance_pools) if isinstance(config, SingleModelConfig) else (),
    )


def usd(amount: Decimal) -> str:
    return f"${amount.quantize(Decimal('0.01')):,}"


def describe_cost(config: KitConfig, prices: dict[tuple[str, str], DatedPrice] | None = None) -> list[str]:
    """Lines for `make synth`: the instance-hours, and the price where the dated table has one."""
    table = PRICES if prices is None else prices
    hours = instance_hours(config)
    lines = [f"Cost: {hours.describe()}"]
    for instance_type in (hours.instance_type, *hours.fallbacks):
        price = table.get((instance_type, config.region)) if config.region else None
        if price is None:
            where = config.region or "any region (region is unset)"
            lines.append(
                f"  price: the kit has no dated price for {instance_type} in {where}; "
                "`make preflight` reads it from the AWS Price List API"
            )
            continue
        on = f" on {instance_type}" if hours.fallbacks else ""
        lines.append(
            f"  {usd(price.usd_per_hour * hours.initial)} per hour while in service{on} "
            f"({usd(price.usd_per_hour)} per instance-hour in {config.region}, on demand; "
            f"{price.source}, {price.as_of.isoformat()})"
        )
    return lines
