"""The deployment's customer managed key: created by the stack, or an existing key by ARN."""

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagemaker_openai.config import KmsSpec
from sagemaker_openai.constructs.alarm_sources import CLOUDWATCH_ALARMS, alarm_source_conditions

# AWS KMS waits 7 to 30 days before deleting a key; the shortest window leaves nothing behind soonest.
PENDING_WINDOW_DAYS = 7


class DeploymentKey(Construct):
    """The key that encrypts the stack's log groups and SNS topic and the weights the role may read.

    A created key rotates yearly and is scheduled for deletion (7-day window) when the stack is
    destroyed. Its policy keeps the account's default statement (so IAM policies such as the execution
    role's can use it) and adds CloudWatch Logs, for the named log groups only, and CloudWatch alarms,
    which must decrypt to publish to an encrypted SNS topic (only this account's alarms whose names start
    with ``alarm_name_prefixes``, the same guard as the topic policy). An existing key's policy is the
    user's: the README lists the statements it needs and ``make preflight`` checks them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: KmsSpec,
        log_group_names: Sequence[str],
        alarm_name_prefixes: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.created: kms.Key | None = None
        if spec.key_arn is not None:
            self.key: kms.IKey = kms.Key.from_key_arn(self, "Key", spec.key_arn)
            return
        stack = Stack.of(self)
        created = kms.Key(
            self,
            "Key",
            description=f"Encrypts the logs, alarm topic and weights of the {stack.stack_name} endpoint",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(PENDING_WINDOW_DAYS),
        )
        log_group_arns = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in log_group_names
        ]
        created.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisStack",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.{Aws.URL_SUFFIX}")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
            )
        )
        created.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal(CLOUDWATCH_ALARMS)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=alarm_source_conditions(self, alarm_name_prefixes),
            )
        )
        self.created = created
        self.key = created

    @property
    def key_arn(self) -> str:
        return self.key.key_arn


def weights_decrypt_statement(key_arns: Sequence[str]) -> iam.PolicyStatement:
    """``kms:Decrypt`` on the weights' keys, only in requests S3 makes on the role's behalf."""
    return iam.PolicyStatement(
        sid="DecryptWeightsThroughS3",
        actions=["kms:Decrypt"],
        resources=list(key_arns),
        conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.{Aws.URL_SUFFIX}"}},
    )
