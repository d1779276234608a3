"""``DeployExecutionPolicy``: the CloudFormation execution policy, in an IAM part and a services part."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, acknowledge
from sagemaker_openai.constructs.ci_access.execution_grants import Grant, execution_grants
from sagemaker_openai.constructs.ci_access.rules import KIT_IAM_PATH

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
        grants = execution_grants(Stack.of(self), boundary_arn)
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
        grants = execution_grants(Stack.of(self), self.boundary_arn)
        return sorted({a for g in grants if g.effect == iam.Effect.ALLOW for a in g.actions})


def _is_iam(grant: Grant) -> bool:
    return all(action.startswith("iam:") for action in grant.actions)


def _statement(grant: Grant) -> iam.PolicyStatement:
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
