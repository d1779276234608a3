"""What a CI pipeline may do in an account: a GitHub OIDC role, and the CloudFormation execution policy.

The CI role deploys through the CDK bootstrap: it assumes the ``cdk-*`` deploy and file-publishing roles,
and CloudFormation then acts with the bootstrap's execution role. That role gets ``AdministratorAccess``
from a default ``cdk bootstrap``; ``DeployExecutionPolicy`` is what the kit's stacks need instead, for
``cdk bootstrap --cloudformation-execution-policies <its ARN>``. Its actions are the handler permissions
that CloudFormation's resource schemas list for each resource type the kit creates (a test checks the
coverage against cfn-lint's copy of those schemas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.client.leftovers import LEFTOVERS_READ_ACTIONS
from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, acknowledge, finding_resource
from sagemaker_openai.preflight_actions import PREFLIGHT_READ_ACTIONS
from sagemaker_openai.tags import KIT_TAG

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK's default bootstrap qualifier
# The service-linked role Application Auto Scaling creates for the first SageMaker scalable target.
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_SLR = "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"  # noqa: E501
# iam:ResourceTag is the key AWS's IAM user guide uses for a role's tags in sts:AssumeRole and iam:PassRole.
_HAS_KIT_TAG: dict[str, dict[str, object]] = {"Null": {f"iam:ResourceTag/{KIT_TAG}": "false"}}


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
            "Stacks the kit deploys name their invoker roles with generated names, so the role may assume "
            f"any role of this account only when it carries the kit's {KIT_TAG} tag (iam:ResourceTag "
            "condition), and list any role's tags for the leftover check (read-only).",
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
                resources=[role_arn("*")],
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


@dataclass(frozen=True)
class _Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, object]] | None = None


def _execution_grants(stack: Stack) -> list[_Grant]:
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
    role_any = arn("iam", "role", "*", region="")
    log_groups = arn("logs", "log-group", "/aws/sagemaker/*", sep=":")
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
        _Grant(
            "KitRolesAndPolicies",
            (
                "iam:AttachRolePolicy",
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:CreateRole",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:DeleteRole",
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListEntitiesForPolicy",
                "iam:ListPolicyVersions",
                "iam:ListRolePolicies",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ),
            (role_any, arn("iam", "policy", "*", region="")),
        ),
        _Grant(
            "PassKitRolesToSageMakerAndScheduler",
            ("iam:PassRole",),
            (role_any,),
            {
                "StringEquals": {
                    "iam:PassedToService": ["sagemaker.amazonaws.com", "scheduler.amazonaws.com"]
                },
                **_HAS_KIT_TAG,
            },
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
            (log_groups,),
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
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetMetricData",
                "ec2:DescribeInstances",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
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


class DeployExecutionPolicy(Construct):
    """The CloudFormation execution policy for the CDK bootstrap: what the kit's stacks create and delete."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        grants = _execution_grants(Stack.of(self))
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="CloudFormation execution policy for sagemaker-openai stacks (cdk bootstrap "
            "--cloudformation-execution-policies)",
            statements=[_statement(grant) for grant in grants],
        )
        for rule, reason in _EXECUTION_WILDCARDS:
            acknowledge(self.policy, rule, reason, packs=(AWS_SOLUTIONS,))
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
        return self.policy.managed_policy_arn

    @property
    def actions(self) -> Sequence[str]:
        return sorted({a for g in _execution_grants(Stack.of(self)) for a in g.actions})


def _statement(grant: _Grant) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=grant.sid,
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
        "IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]",
        "CloudFormation names roles <stack>-<logicalId>-<random> and the kit's stack names are free, so "
        "no prefix exists; iam:PassRole is limited to roles carrying the kit's tag and passed to "
        "SageMaker or EventBridge Scheduler.",
    ),
    (
        "IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*]",
        "AWS::IAM::ManagedPolicy takes no tags and CloudFormation generates its name, so neither a tag "
        "nor a prefix can scope it; limited to this account.",
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
