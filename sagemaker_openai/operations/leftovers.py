"""What the kit left in an account and region: stacks past their expiry or stuck in DELETE_FAILED or
ROLLBACK_FAILED, and tagged resources whose stack is gone. Read-only: the calls are
``sagemaker_openai.preflight.actions.LEFTOVERS_READ_ACTIONS``.

The tagging API's index lags: a resource deleted a moment ago is still listed for a while. So each
candidate it lists is described before it is reported, and one that is gone (or goes while this runs)
is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagemaker_openai.naming.tags import EXPIRES_AT_FORMAT, EXPIRES_AT_TAG, KIT_TAG, REGION_TAG

if TYPE_CHECKING:
    import boto3

# Stack states CloudFormation gives up in: the stack stays, with whatever it could not delete or roll back.
STUCK_STACK_STATUSES = frozenset({"DELETE_FAILED", "ROLLBACK_FAILED"})

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
    found = [*_stuck_or_expired_stacks(stacks, now()), *_orphaned_resources(session, region, live)]
    found += _orphaned_roles(session, region, live)
    return sorted(found, key=lambda item: (item.kind != "stack", item.kind, item.name))


def _stacks(session: boto3.Session, region: str) -> Iterator[Any]:
    client = session.client("cloudformation", region_name=region)
    for page in client.get_paginator("describe_stacks").paginate():
        yield from page["Stacks"]


def _tags(items: Iterable[Any]) -> dict[str, str]:
    return {str(tag["Key"]): str(tag["Value"]) for tag in items}


def _stuck_or_expired_stacks(stacks: list[dict[str, Any]], now: datetime) -> Iterator[Leftover]:
    for stack in stacks:
        tags = _tags(stack.get("Tags", []))
        name, status = stack["StackName"], stack["StackStatus"]
        if status in STUCK_STACK_STATUSES and (KIT_TAG in tags or EXPIRES_AT_TAG in tags):
            reason = stack.get("StackStatusReason")
            yield Leftover("stack", name, name, f"{status}: {reason}" if reason else status)
            continue
        stamp = tags.get(EXPIRES_AT_TAG)
        if stamp is None:
            continue
        try:
            expiry = datetime.strptime(stamp, EXPIRES_AT_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            yield Leftover("stack", name, name, f"unreadable expiry {stamp!r}")
            continue
        if expiry <= now:
            yield Leftover("stack", name, name, f"expired at {stamp}, still {status}")


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
            if _still_exists(session, region, kind, name):
                yield Leftover(kind, name, stack, "its stack no longer exists")


def _orphaned_roles(session: boto3.Session, region: str, live: set[str]) -> Iterator[Leftover]:
    iam = session.client("iam", region_name=region)
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role.get("Path", "/").startswith(_SERVICE_ROLE_PATH):
                continue
            try:
                tags = _tags(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])
            except ClientError as exc:
                if _error_code(exc) == "NoSuchEntity":  # deleted since it was listed
                    continue
                raise
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


# How to describe each SageMaker kind the tagging API lists: (operation, name parameter).
_DESCRIBE = {
    "sagemaker endpoint": ("describe_endpoint", "EndpointName"),
    "sagemaker endpoint-config": ("describe_endpoint_config", "EndpointConfigName"),
    "sagemaker model": ("describe_model", "ModelName"),
    "sagemaker inference-component": ("describe_inference_component", "InferenceComponentName"),
}


def _still_exists(session: boto3.Session, region: str, kind: str, name: str) -> bool:
    """Whether the resource the tagging index lists is still there; an unknown kind is taken as there."""
    try:
        if kind == "log group":
            logs = session.client("logs", region_name=region)
            groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
            return any(group.get("logGroupName") == name for group in groups)
        if kind not in _DESCRIBE:
            return True
        operation, parameter = _DESCRIBE[kind]
        getattr(session.client("sagemaker", region_name=region), operation)(**{parameter: name})
    except ClientError as exc:
        if _is_not_found(exc):
            return False
        raise
    return True


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_not_found(exc: ClientError) -> bool:
    # SageMaker answers a missing resource with ValidationException "Could not find ..."; CloudWatch Logs
    # with ResourceNotFoundException.
    code = _error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return code in {"ResourceNotFoundException", "ResourceNotFound", "NoSuchEntity"} or (
        code in {"ValidationException", "ValidationError"} and "could not find" in message.lower()
    )
