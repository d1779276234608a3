"""The GitHub OIDC role a CI pipeline assumes: deploy through the CDK bootstrap, read, pre-flight, call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, acknowledge, finding_resource
from sagemaker_openai.constructs.ci_access.rules import (
    DEFAULT_QUALIFIER,
    GITHUB_OIDC_HOST,
    GITHUB_OIDC_URL,
    HAS_KIT_TAG,
    KIT_IAM_PATH,
    STS_AUDIENCE,
)
from sagemaker_openai.naming.tags import KIT_TAG
from sagemaker_openai.preflight.actions import LEFTOVERS_READ_ACTIONS, PREFLIGHT_READ_ACTIONS


@dataclass(frozen=True)
class GithubSubject:
    """Who may assume the CI role: a repository, and an environment or else a branch."""

    repository: str
    environment: str | None = None
    branch: str = "main"

    @property
    def sub(self) -> str:
        """The OIDC ``sub`` claim GitHub issues for such a job (for a reusable workflow: the caller's)."""
        if self.environment:
            return f"repo:{self.repository}:environment:{self.environment}"
        return f"repo:{self.repository}:ref:refs/heads/{self.branch}"


# The pre-flight's reads of the weights: granted on the buckets CI deploys from, never on every bucket.
WEIGHTS_READ_ACTIONS = frozenset({"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"})


def preflight_statements(
    scope: Construct, qualifier: str, weights_buckets: Sequence[str] = ()
) -> list[iam.PolicyStatement]:
    """What ``make preflight`` reads (``PREFLIGHT_READ_ACTIONS``): the bootstrap parameter by name, the
    weights only in ``weights_buckets`` (without any, the pre-flight skips the weights check), the other
    reads on ``*`` (reads such as sts:GetCallerIdentity name no resource)."""
    stack = Stack.of(scope)
    scoped = {
        "ssm:GetParameter": stack.format_arn(
            service="ssm", resource="parameter", resource_name=f"cdk-bootstrap/{qualifier}/version"
        )
    }
    actions = sorted({action for action, _ in PREFLIGHT_READ_ACTIONS})
    statements = [
        iam.PolicyStatement(sid="PreflightReadsBootstrap", actions=[action], resources=[scoped[action]])
        for action in actions
        if action in scoped
    ]
    if weights_buckets:
        buckets = [stack.format_arn(service="s3", region="", account="", resource=b) for b in weights_buckets]
        statements += [
            iam.PolicyStatement(
                sid="PreflightReadsWeightsBuckets",
                actions=sorted(WEIGHTS_READ_ACTIONS - {"s3:GetObject"}),
                resources=buckets,
            ),
            iam.PolicyStatement(
                sid="PreflightReadsWeights", actions=["s3:GetObject"], resources=[f"{b}/*" for b in buckets]
            ),
        ]
    unscoped = [action for action in actions if action not in scoped and action not in WEIGHTS_READ_ACTIONS]
    if unscoped:
        statements.append(iam.PolicyStatement(sid="PreflightReads", actions=unscoped, resources=["*"]))
    return statements


class GithubCiRole(Construct):
    """A role GitHub Actions jobs of one repository assume through OIDC, with only what the kit's CI needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        subject: GithubSubject,
        provider_arn: str | None = None,
        qualifier: str = DEFAULT_QUALIFIER,
        max_session_hours: int = 3,
        weights_buckets: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if provider_arn is None:
            provider = iam.OidcProviderNative(
                self, "GithubOidcProvider", url=GITHUB_OIDC_URL, client_ids=[STS_AUDIENCE]
            )
            provider_arn = provider.oidc_provider_arn
        self.provider_arn = provider_arn
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="CI for sagemaker-openai: deploy through the CDK bootstrap roles, call, check stacks",
            statements=self._statements(stack, qualifier, weights_buckets),
        )
        self.role = iam.Role(
            self,
            "Resource",
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subject.sub,
                    }
                },
            ),
            description=f"GitHub Actions of {subject.repository} deploy and test sagemaker-openai stacks",
            managed_policies=[self.policy],
            max_session_duration=Duration.hours(max_session_hours),
        )
        acknowledge(
            self.policy,
            "IAM5[Resource::*]",
            "cloudformation:DescribeStacks without a stack name (to list stacks past their expiry), "
            "tag:GetResources and iam:ListRoles support no resource-level permissions (AWS's service "
            "authorization reference lists no resource type for them); the pre-flight's reads "
            "(sts:GetCallerIdentity) name no resource either; the leftover check describes each endpoint, "
            "config, model, component and log group the tagging index lists, names no policy can know "
            "ahead. All are read-only.",
            packs=(AWS_SOLUTIONS,),
        )
        for bucket in weights_buckets:
            objects = stack.format_arn(
                service="s3", region="", account="", resource=bucket, resource_name="*"
            )
            acknowledge(
                self.policy,
                f"IAM5[Resource::{finding_resource(self, objects)}]",
                "The pre-flight reads a config's weights prefix (config.json, the weights, the manifest), "
                "which may be any prefix of this bucket named in WEIGHTS_BUCKETS; read-only.",
                packs=(AWS_SOLUTIONS,),
            )
        acknowledge(
            self.policy,
            "IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]",
            "The leftover check lists the tags of any role of the account to find the kit's (read-only).",
            packs=(AWS_SOLUTIONS,),
        )
        acknowledge(
            self.policy,
            f"IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role{KIT_IAM_PATH}*]",
            "Stacks the kit deploys name their invoker roles with generated names, so the role may assume "
            f"a role only under {KIT_IAM_PATH} (where every role carries the kit's permissions boundary) "
            f"and only when it carries the kit's {KIT_TAG} tag (iam:ResourceTag condition).",
            packs=(AWS_SOLUTIONS,),
        )

    def _statements(
        self, stack: Stack, qualifier: str, weights_buckets: Sequence[str]
    ) -> list[iam.PolicyStatement]:
        def role_arn(name: str) -> str:
            return stack.format_arn(service="iam", region="", resource="role", resource_name=name)

        suffix = f"{Aws.ACCOUNT_ID}-{Aws.REGION}"
        return [
            iam.PolicyStatement(
                sid="AssumeCdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=[
                    role_arn(f"cdk-{qualifier}-deploy-role-{suffix}"),
                    role_arn(f"cdk-{qualifier}-file-publishing-role-{suffix}"),
                ],
            ),
            iam.PolicyStatement(
                sid="AssumeKitInvokerRoles",
                actions=["sts:AssumeRole"],
                resources=[role_arn(f"{KIT_IAM_PATH.strip('/')}/*")],
                conditions=HAS_KIT_TAG,
            ),
            iam.PolicyStatement(
                sid="ReadStacksAndLeftovers",
                actions=sorted(set(LEFTOVERS_READ_ACTIONS) - {"iam:ListRoleTags"}),
                resources=["*"],
            ),
            iam.PolicyStatement(sid="ReadRoleTags", actions=["iam:ListRoleTags"], resources=[role_arn("*")]),
            *preflight_statements(self, qualifier, weights_buckets),
        ]

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
