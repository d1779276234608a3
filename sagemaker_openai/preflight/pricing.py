"""What the deployment costs per hour, from the AWS Price List API (SageMaker hosting, on demand)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sagemaker_openai.catalog.cost import instance_hours, usd
from sagemaker_openai.preflight.report import Context, Finding, info, needs

# The Price List API answers in a few regions only; us-east-1 serves every region's prices.
PRICING_REGION = "us-east-1"
SERVICE_CODE = "AmazonSageMaker"


def hosting_filters(instance_type: str, region: str) -> list[dict[str, str]]:
    return [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
        {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
    ]


def _hourly_prices(item: dict[str, Any]) -> list[Decimal]:
    prices = []
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            amount = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit", "").lower().startswith("hr") and amount is not None:
                prices.append(Decimal(amount))
    return [p for p in prices if p > 0]


def hourly_price(ctx: Context, instance_type: str) -> tuple[Decimal, str] | None:
    """The on-demand USD price per instance-hour and the publication date, or None when not listed."""
    with needs("pricing:GetProducts"):
        return hosting_hourly_price(ctx.client("pricing", PRICING_REGION), instance_type, ctx.region)


def hosting_hourly_price(client: Any, instance_type: str, region: str) -> tuple[Decimal, str] | None:
    """The same, with a Price List client of the caller's (`sagemaker-openai bench` prices with it too)."""
    found: list[tuple[Decimal, str]] = []
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=SERVICE_CODE,
        Filters=hosting_filters(instance_type, region),
        FormatVersion="aws_v1",
    )
    for page in pages:
        for text in page.get("PriceList", []):
            item = json.loads(text)
            published = str(item.get("publicationDate", ""))[:10]
            found += [(price, published) for price in _hourly_prices(item)]
    if not found:
        return None
    # Several SKUs may match (e.g. a usage type per operation); the highest is the safe statement.
    return max(found)


def check_cost(ctx: Context) -> list[Finding]:
    name = "cost"
    hours = instance_hours(ctx.config)
    if ctx.partition != "aws":
        return [info(name, f"{hours.describe()}; the Price List API does not cover {ctx.partition}")]
    price = hourly_price(ctx, hours.instance_type)
    if price is None:
        text = (
            f"{hours.describe()}; the Price List API lists no hosting price for "
            f"{hours.instance_type} in {ctx.region}"
        )
        return [info(name, text + _fallback_prices(ctx, hours.fallbacks))]
    rate, published = price
    text = (
        f"{usd(rate * hours.initial)} per hour while in service ({hours.initial} x {hours.instance_type} at "
        f"{usd(rate)}, on demand, AWS Price List API for {ctx.region}, published {published})"
    )
    if hours.maximum > hours.initial:
        text += f"; up to {usd(rate * hours.maximum)} per hour at {hours.maximum} instances"
    if hours.minimum == 0:
        text += "; $0.00 for instances while scaled to zero"
    return [info(name, text + _fallback_prices(ctx, hours.fallbacks))]


def _fallback_prices(ctx: Context, fallbacks: tuple[str, ...]) -> str:
    """What each `instance_pools` type costs per instance-hour, for when SageMaker launches it instead."""
    if not fallbacks:
        return ""
    prices = []
    for instance_type in fallbacks:
        price = hourly_price(ctx, instance_type)
        prices.append(f"{instance_type} {usd(price[0])}" if price else f"{instance_type} not listed")
    return f"; per instance-hour in place of it when it has no capacity (instance_pools): {', '.join(prices)}"
