"""Render a CloudFormation value built from Ref, Fn::GetAtt and Fn::Join as one string."""

from collections.abc import Callable
from typing import Any


def render_intrinsics(value: Any, name: Callable[[str], str]) -> str:
    """``name`` gets ``AWS::Region`` for a Ref and ``LogicalId.Attribute`` for a GetAtt."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        if "Ref" in value:
            return name(str(value["Ref"]))
        if "Fn::GetAtt" in value:
            return name(".".join(value["Fn::GetAtt"]))
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(render_intrinsics(part, name) for part in parts)
    raise ValueError(f"cannot render {value!r}: only Ref, Fn::GetAtt and Fn::Join are supported")
