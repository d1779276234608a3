"""The log groups the stack creates must not exist yet, unless this stack already owns them.

A group is left behind by ``logs.retain_on_delete`` or created by SageMaker itself for an earlier endpoint
or component of the same name; CloudFormation then fails the create with "already exists".
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from sagemaker_openai import naming
from sagemaker_openai.config import InferenceComponentConfig, KitConfig
from sagemaker_openai.preflight.report import Context, Finding, error_code, needs, ok, problem

ENDPOINT_LOG_GROUP = "/aws/sagemaker/Endpoints/{name}"
COMPONENT_LOG_GROUP = "/aws/sagemaker/InferenceComponents/{name}"
# The flow logs of a VPC the stack creates (constructs/vpc.py; no CDK import here).
FLOW_LOG_GROUP = "/aws/vpc/flow-logs/{name}"


def stack_log_groups(config: KitConfig) -> list[str]:
    """The names of the log groups the stack of `config` creates."""
    names = [ENDPOINT_LOG_GROUP.format(name=config.endpoint_name)]
    if isinstance(config, InferenceComponentConfig):
        names += [
            COMPONENT_LOG_GROUP.format(name=naming.inference_component_name(config.name, m.key))
            for m in config.models
        ]
    if config.vpc is not None and config.vpc.create:
        names.append(FLOW_LOG_GROUP.format(name=config.endpoint_name))
    return names


def _owned_by_stack(ctx: Context) -> set[str]:
    cloudformation = ctx.client("cloudformation")
    try:
        with needs("cloudformation:ListStackResources"):
            return {
                r.get("PhysicalResourceId", "")
                for page in cloudformation.get_paginator("list_stack_resources").paginate(
                    StackName=ctx.config.name
                )
                for r in page.get("StackResourceSummaries", [])
                if r.get("ResourceType") == "AWS::Logs::LogGroup"
            }
    except ClientError as exc:
        if error_code(exc) == "ValidationError":  # no such stack
            return set()
        raise


def check_log_groups(ctx: Context) -> list[Finding]:
    name = "log groups"
    logs = ctx.client("logs")
    existing: list[str] = []
    wanted = stack_log_groups(ctx.config)
    with needs("logs:DescribeLogGroups"):
        for group in wanted:
            found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
            existing += [g["logGroupName"] for g in found if g.get("logGroupName") == group]
    if existing:
        existing = sorted(set(existing) - _owned_by_stack(ctx))
    if not existing:
        return [ok(name, f"none of the stack's {len(wanted)} log group(s) exists outside the stack")]
    return [
        problem(
            name,
            f"{group} exists already (left by logs.retain_on_delete, or created by SageMaker for an earlier "
            f"endpoint of that name) and CloudFormation cannot create it: export what you need, then "
            f"`aws logs delete-log-group --log-group-name {group}`",
        )
        for group in existing
    ]
