"""`sagemaker-openai leftovers` against botocore stubs: what it lists, its table, JSON and exit status."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli.main import run
from sagemaker_openai.operations.leftovers import TAGGED_TYPES, Leftover, find_leftovers

from .helpers import REGION, StubbedSession, aws_client

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


@dataclass
class Aws:
    session: StubbedSession
    cloudformation: Stubber
    tagging: Stubber
    iam: Stubber
    sagemaker: Stubber
    logs: Stubber


@pytest.fixture
def aws() -> Iterator[Aws]:
    clients = {
        "cloudformation": aws_client("cloudformation"),
        "resourcegroupstaggingapi": aws_client("resourcegroupstaggingapi"),
        "iam": aws_client("iam"),
        "sagemaker": aws_client("sagemaker"),
        "logs": aws_client("logs"),
    }
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield Aws(
        StubbedSession(**clients),
        stubbers["cloudformation"],
        stubbers["resourcegroupstaggingapi"],
        stubbers["iam"],
        stubbers["sagemaker"],
        stubbers["logs"],
    )
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _stack(name: str, tags: dict[str, str], status: str = "CREATE_COMPLETE") -> dict[str, Any]:
    return {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/id",
        "CreationTime": NOW,
        "StackStatus": status,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


def _mapping(arn: str, stack: str) -> dict[str, Any]:
    return {"ResourceARN": arn, "Tags": [{"Key": "sagemaker-openai:stack", "Value": stack}]}


def _role(name: str, path: str = "/") -> dict[str, Any]:
    return {
        "Path": path,
        "RoleName": name,
        "RoleId": "AROAEXAMPLEEXAMPLE01",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        "CreateDate": NOW,
    }


def _script(
    aws: Aws,
    *,
    stacks: list[dict[str, Any]],
    tagged: list[dict[str, Any]],
    roles: dict[str, Any],
    gone: frozenset[str] = frozenset(),
) -> None:
    """Script the calls in order; a tagged resource of a deleted stack is described, and answers as
    deleted when its name is in `gone` (the tagging index still lists it)."""
    aws.cloudformation.add_response("describe_stacks", {"Stacks": stacks}, {})
    aws.tagging.add_response(
        "get_resources",
        {"ResourceTagMappingList": tagged},
        {"TagFilters": [{"Key": "sagemaker-openai:stack"}], "ResourceTypeFilters": list(TAGGED_TYPES)},
    )
    live = {stack["StackName"] for stack in stacks}
    for mapping in tagged:
        if mapping["Tags"][0]["Value"] not in live:
            _describe(aws, mapping["ResourceARN"], deleted=mapping["ResourceARN"].rsplit("/", 1)[-1] in gone)
    aws.iam.add_response("list_roles", {"Roles": [role for role, _ in roles.values()]}, {})
    for name, (role, tags) in roles.items():
        if role["Path"].startswith("/aws-service-role/"):
            continue
        if name in gone:
            aws.iam.add_client_error(
                "list_role_tags", "NoSuchEntity", f"The role {name} cannot be found.", 404
            )
            continue
        aws.iam.add_response(
            "list_role_tags",
            {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
            {"RoleName": name},
        )


_DESCRIBE = {
    "endpoint": ("describe_endpoint", "EndpointName", "endpoint"),
    "endpoint-config": ("describe_endpoint_config", "EndpointConfigName", "endpoint configuration"),
    "model": ("describe_model", "ModelName", "model"),
    "inference-component": ("describe_inference_component", "InferenceComponentName", "inference component"),
}


def _describe(aws: Aws, arn: str, *, deleted: bool) -> None:
    resource = arn.split(":", 5)[5]
    if resource.startswith("log-group:"):
        name = resource.removeprefix("log-group:")
        groups = [] if deleted else [{"logGroupName": name}, {"logGroupName": f"{name}-other"}]
        aws.logs.add_response("describe_log_groups", {"logGroups": groups}, {"logGroupNamePrefix": name})
        return
    kind, _, name = resource.partition("/")
    operation, parameter, what = _DESCRIBE[kind]
    if deleted:
        message = f'Could not find {what} "{arn}".'
        aws.sagemaker.add_client_error(operation, "ValidationException", message, 400)
    else:
        aws.sagemaker.add_response(operation, _DESCRIBED[operation](name), {parameter: name})


_DESCRIBED = {
    "describe_endpoint": lambda name: {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
        "EndpointStatus": "InService",
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    },
    "describe_model": lambda name: {
        "ModelName": name,
        "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name}",
        "CreationTime": NOW,
    },
}


def _scenario(aws: Aws) -> None:
    kit = {"sagemaker-openai:region": REGION}
    _script(
        aws,
        stacks=[
            _stack("old-ci", {"sagemaker-openai:expires-at": "2026-12-01T11:59:59Z"}, "CREATE_IN_PROGRESS"),
            _stack("fresh-ci", {"sagemaker-openai:expires-at": "2026-12-01T18:00:00Z"}),
            _stack("qwen3-4b", {"sagemaker-openai:stack": "qwen3-4b"}),
        ],
        tagged=[
            _mapping(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/gone-ci", "gone-ci"),
            _mapping(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/llmmodel-abc", "gone-ci"),
            _mapping(
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/gone-ci", "gone-ci"
            ),
            _mapping(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/qwen3-4b", "qwen3-4b"),
        ],
        roles={
            "gone-ci-InvokerRole-X": (
                _role("gone-ci-InvokerRole-X"),
                {"sagemaker-openai:stack": "gone-ci", **kit},
            ),
            "qwen3-4b-InvokerRole-Y": (
                _role("qwen3-4b-InvokerRole-Y"),
                {"sagemaker-openai:stack": "qwen3-4b", **kit},
            ),
            "other-region-Role-Z": (
                _role("other-region-Role-Z"),
                {"sagemaker-openai:stack": "gone", "sagemaker-openai:region": "eu-west-1"},
            ),
            "unrelated": (_role("unrelated"), {"team": "ml"}),
            "AWSServiceRoleForX": (_role("AWSServiceRoleForX", "/aws-service-role/x.amazonaws.com/"), {}),
        },
    )


def test_lists_expired_stacks_and_resources_whose_stack_is_gone(aws: Aws) -> None:
    _scenario(aws)
    assert find_leftovers(aws.session, REGION, now=lambda: NOW) == [
        Leftover("stack", "old-ci", "old-ci", "expired at 2026-12-01T11:59:59Z, still CREATE_IN_PROGRESS"),
        Leftover("iam role", "gone-ci-InvokerRole-X", "gone-ci", "its stack no longer exists"),
        Leftover("log group", "/aws/sagemaker/Endpoints/gone-ci", "gone-ci", "its stack no longer exists"),
        Leftover("sagemaker endpoint", "gone-ci", "gone-ci", "its stack no longer exists"),
        Leftover("sagemaker model", "llmmodel-abc", "gone-ci", "its stack no longer exists"),
    ]


def _cli(aws: Aws, *argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    ctx = CliContext(stdout=stdout, stderr=stderr, session_factory=lambda _profile: aws.session)
    code = run(["leftovers", "--region", REGION, *argv], ctx)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_table_and_exit_status_1(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    _scenario(aws)
    monkeypatch.setattr("sagemaker_openai.operations.leftovers.datetime", _FrozenDatetime)
    code, out, err = _cli(aws)
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "STACK", "WHY"]
    assert lines[1].split()[:3] == ["stack", "old-ci", "old-ci"]
    assert lines[-1] == f"leftovers: 5 in {REGION}"
    assert len(lines) == 7


def test_json_for_scripts(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    _scenario(aws)
    monkeypatch.setattr("sagemaker_openai.operations.leftovers.datetime", _FrozenDatetime)
    code, out, _ = _cli(aws, "--json")
    document = json.loads(out)
    assert code == 1
    assert document["region"] == REGION
    assert document["leftovers"][0] == {
        "kind": "stack",
        "name": "old-ci",
        "stack": "old-ci",
        "reason": "expired at 2026-12-01T11:59:59Z, still CREATE_IN_PROGRESS",
    }


def test_nothing_left_exits_0(aws: Aws) -> None:
    _script(aws, stacks=[], tagged=[], roles={})
    assert _cli(aws) == (0, f"leftovers: nothing in {REGION}\n", "")


def test_an_aws_error_is_one_line_and_exit_status_2(aws: Aws) -> None:
    aws.cloudformation.add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)
    code, out, err = _cli(aws)
    assert (code, out) == (2, "")
    assert err.startswith("Error: AWS call failed: An error occurred (AccessDenied)")
    assert err.endswith("; the leftover check did not finish\n")
    assert err.count("\n") == 1
    aws.tagging.assert_no_pending_responses()


def test_a_denied_confirmation_is_an_error_not_a_clean_account(aws: Aws) -> None:
    aws.cloudformation.add_response("describe_stacks", {"Stacks": []}, {})
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/gone-ci"
    aws.tagging.add_response("get_resources", {"ResourceTagMappingList": [_mapping(endpoint, "gone-ci")]})
    aws.sagemaker.add_client_error("describe_endpoint", "AccessDeniedException", "not authorized", 400)
    code, out, err = _cli(aws)
    assert (code, out) == (2, "")
    assert "AccessDeniedException" in err


def test_a_resource_the_stale_index_still_lists_is_not_reported(aws: Aws) -> None:
    """The tagging index lists resources for a while after their delete; each is described first."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/gone-ci"
    _script(
        aws,
        stacks=[],
        tagged=[
            _mapping(f"{arn}:endpoint/gone-ci", "gone-ci"),
            _mapping(f"{arn}:endpoint-config/cfg-1", "gone-ci"),
            _mapping(f"{arn}:model/llmmodel-abc", "gone-ci"),
            _mapping(f"{arn}:inference-component/gone-ci-chat", "gone-ci"),
            _mapping(log_group, "gone-ci"),
        ],
        roles={
            "gone-ci-InvokerRole-X": (
                _role("gone-ci-InvokerRole-X"),
                {"sagemaker-openai:stack": "gone-ci", "sagemaker-openai:region": REGION},
            ),
        },
        # Everything is deleted but the model; the role goes between ListRoles and ListRoleTags.
        gone=frozenset(
            {"gone-ci", "cfg-1", "gone-ci-chat", "/aws/sagemaker/Endpoints/gone-ci", "gone-ci-InvokerRole-X"}
        ),
    )
    assert find_leftovers(aws.session, REGION, now=lambda: NOW) == [
        Leftover("sagemaker model", "llmmodel-abc", "gone-ci", "its stack no longer exists")
    ]


def test_stacks_of_the_kit_stuck_in_delete_or_rollback_failed_are_reported(aws: Aws) -> None:
    kit = {"sagemaker-openai:stack": "x"}
    stuck = _stack("stuck-delete", kit, "DELETE_FAILED")
    stuck["StackStatusReason"] = "The following resource(s) failed to delete: [ModelSubnet1]."
    _script(
        aws,
        stacks=[
            stuck,
            _stack("stuck-rollback", kit, "ROLLBACK_FAILED"),
            # An expired stack whose delete failed is listed once, for the failure.
            _stack(
                "expired-failed",
                {"sagemaker-openai:expires-at": "2026-12-01T11:00:00Z", **kit},
                "DELETE_FAILED",
            ),
            _stack("not-the-kits", {"team": "ml"}, "DELETE_FAILED"),
            _stack("healthy", kit, "UPDATE_COMPLETE"),
        ],
        tagged=[],
        roles={},
    )
    assert find_leftovers(aws.session, REGION, now=lambda: NOW) == [
        Leftover("stack", "expired-failed", "expired-failed", "DELETE_FAILED"),
        Leftover(
            "stack",
            "stuck-delete",
            "stuck-delete",
            "DELETE_FAILED: The following resource(s) failed to delete: [ModelSubnet1].",
        ),
        Leftover("stack", "stuck-rollback", "stuck-rollback", "ROLLBACK_FAILED"),
    ]


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:
        return cls.fromtimestamp(NOW.timestamp(), tz)
