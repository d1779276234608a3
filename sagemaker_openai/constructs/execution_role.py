"""The role SageMaker assumes to pull the image, read the weights and write the endpoint's logs."""

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, acknowledge, finding_resource


@dataclass(frozen=True)
class WeightsLocation:
    """An S3 prefix of uncompressed weights: ``bucket`` and ``prefix`` (ending with ``/``)."""

    bucket: str
    prefix: str


class ExecutionRole(Construct):
    """A role for ``sagemaker.amazonaws.com`` with one customer-managed policy and nothing else.

    The policy allows ECR pulls from one repository, S3 reads under the weights prefixes only,
    CloudWatch Logs on the given log groups and ``cloudwatch:PutMetricData``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_arn: str,
        log_group_names: Sequence[str],
        weights: Sequence[WeightsLocation] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        log_arns = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            + suffix
            for name in log_group_names
            for suffix in ("", ":log-stream:*")
        ]
        statements = [
            iam.PolicyStatement(
                sid="PullImageAuth",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="PullImage",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                resources=[repository_arn],
            ),
            iam.PolicyStatement(
                sid="WriteLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=log_arns,
            ),
            iam.PolicyStatement(sid="PutMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"]),
        ]
        for index, location in enumerate(weights):
            statements += _weights_statements(stack, location, index)
        self.policy = iam.ManagedPolicy(
            self, "Policy", description="SageMaker execution role of a vLLM endpoint", statements=statements
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Pulls the vLLM image, reads the model weights and writes endpoint logs",
            managed_policies=[self.policy],
        )
        acknowledge(
            self.policy,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions "
            "(Service Authorization Reference), so they need Resource *; image pulls are scoped to one "
            "repository ARN in the statement beside them.",
            packs=(AWS_SOLUTIONS,),
        )
        for stream_arn in log_arns[1::2]:
            acknowledge(
                self.policy,
                f"IAM5[Resource::{finding_resource(self, stream_arn)}]",
                "SageMaker names the log streams of an endpoint after its instances and containers at run "
                "time; the wildcard covers streams of this one log group only.",
                packs=(AWS_SOLUTIONS,),
            )
        for location in weights:
            acknowledge(
                self.policy,
                f"IAM5[Resource::{finding_resource(self, _object_arn(stack, location))}]",
                "SageMaker copies every object under the weights prefix to /opt/ml/model "
                "(ModelDataSource S3Prefix); the wildcard covers that prefix only.",
                packs=(AWS_SOLUTIONS,),
            )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn


def _object_arn(stack: Stack, location: WeightsLocation) -> str:
    bucket_arn = stack.format_arn(service="s3", region="", account="", resource=location.bucket)
    return f"{bucket_arn}/{location.prefix}*"


def _weights_statements(stack: Stack, location: WeightsLocation, index: int) -> list[iam.PolicyStatement]:
    bucket_arn = stack.format_arn(service="s3", region="", account="", resource=location.bucket)
    return [
        iam.PolicyStatement(
            sid=f"ReadWeights{index}",
            actions=["s3:GetObject"],
            resources=[_object_arn(stack, location)],
        ),
        iam.PolicyStatement(
            sid=f"ListWeights{index}",
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [location.prefix, f"{location.prefix}*"]}},
        ),
    ]
