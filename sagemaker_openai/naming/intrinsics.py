"""Render a CloudFormation value built from Ref, Fn::GetAtt, Fn::Join and Fn::FindInMap as one string."""

from collections.abc import Callable, Mapping
from typing import Any


def render_intrinsics(
    value: Any, name: Callable[[str], str], mappings: Mapping[str, Any] | None = None
) -> str:
    """``name`` gets ``AWS::Region`` for a Ref and ``LogicalId.Attribute`` for a GetAtt; ``mappings`` is
    the template's ``Mappings`` section, for Fn::FindInMap."""
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
            return str(separator).join(render_intrinsics(part, name, mappings) for part in parts)
        if "Fn::FindInMap" in value and mappings is not None:
            table, top, second = value["Fn::FindInMap"]
            top_key, second_key = (render_intrinsics(key, name, mappings) for key in (top, second))
            return str(mappings[str(table)][top_key][second_key])
    raise ValueError(
        f"cannot render {value!r}: only Ref, Fn::GetAtt, Fn::Join and Fn::FindInMap (given mappings) "
        "are supported"
    )
