"""What the kit left in an account and region: stacks past their expiry, and tagged resources whose stack
is gone. Read-only: DescribeStacks, tag:GetResources, iam:ListRoles and iam:ListRoleTags."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagemaker_openai.tags import EXPIRES_AT_FORMAT, EXPIRES_AT_TAG, KIT_TAG, REGION_TAG

if TYPE_CHECKING:
    import boto3

# What the kit's stacks create that bills or clutters; IAM roles are listed through IAM (the tagging
# API's GetResources does not cover IAM roles).
TAGGED_TYPES = (
    "sagemaker:endpoint",
    "sagemaker:endpoint-config",
    "sagemaker:model",
    "sagemaker:inference-component",
    "logs:log-group",
)
_SERVICE_ROLE_PATH = "/aws-service-role/"


@dataclass(frozen=True)
class Leftover:
    kind: str
    name: str
    stack: str
    reason: str


def find_leftovers(
    session: boto3.Session, region: str, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> list[Leftover]:
    """Every leftover in ``region``, stacks first, then resources by kind and name."""
    stacks = list(_stacks(session, region))
    live = {stack["StackName"] for stack in stacks}
    found = [*_expired_stacks(stacks, now()), *_orphaned_resources(session, region, live)]
    found += _orphaned_roles(session, region, live)
    return sorted(found, key=lambda item: (item.kind != "stack", item.kind, item.name))


def _stacks(session: boto3.Session, region: str) -> Iterator[Any]:
    client = session.client("cloudformation", region_name=region)
    for page in client.get_paginator("describe_stacks").paginate():
        yield from page["Stacks"]


def _tags(items: Iterable[Any]) -> dict[str, str]:
    return {str(tag["Key"]): str(tag["Value"]) for tag in items}


def _expired_stacks(stacks: list[dict[str, Any]], now: datetime) -> Iterator[Leftover]:
    for stack in stacks:
        stamp = _tags(stack.get("Tags", [])).get(EXPIRES_AT_TAG)
        if stamp is None:
            continue
        try:
            expiry = datetime.strptime(stamp, EXPIRES_AT_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            yield Leftover("stack", stack["StackName"], stack["StackName"], f"unreadable expiry {stamp!r}")
            continue
        if expiry <= now:
            reason = f"expired at {stamp}, still {stack['StackStatus']}"
            yield Leftover("stack", stack["StackName"], stack["StackName"], reason)


def _orphaned_resources(session: boto3.Session, region: str, live: set[str]) -> Iterator[Leftover]:
    client = session.client("resourcegroupstaggingapi", region_name=region)
    pages = client.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": KIT_TAG}], ResourceTypeFilters=list(TAGGED_TYPES)
    )
    for page in pages:
        for mapping in page["ResourceTagMappingList"]:
            stack = _tags(mapping.get("Tags", [])).get(KIT_TAG, "")
            if stack in live:
                continue
            kind, name = _kind_and_name(mapping["ResourceARN"])
            yield Leftover(kind, name, stack, "its stack no longer exists")


def _orphaned_roles(session: boto3.Session, region: str, live: set[str]) -> Iterator[Leftover]:
    iam = session.client("iam", region_name=region)
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role.get("Path", "/").startswith(_SERVICE_ROLE_PATH):
                continue
            tags = _tags(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])
            stack = tags.get(KIT_TAG)
            if stack is None or stack in live or tags.get(REGION_TAG) != region:
                continue
            yield Leftover("iam role", role["RoleName"], stack, "its stack no longer exists")


def _kind_and_name(arn: str) -> tuple[str, str]:
    """``arn:aws:sagemaker:r:a:endpoint/x`` gives ("sagemaker endpoint", "x"); log groups keep their path."""
    service, resource = arn.split(":")[2], arn.split(":", 5)[5]
    if service == "logs":
        return "log group", resource.removeprefix("log-group:").removesuffix(":*")
    kind, _, name = resource.partition("/")
    return f"{service} {kind}", name
