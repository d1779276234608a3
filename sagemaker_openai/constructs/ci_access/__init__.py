"""What a CI pipeline may do in an account: a GitHub OIDC role, and the CloudFormation execution policy.

The CI role deploys through the CDK bootstrap: it assumes the ``cdk-*`` deploy and file-publishing roles,
and CloudFormation then acts with the bootstrap's execution role. That role gets ``AdministratorAccess``
from a default ``cdk bootstrap``; ``DeployExecutionPolicy`` is what the kit's stacks need instead, for
``cdk bootstrap --cloudformation-execution-policies <its ARN>``. Its actions are the handler permissions
that CloudFormation's resource schemas list for each resource type the kit creates (a test checks the
coverage against cfn-lint's copy of those schemas).

``KitPermissionsBoundary`` is the ceiling of every role the kit's stacks create: the execution policy
lets CloudFormation create or change a role only at ``KIT_IAM_PATH`` and only with that boundary, so a
template deployed through the CI role cannot make a role that holds more than the kit's roles need.
"""

from sagemaker_openai.constructs.ci_access.boundary import KitPermissionsBoundary, boundary_statements
from sagemaker_openai.constructs.ci_access.execution_policy import (
    EXECUTION_POLICY_DESCRIPTION,
    DeployExecutionPolicy,
)
from sagemaker_openai.constructs.ci_access.role import (
    WEIGHTS_READ_ACTIONS,
    GithubCiRole,
    GithubSubject,
    preflight_statements,
)
from sagemaker_openai.constructs.ci_access.rules import (
    DEFAULT_QUALIFIER,
    DENIED_ROLE_ACTIONS,
    KIT_IAM_PATH,
    POLICY_CHANGE_ACTIONS,
    ROLE_WRITE_ACTIONS,
)

__all__ = [
    "DEFAULT_QUALIFIER",
    "DENIED_ROLE_ACTIONS",
    "EXECUTION_POLICY_DESCRIPTION",
    "KIT_IAM_PATH",
    "POLICY_CHANGE_ACTIONS",
    "ROLE_WRITE_ACTIONS",
    "WEIGHTS_READ_ACTIONS",
    "DeployExecutionPolicy",
    "GithubCiRole",
    "GithubSubject",
    "KitPermissionsBoundary",
    "boundary_statements",
    "preflight_statements",
]
