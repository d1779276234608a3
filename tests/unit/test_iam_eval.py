"""The test-side IAM evaluator: each rule of AWS's evaluation logic that the escalation tests lean on."""

from typing import Any

import pytest

from tests.iam_eval import Decision, Request, decide, evaluate, matches

ROLE = "arn:aws:iam::123456789012:role/sagemaker-openai/app-Role-X"
BOUNDARY = "arn:aws:iam::123456789012:policy/kit-boundary"


def _allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*", **extra}


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:iam::*:role/sagemaker-openai/*", ROLE, True),
        ("arn:aws:iam::*:role/sagemaker-openai/*", "arn:aws:iam::123456789012:role/Admin", False),
        (
            "arn:aws:logs:*:*:log-group:/aws/sagemaker/*",
            "arn:aws:logs:r:1:log-group:/aws/sagemaker/E/x:log-stream:s",
            True,
        ),
        ("iam:?reateRole", "iam:CreateRole", True),
        ("a.b", "axb", False),
    ],
)
def test_wildcards_match_across_slashes_and_colons_but_nothing_else(
    pattern: str, value: str, expected: bool
) -> None:
    assert matches(pattern, value) is expected


def test_actions_are_case_blind_and_resources_are_not() -> None:
    statement = {"Effect": "Allow", "Action": "IAM:createrole", "Resource": ROLE}
    assert evaluate([statement], Request("iam:CreateRole", ROLE)) is Decision.ALLOW
    assert evaluate([statement], Request("iam:CreateRole", ROLE.upper())) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}
    assert evaluate([_allow(), deny], Request("iam:CreateRole", ROLE)) is Decision.EXPLICIT_DENY


def test_not_action_and_not_resource_invert_the_match() -> None:
    statement = {"Effect": "Allow", "NotAction": "iam:*", "NotResource": ROLE}
    assert evaluate([statement], Request("s3:GetObject", "arn:aws:s3:::b/k")) is Decision.ALLOW
    assert evaluate([statement], Request("iam:GetRole", "arn:aws:s3:::b/k")) is Decision.IMPLICIT_DENY
    assert evaluate([statement], Request("s3:GetObject", ROLE)) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        (
            {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
            {"iam:PermissionsBoundary": BOUNDARY},
            True,
        ),
        ({"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}}, {}, False),
        (
            {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
            {"iam:permissionsboundary": BOUNDARY},
            True,
        ),
        ({"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY}}, {}, True),
        ({"StringLike": {"s3:prefix": ["a/", "a/*"]}}, {"s3:prefix": "a/b"}, True),
        (
            {"ArnLike": {"iam:PolicyARN": "arn:aws:iam::1:policy/kit/*"}},
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
            False,
        ),
        ({"Null": {"aws:RequestTag/k": "false"}}, {"aws:RequestTag/k": "v"}, True),
        ({"Null": {"aws:RequestTag/k": "false"}}, {}, False),
        ({"Null": {"aws:RequestTag/k": "true"}}, {}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["k"]}}, {"aws:TagKeys": ["x", "k"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["k"]}}, {}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["k"]}}, {"aws:TagKeys": ["x", "k"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["k"]}}, {}, True),
        # Several operators, and several keys of one operator, must all hold.
        ({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1"}, False),
        ({"StringEquals": {"a": "1"}, "Null": {"b": "false"}}, {"a": "1", "b": "x"}, True),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    decision = evaluate([_allow(Condition=condition)], Request("iam:CreateRole", ROLE, context))
    assert (decision is Decision.ALLOW) is expected


def test_a_boundary_caps_the_identity_policy_and_its_deny_counts() -> None:
    admin = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    boundary = [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}]
    assert decide(admin, Request("iam:CreateRole", ROLE), boundary=boundary) is Decision.IMPLICIT_DENY
    assert decide(admin, Request("sagemaker:InvokeEndpoint", "x"), boundary=boundary) is Decision.ALLOW
    assert decide(admin, Request("iam:CreateRole", ROLE)) is Decision.ALLOW
    deny = [*boundary, {"Effect": "Deny", "Action": "*", "Resource": "x"}]
    assert decide(admin, Request("sagemaker:InvokeEndpoint", "x"), boundary=deny) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    "statement",
    [
        _allow(Condition={"NumericLessThan": {"a": "1"}}),
        _allow(Principal={"AWS": "*"}),
        {"Effect": "Allow", "Action": "iam:CreateRole"},
    ],
)
def test_an_unsupported_clause_raises_rather_than_passing(statement: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"not supported|neither"):
        evaluate([statement], Request("iam:CreateRole", ROLE, {"a": "0"}))
