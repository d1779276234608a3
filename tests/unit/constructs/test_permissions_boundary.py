"""`-c permissions_boundary=ARN`: checked up front; without it an endpoint stack is as before."""

from collections.abc import Callable
from typing import Any

import pytest

from sagemaker_openai.errors import ConfigError
from stacks.permissions_boundary import parse_permissions_boundary
from tests.conftest import CONFIG_DIR, Synthesized, load_yaml

Synth = Callable[[dict[str, Any]], Synthesized]


@pytest.mark.parametrize("value", [None, ""])
def test_no_boundary_when_none_is_given(value: object) -> None:
    assert parse_permissions_boundary(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:policy/kit-boundary",
        "arn:aws-us-gov:iam::123456789012:policy/team/kit-boundary",
    ],
)
def test_a_policy_arn_is_the_boundary(value: str) -> None:
    assert parse_permissions_boundary(f" {value} ") == value


@pytest.mark.parametrize(
    "value", ["kit-boundary", "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::1:role/x"]
)
def test_anything_else_is_one_line_naming_the_key_and_the_fix(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_permissions_boundary(value)
    assert str(caught.value) == (
        f"permissions_boundary {value!r} is not the ARN of an IAM policy; pass the CI access stack's "
        "PermissionsBoundaryArn output, e.g. "
        "make deploy PERMISSIONS_BOUNDARY=arn:aws:iam::111122223333:policy/NAME"
    )


def test_without_a_boundary_roles_and_policies_stay_at_the_root_path(synth: Synth) -> None:
    template = synth(load_yaml(CONFIG_DIR / "qwen3-4b.yaml")).template
    iam = [r for r in template["Resources"].values() if r["Type"].startswith("AWS::IAM::")]
    assert len(iam) >= 4
    for resource in iam:
        assert "PermissionsBoundary" not in resource["Properties"]
        assert resource["Properties"].get("Path", "/") == "/"
