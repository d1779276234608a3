"""The CI access stack: deployed once per account and region so that GitHub Actions can run the kit's CI."""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import CfnOutput, Stack
from constructs import Construct

from sagemaker_openai.constructs.ci_access import (
    DEFAULT_QUALIFIER,
    DeployExecutionPolicy,
    GithubCiRole,
    GithubSubject,
    KitPermissionsBoundary,
)
from sagemaker_openai.errors import ConfigError

CI_ACCESS_STACK_PREFIX = "sagemaker-openai-ci-access"
_STACK_NAME_MAX = 128  # CloudFormation's limit
_HASH_LEN = 8
# GitHub's rules: owner letters, digits and hyphens; repository also dots and underscores.
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REF_PART = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")
_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
_QUALIFIER = re.compile(r"^[a-z0-9]{1,10}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Every `-c` key ci_access_props reads (ci_access_app.py passes exactly these).
CONTEXT_KEYS = (
    "github_repo",
    "github_environment",
    "github_branch",
    "github_oidc_provider_arn",
    "cdk_qualifier",
    "weights_buckets",
)


def ci_access_stack_name(repository: str) -> str:
    """``sagemaker-openai-ci-access-<owner>-<repo>``, one stack per repository (GitHub names are case-blind).

    A name with characters a stack name cannot hold (``.``, ``_``), or too long, gets a hash of the
    repository so that two repositories never share a stack.
    """
    lowered = repository.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")
    name = f"{CI_ACCESS_STACK_PREFIX}-{slug}"
    if slug == lowered.replace("/", "-") and len(name) <= _STACK_NAME_MAX:
        return name
    digest = hashlib.sha256(lowered.encode()).hexdigest()[:_HASH_LEN]
    return f"{name[: _STACK_NAME_MAX - _HASH_LEN - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class CiAccessProps:
    subject: GithubSubject
    provider_arn: str | None = None
    qualifier: str = DEFAULT_QUALIFIER
    weights_buckets: tuple[str, ...] = ()

    @property
    def stack_name(self) -> str:
        return ci_access_stack_name(self.subject.repository)


def ci_access_props(context: dict[str, Any]) -> CiAccessProps:
    """Props from `-c github_repo=OWNER/NAME [-c github_environment=] [-c github_branch=]
    [-c github_oidc_provider_arn=] [-c cdk_qualifier=] [-c weights_buckets=A,B]`; a bad value is one line
    naming it."""
    repo = str(context.get("github_repo") or "")
    if not _REPOSITORY.match(repo):
        raise ConfigError(
            f"GITHUB_REPO {repo!r} is not OWNER/NAME; pass the repository whose workflow runs, e.g. "
            "make ci-access GITHUB_REPO=acme/llm-app"
        )
    environment = context.get("github_environment") or None
    branch = context.get("github_branch") or "main"
    for field, value in (("GITHUB_ENVIRONMENT", environment), ("GITHUB_BRANCH", branch)):
        if value is not None and not _REF_PART.match(str(value)):
            raise ConfigError(f"{field} {value!r} has characters GitHub does not allow; pass a plain name")
    provider = context.get("github_oidc_provider_arn") or None
    if provider is not None and not _PROVIDER_ARN.match(str(provider)):
        raise ConfigError(
            f"GITHUB_OIDC_PROVIDER_ARN {provider!r} is not the ARN of a token.actions.githubusercontent.com "
            "provider; copy it from the IAM console, or leave it out to create the provider"
        )
    qualifier = str(context.get("cdk_qualifier") or DEFAULT_QUALIFIER)
    if not _QUALIFIER.match(qualifier):
        raise ConfigError(f"CDK_QUALIFIER {qualifier!r} must be 1 to 10 lowercase letters or digits")
    buckets = tuple(b.strip() for b in str(context.get("weights_buckets") or "").split(",") if b.strip())
    for bucket in buckets:
        if not _BUCKET.match(bucket):
            raise ConfigError(
                f"WEIGHTS_BUCKETS entry {bucket!r} is not an S3 bucket name; pass names separated by commas, "
                "e.g. WEIGHTS_BUCKETS=my-models,other-models"
            )
    return CiAccessProps(
        subject=GithubSubject(repository=repo, environment=environment, branch=str(branch)),
        provider_arn=provider,
        qualifier=qualifier,
        weights_buckets=buckets,
    )


class CiAccessStack(Stack):
    """The GitHub OIDC provider (or an existing one), the CI role, the bootstrap execution policy, and the
    permissions boundary that policy requires on every role it lets CloudFormation create."""

    def __init__(self, scope: Construct, construct_id: str, *, props: CiAccessProps, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"CI access for sagemaker-openai from GitHub {props.subject.repository}",
            **kwargs,
        )
        self.ci_role = GithubCiRole(
            self,
            "CiRole",
            subject=props.subject,
            provider_arn=props.provider_arn,
            qualifier=props.qualifier,
            weights_buckets=props.weights_buckets,
        )
        self.boundary = KitPermissionsBoundary(
            self, "PermissionsBoundary", weights_buckets=props.weights_buckets
        )
        self.execution_policy = DeployExecutionPolicy(
            self, "ExecutionPolicy", boundary_arn=self.boundary.policy_arn
        )
        CfnOutput(
            self,
            "CiRoleArn",
            value=self.ci_role.role_arn,
            description="Put in the repository variable AWS_ROLE_ARN (role-to-assume)",
        )
        CfnOutput(
            self,
            "ExecutionPolicyArn",
            value=self.execution_policy.policy_arn,
            description="cdk bootstrap --cloudformation-execution-policies <this value> "
            "(two ARNs, comma-separated)",
        )
        CfnOutput(
            self,
            "PermissionsBoundaryArn",
            value=self.boundary.policy_arn,
            description="Put in the repository variable AWS_PERMISSIONS_BOUNDARY_ARN "
            "(make deploy PERMISSIONS_BOUNDARY=<this ARN>)",
        )
        CfnOutput(
            self, "OidcProviderArn", value=self.ci_role.provider_arn, description="GitHub OIDC provider"
        )


def build_ci_access_app(props: CiAccessProps, *, app: cdk.App | None = None) -> cdk.App:
    from stacks import add_nag_packs  # noqa: PLC0415 - stacks/__init__ imports the endpoint stack

    app = app or cdk.App()
    add_nag_packs(app)
    CiAccessStack(app, props.stack_name, props=props)
    return app
