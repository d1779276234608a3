"""What the deployment under test is and costs: instances from the control plane, price from the Price List.

The instance type and count come from DescribeEndpoint and DescribeEndpointConfig (with `instance_pools`,
from the pool whose instances are running); the vLLM flags from the
container environment (SM_VLLM_* variables) of the model or inference component. The hourly price is the
on-demand SageMaker hosting price the pre-flight reads (sagemaker_openai.preflight.pricing), or the one
given with --price-per-hour. Each read that is not allowed (the invoker role may only call the endpoint)
becomes a note, and the figures it would have fed are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import botocore.exceptions

if TYPE_CHECKING:
    import boto3

_VLLM_PREFIX = "SM_VLLM_"


@dataclass(frozen=True)
class Deployment:
    """The instances serving the model, and the vLLM flags its container was started with."""

    instance_type: str | None = None
    instance_count: int | None = None
    vllm_flags: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HourlyPrice:
    usd_per_instance_hour: Decimal
    source: str


def describe_deployment(
    session: boto3.Session, region: str, endpoint_name: str, component: str | None
) -> Deployment:
    """The endpoint's instances and flags; a Deployment of notes when the reads are not allowed."""
    client: Any = session.client("sagemaker", region_name=region)
    try:
        endpoint = client.describe_endpoint(EndpointName=endpoint_name)
        config = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        configured = config["ProductionVariants"][0]
        serving = (endpoint.get("ProductionVariants") or [{}])[0]
        count = serving.get("CurrentInstanceCount", configured.get("InitialInstanceCount"))
        environment = _environment(client, configured, component)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, KeyError, IndexError) as exc:
        return Deployment(
            notes=(
                f"could not read endpoint {endpoint_name}'s instances ({_reason(exc)}); "
                "pass --instance-type and --instance-count to price it",
            )
        )
    flags = {
        name.removeprefix(_VLLM_PREFIX).lower(): value
        for name, value in sorted(environment.items())
        if name.startswith(_VLLM_PREFIX)
    }
    if "InstancePools" not in configured:
        return Deployment(configured.get("InstanceType"), count, flags)
    return _from_pools(endpoint_name, serving, flags)


def _from_pools(endpoint_name: str, serving: dict[str, Any], flags: dict[str, str]) -> Deployment:
    """A variant with instance pools names no type: the type is that of the pool with running instances."""
    running = [
        (str(pool.get("InstanceType")), int(pool["CurrentInstanceCount"]))
        for pool in serving.get("InstancePools", [])
        if pool.get("CurrentInstanceCount")
    ]
    if len(running) == 1:
        return Deployment(running[0][0], running[0][1], flags)
    found = ", ".join(f"{count} x {name}" for name, count in running) or "no pool reports instances"
    return Deployment(
        vllm_flags=flags,
        notes=(
            f"endpoint {endpoint_name} runs on instance pools ({found}); pass --instance-type and "
            "--instance-count to price one type, or --price-per-hour with the mix's total and "
            "--instance-count 1",
        ),
    )


def _environment(client: Any, variant: dict[str, Any], component: str | None) -> dict[str, str]:
    if component is not None:
        described = client.describe_inference_component(InferenceComponentName=component)
        return dict(described.get("Specification", {}).get("Container", {}).get("Environment", {}))
    model = client.describe_model(ModelName=variant["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return dict(container.get("Environment", {}))


def list_price(
    session: boto3.Session, instance_type: str, region: str
) -> tuple[HourlyPrice | None, str | None]:
    """The on-demand price per instance-hour from the AWS Price List API, or a note saying why not."""
    from sagemaker_openai.preflight.pricing import PRICING_REGION, hosting_hourly_price  # noqa: PLC0415

    client: Any = session.client("pricing", region_name=PRICING_REGION)
    try:
        found = hosting_hourly_price(client, instance_type, region)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        return None, f"could not read the Price List API ({_reason(exc)}); pass --price-per-hour"
    if found is None:
        return (
            None,
            f"the Price List API lists no hosting price for {instance_type} in {region}; "
            "pass --price-per-hour",
        )
    price, published = found
    return HourlyPrice(price, f"AWS Price List API, on demand, {region}, published {published}"), None


def usd_per_million_output_tokens(usd_per_hour: Decimal, output_tokens_per_second: float) -> float | None:
    """What a million output tokens cost at this throughput, with the instances billed by the hour."""
    if output_tokens_per_second <= 0:
        return None
    return float(usd_per_hour) / 3600 / output_tokens_per_second * 1_000_000


def _reason(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
