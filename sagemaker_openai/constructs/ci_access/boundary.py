"""``KitPermissionsBoundary``: the ceiling of every role the kit's stacks create under ``KIT_IAM_PATH``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.catalog import images
from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, KIT, acknowledge, finding_resource
from sagemaker_openai.constructs.ci_access.rules import stack_arn
from sagemaker_openai.naming.tags import KIT_TAG


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

    arn = partial(stack_arn, stack)

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
