"""The existing VPC of vpc.subnet_ids: the subnets and security groups exist, in one VPC, in two zones, and
the subnets' route tables reach the weights (an S3 gateway endpoint, or a NAT route for the Hub)."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_openai.preflight.report import Context, Finding, error_code, info, needs, ok, problem

_ID = re.compile(r"(?:subnet|sg)-[0-9a-f]+")


def _missing_ids(exc: ClientError) -> str:
    return ", ".join(_ID.findall(str(exc.response.get("Error", {}).get("Message", "")))) or "some"


def check_vpc(ctx: Context) -> list[Finding]:
    vpc = ctx.config.vpc
    if vpc is None or vpc.create:
        return []
    name = "vpc"
    ec2 = ctx.client("ec2")
    findings: list[Finding] = []
    try:
        with needs("ec2:DescribeSubnets"):
            subnets = ec2.describe_subnets(SubnetIds=vpc.subnet_ids)["Subnets"]
    except ClientError as exc:
        if error_code(exc) != "InvalidSubnetID.NotFound":
            raise
        return [
            problem(name, f"subnet(s) {_missing_ids(exc)} do not exist in {ctx.region}; fix vpc.subnet_ids")
        ]
    try:
        with needs("ec2:DescribeSecurityGroups"):
            groups = ec2.describe_security_groups(GroupIds=vpc.security_group_ids)["SecurityGroups"]
    except ClientError as exc:
        if error_code(exc) != "InvalidGroup.NotFound":
            raise
        return [
            problem(
                name,
                f"security group(s) {_missing_ids(exc)} do not exist in {ctx.region}; fix "
                "vpc.security_group_ids",
            )
        ]
    zones = sorted({s["AvailabilityZone"] for s in subnets})
    vpcs = sorted({s["VpcId"] for s in subnets} | {g["VpcId"] for g in groups})
    if len(zones) < 2:
        findings.append(
            problem(
                name,
                f"the subnets are all in {zones[0]}; SageMaker needs subnets in at least two Availability "
                "Zones: add a subnet of another zone to vpc.subnet_ids",
            )
        )
    if len(vpcs) > 1:
        findings.append(
            problem(
                name,
                f"the subnets and security groups belong to several VPCs ({', '.join(vpcs)}); use one VPC's",
            )
        )
    return findings or [ok(name, f"{len(subnets)} subnets in {', '.join(zones)} of {vpcs[0]}")]


_ANYWHERE = "0.0.0.0/0"


def _route_table_of(tables: list[dict[str, Any]], subnet: dict[str, Any]) -> dict[str, Any] | None:
    """The subnet's route table: the one associated with it, else its VPC's main table."""
    for table in tables:
        if any(a.get("SubnetId") == subnet["SubnetId"] for a in table.get("Associations", [])):
            return table
    for table in tables:
        if table.get("VpcId") == subnet["VpcId"] and any(
            a.get("Main") for a in table.get("Associations", [])
        ):
            return table
    return None


def _default_route(table: dict[str, Any]) -> dict[str, Any] | None:
    routes: list[dict[str, Any]] = table.get("Routes", [])
    for route in routes:
        if route.get("DestinationCidrBlock") == _ANYWHERE and route.get("State", "active") == "active":
            return route
    return None


def _s3_gateway_tables(ctx: Context, vpc_ids: list[str]) -> set[str]:
    with needs("ec2:DescribeVpcEndpoints"):
        endpoints = ctx.client("ec2").describe_vpc_endpoints(
            Filters=[
                {"Name": "vpc-id", "Values": vpc_ids},
                {"Name": "vpc-endpoint-type", "Values": ["Gateway"]},
            ]
        )["VpcEndpoints"]
    # com.amazonaws.<region>.s3, or cn.com.amazonaws.<region>.s3 in China.
    return {
        table
        for endpoint in endpoints
        if str(endpoint.get("ServiceName", "")).endswith(f".{ctx.region}.s3")
        and endpoint.get("State", "available").lower() == "available"
        for table in endpoint.get("RouteTableIds", [])
    }


def check_routes(ctx: Context) -> list[Finding]:
    """Existing subnets must reach the weights: S3 through a gateway endpoint, the Hub through a NAT route.

    SageMaker's network interfaces in the subnets get no public IP, so an internet gateway route alone
    does not reach the Hugging Face Hub; an S3 gateway endpoint on the subnet's route table reaches S3
    (a NAT route does too, at a per-GB charge).
    """
    vpc = ctx.config.vpc
    if vpc is None or vpc.create:
        return []
    specs = [model for _, model in ctx.config.model_specs()]
    s3_weights, hub_weights = any(m.s3_uri for m in specs), any(m.hf_model_id for m in specs)
    name = "vpc routes"
    ec2 = ctx.client("ec2")
    try:
        with needs("ec2:DescribeSubnets"):
            subnets = ec2.describe_subnets(SubnetIds=vpc.subnet_ids)["Subnets"]
    except ClientError as exc:
        if error_code(exc) != "InvalidSubnetID.NotFound":
            raise
        return []  # the vpc check names the missing subnets
    vpc_ids = sorted({s["VpcId"] for s in subnets})
    with needs("ec2:DescribeRouteTables"):
        tables = [
            table
            for page in ec2.get_paginator("describe_route_tables").paginate(
                Filters=[{"Name": "vpc-id", "Values": vpc_ids}]
            )
            for table in page.get("RouteTables", [])
        ]
    s3_tables = _s3_gateway_tables(ctx, vpc_ids) if s3_weights else set()
    findings: list[Finding] = []
    for subnet in subnets:
        subnet_id = subnet["SubnetId"]
        table = _route_table_of(tables, subnet)
        table_id = table["RouteTableId"] if table else "no route table"
        route = _default_route(table) if table else None
        nat = route is not None and bool(route.get("NatGatewayId"))
        target = next(
            (
                str(route[k])
                for k in ("TransitGatewayId", "NetworkInterfaceId", "InstanceId")
                if route and k in route
            ),
            None,
        )
        if s3_weights and table_id not in s3_tables:
            if nat:
                findings.append(
                    info(
                        name,
                        f"{subnet_id} ({table_id}) reaches S3 through its NAT gateway, billed per GB: add an "
                        "S3 gateway endpoint to that route table for the weights",
                    )
                )
            else:
                findings.append(
                    problem(
                        name,
                        f"{subnet_id} ({table_id}) has no S3 gateway endpoint and no NAT route, so SageMaker "
                        "cannot read the S3 weights through it: add a gateway endpoint for "
                        f"com.amazonaws.{ctx.region}.s3 to that route table",
                    )
                )
        if hub_weights and not nat:
            if target is not None:
                findings.append(
                    info(
                        name,
                        f"{subnet_id} ({table_id}) routes {_ANYWHERE} to {target}; the pre-flight cannot "
                        "tell whether that reaches the Hugging Face Hub",
                    )
                )
            else:
                findings.append(
                    problem(
                        name,
                        f"{subnet_id} ({table_id}) has no NAT route ({_ANYWHERE} to a NAT gateway), so the "
                        "container cannot download from the Hugging Face Hub: add one, or stage the weights "
                        "to S3 with `sagemaker-openai stage-weights`",
                    )
                )
    if findings:
        return findings
    reach = " and ".join(w for w, needed in (("S3", s3_weights), ("the internet", hub_weights)) if needed)
    return [ok(name, f"{len(subnets)} subnets reach {reach}")]
