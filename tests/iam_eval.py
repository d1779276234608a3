"""A small IAM policy evaluator for the subset the kit's templates use, to test escalation paths offline.

It follows AWS's evaluation logic for one account (IAM user guide, "Policy evaluation logic"): an
explicit Deny in any policy wins; otherwise the identity policies must Allow, and when the principal has
a permissions boundary, the boundary must Allow too. Supported: Effect, Action/NotAction and
Resource/NotResource with ``*`` and ``?`` wildcards (actions case-blind, resources case-sensitive), and
the condition operators StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike,
ArnNotEquals, ArnNotLike, Bool and Null, each with an optional ``ForAllValues:``/``ForAnyValue:`` prefix.
Condition keys are case-blind; a key missing from the request makes a positive operator false and a
negated one true, as AWS documents. Anything else raises, so a test can never pass on an unread clause.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

Statement = Mapping[str, Any]
ContextValue = str | Sequence[str]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: the action, the resource ARN, and the request context's keys."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run, ``/`` and ``:`` included) and ``?`` (one character) wildcards."""
    return _wildcard(pattern, ignore_case).match(value) is not None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


_STRING_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringLike": (matches, False),
    "StringNotLike": (matches, True),
    "ArnEquals": (lambda p, v: p == v, False),
    "ArnNotEquals": (lambda p, v: p == v, True),
    "ArnLike": (matches, False),
    "ArnNotLike": (matches, True),
    "Bool": (lambda p, v: p.lower() == v.lower(), False),
}


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, ContextValue]) -> bool:
    present = {k.lower(): v for k, v in context.items()}
    value = present.get(key.lower())
    if operator == "Null":
        (want_absent,) = {str(e).lower() for e in _as_list(expected)}
        return (value is None) == (want_absent == "true")
    qualifier, _, base = operator.rpartition(":")
    if base not in _STRING_OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")
    compare, negated = _STRING_OPERATORS[base]
    patterns = [str(e) for e in _as_list(expected)]

    def one(v: str) -> bool:
        hit = any(compare(p, v) for p in patterns)
        return not hit if negated else hit

    if value is None:
        return qualifier == "ForAllValues" or (negated and qualifier == "")
    values = [str(v) for v in _as_list(value)]
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if len(values) != 1:
        raise ValueError(f"{key} has several values; use ForAllValues or ForAnyValue with {operator}")
    return one(values[0])


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]
) -> bool:
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, keys in conditions.items()
        for key, expected in keys.items()
    )


def _matches_field(statement: Statement, name: str, value: str, *, ignore_case: bool) -> bool:
    if name in statement:
        return any(matches(str(p), value, ignore_case=ignore_case) for p in _as_list(statement[name]))
    negated = f"Not{name}"
    if negated in statement:
        return not any(matches(str(p), value, ignore_case=ignore_case) for p in _as_list(statement[negated]))
    raise ValueError(f"statement has neither {name} nor Not{name}: {statement}")


def statement_applies(statement: Statement, request: Request) -> bool:
    unknown = set(statement) - {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
    if unknown:
        raise ValueError(f"statement elements {sorted(unknown)} are not supported by this evaluator")
    return (
        _matches_field(statement, "Action", request.action, ignore_case=True)
        and _matches_field(statement, "Resource", request.resource, ignore_case=False)
        and _conditions_hold(statement.get("Condition", {}), request.context)
    )


def evaluate(statements: Sequence[Statement], request: Request) -> Decision:
    """The decision of one set of statements (a policy, or several policies of one kind) alone."""
    applying = [s for s in statements if statement_applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applying):
        return Decision.EXPLICIT_DENY
    if any(s["Effect"] == "Allow" for s in applying):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def decide(
    identity: Sequence[Statement], request: Request, *, boundary: Sequence[Statement] | None = None
) -> Decision:
    """A principal's decision: its identity policies, capped by its permissions boundary when it has one."""
    decisions = [evaluate(identity, request)]
    if boundary is not None:
        decisions.append(evaluate(boundary, request))
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    if all(d is Decision.ALLOW for d in decisions):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY
