"""The existing VPC of vpc.subnet_ids: the subnets and security groups exist, in one VPC, in two zones."""

from __future__ import annotations

import re

from botocore.exceptions import ClientError

from sagemaker_openai.preflight.report import Context, Finding, error_code, needs, ok, problem

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
