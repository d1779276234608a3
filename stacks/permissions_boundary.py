"""The CI access stack's permissions boundary on every role of a stack (``-c permissions_boundary=ARN``).

Under the narrowed CDK bootstrap, CloudFormation may create a role only at ``KIT_IAM_PATH`` and only with
the kit's boundary; so when a boundary is given, every role gets it and every role and managed policy is
created at that path. Without one, nothing changes (a local ``make deploy`` under a default bootstrap).
"""

import re

import jsii
from aws_cdk import Aspects, IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from sagemaker_openai.constructs.ci_access import KIT_IAM_PATH
from sagemaker_openai.errors import ConfigError

CONTEXT_KEY = "permissions_boundary"
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:policy/[\w+=,.@/-]{1,512}$")


def parse_permissions_boundary(value: object) -> str | None:
    """The ``-c permissions_boundary=ARN`` value, or None when it is not given; a bad value is one line."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not _POLICY_ARN.match(text):
        raise ConfigError(
            f"permissions_boundary {value!r} is not the ARN of an IAM policy; pass the CI access stack's "
            "PermissionsBoundaryArn output, e.g. "
            "make deploy PERMISSIONS_BOUNDARY=arn:aws:iam::111122223333:policy/NAME"
        )
    return text


@jsii.implements(IAspect)
class _KitIamPath:
    """Puts every role and managed policy of a scope at ``KIT_IAM_PATH``."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.CfnRole | iam.CfnManagedPolicy):
            node.path = KIT_IAM_PATH


def apply_permissions_boundary(stack: Stack, boundary_arn: str) -> None:
    """Give every role of ``stack`` the boundary, and every role and managed policy the kit's path."""
    boundary = iam.ManagedPolicy.from_managed_policy_arn(stack, "KitPermissionsBoundary", boundary_arn)
    iam.PermissionsBoundary.of(stack).apply(boundary)
    Aspects.of(stack).add(_KitIamPath())
