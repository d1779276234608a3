"""A stack that deletes itself: an EventBridge Scheduler one-time schedule calling CloudFormation DeleteStack.

Why this design (README "A stack that deletes itself"): a one-time schedule with a universal target needs
no code (no Lambda, no log group), costs nothing at this volume, lives in the stack it deletes, and its
role may call ``cloudformation:DeleteStack`` on this stack's ID and nothing else. CloudFormation deletes
a stack with the service role it was deployed with (the CDK bootstrap's execution role), so the
schedule's role needs no ``iam:PassRole`` and no right on the stack's resources. Nothing here depends on
the endpoint, so the schedule exists while a slow endpoint create is still in progress.

A refused DeleteStack (termination protection, a stack busy with an update past the retry window) would
otherwise fail in silence: the schedule retries for an hour, then sends the failed call to an SQS
dead-letter queue (encrypted, kept 14 days), and an alarm on that queue's depth notifies the stack's alarm
topic. A DeleteStack CloudFormation accepts but cannot finish (DELETE_FAILED) is reported by
``sagemaker-openai leftovers``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, HIPAA, NIST_R5, acknowledge
from sagemaker_openai.errors import ConfigError
from sagemaker_openai.naming.tags import EXPIRES_AT_FORMAT, EXPIRES_AT_TAG

EXPIRES_IN_HOURS_MAX = 24 * 30
# How long the schedule retries a refused DeleteStack before it sends it to the dead-letter queue.
RETRY_WINDOW_SECONDS = 3600
RETRY_ATTEMPTS = 20
# SQS's longest retention: time to read why the delete was refused.
DEAD_LETTER_RETENTION = Duration.days(14)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_expires_in_hours(value: object) -> int | None:
    """The ``-c expires_in_hours=N`` context value as whole hours, or None when it is not given."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= EXPIRES_IN_HOURS_MAX:
        raise ConfigError(
            f"expires_in_hours {value!r} is not a whole number of hours from 1 to {EXPIRES_IN_HOURS_MAX}; "
            "pass e.g. -c expires_in_hours=6 (make deploy EXPIRES_IN_HOURS=6), or leave it out for no expiry"
        )
    return int(text)


def expires_at(hours: int, *, clock: Clock = utc_now) -> datetime:
    """``hours`` from now in UTC, to the second (the schedule's ``at()`` has no finer unit)."""
    now = clock().astimezone(UTC).replace(microsecond=0)
    return now + timedelta(hours=hours)


class StackExpiry(Construct):
    """Deletes the enclosing stack at ``at`` (UTC); adds the ``ExpiresAt`` output and the expiry stack tag.

    A redeploy synthesizes a new time, so each deploy moves the expiry. The tag goes on the stack, and
    CloudFormation propagates stack tags to the resources it creates. A refused delete lands in
    ``dead_letters`` and sets off ``alarm`` (``<alarm_name_prefix>expiry-delete-refused``), which notifies
    ``alarm_topic`` when there is one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        at: datetime,
        alarm_name_prefix: str | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if at.tzinfo is None:
            raise ValueError(f"Invalid StackExpiry props at {self.node.path}: `at` must be timezone-aware")
        stack = Stack.of(self)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        acknowledge(
            self.dead_letters,
            "SQS3",
            "This queue is the dead-letter queue of the expiry schedule (the schedule's DeadLetterConfig), "
            "which cdk-nag does not see; a dead-letter queue needs none of its own.",
            packs=(AWS_SOLUTIONS,),
        )
        cast(sqs.CfnQueue, self.dead_letters.node.default_child).add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_27",
                        "comment": "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled, SQS-owned keys); "
                        "the check reads only KmsMasterKeyId. No KMS key, so the schedule's role needs no "
                        "kms:GenerateDataKey to send to it.",
                    }
                ]
            },
        )
        self.expires_at = at.astimezone(UTC).replace(microsecond=0)
        stamp = self.expires_at.strftime(EXPIRES_AT_FORMAT)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                # The confused-deputy guard AWS documents for EventBridge Scheduler execution roles.
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Lets this stack's expiry schedule delete the stack, and nothing else",
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Delete this one CloudFormation stack (its expiry schedule)",
            statements=[
                iam.PolicyStatement(
                    sid="DeleteThisStack", actions=["cloudformation:DeleteStack"], resources=[Aws.STACK_ID]
                ),
                # EventBridge Scheduler sends a failed invocation to the DLQ as the execution role.
                iam.PolicyStatement(
                    sid="ReportARefusedDelete",
                    actions=["sqs:SendMessage"],
                    resources=[self.dead_letters.queue_arn],
                ),
            ],
            roles=[self.role],
        )
        target_arn = stack.format_arn(
            service="scheduler",
            region="",
            account="",
            resource="aws-sdk:cloudformation:deleteStack",
            arn_format=ArnFormat.NO_RESOURCE_NAME,
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=f"Deletes this stack at {stamp} (sagemaker-openai expiry)",
            schedule_expression=f"at({self.expires_at.strftime('%Y-%m-%dT%H:%M:%S')})",
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target_arn,
                role_arn=self.role.role_arn,
                input=stack.to_json_string({"StackName": Aws.STACK_ID}),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letters.queue_arn
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=RETRY_WINDOW_SECONDS,
                    maximum_retry_attempts=RETRY_ATTEMPTS,
                ),
            ),
        )
        prefix = alarm_name_prefix if alarm_name_prefix is not None else f"{stack.stack_name.lower()}-"
        self.alarm = cloudwatch.Alarm(
            self,
            "DeleteRefused",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_name=f"{prefix}expiry-delete-refused",
            alarm_description=(
                f"The expiry schedule could not delete this stack at {stamp}: read the reason in the "
                "dead-letter queue, then delete the stack (make destroy)"
            ),
        )
        if alarm_topic is not None:
            self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
        else:
            acknowledge(
                self.alarm,
                "CloudWatchAlarmAction",
                "The config names no SNS topic (monitoring.create_sns_topic or sns_topic_arn), so a refused "
                "expiry shows in the CloudWatch console and in `sagemaker-openai leftovers` (expired stack).",
                packs=(NIST_R5, HIPAA),
            )
        stack.tags.set_tag(EXPIRES_AT_TAG, stamp)
        CfnOutput(
            stack,
            "ExpiresAt",
            value=stamp,
            description="When this stack deletes itself (UTC); a redeploy moves it",
        )
