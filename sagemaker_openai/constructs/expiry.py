"""A stack that deletes itself: an EventBridge Scheduler one-time schedule calling CloudFormation DeleteStack.

Why this design (README "A stack that deletes itself"): a one-time schedule with a universal target needs
no code (no Lambda, no log group), costs nothing at this volume, lives in the stack it deletes, and its
role may call ``cloudformation:DeleteStack`` on this stack's ID and nothing else. CloudFormation deletes
a stack with the service role it was deployed with (the CDK bootstrap's execution role), so the
schedule's role needs no ``iam:PassRole`` and no right on the stack's resources. Nothing here depends on
the endpoint, so the schedule exists while a slow endpoint create is still in progress.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aws_cdk import ArnFormat, Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from sagemaker_openai.errors import ConfigError
from sagemaker_openai.tags import EXPIRES_AT_FORMAT, EXPIRES_AT_TAG

EXPIRES_IN_HOURS_MAX = 24 * 30
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
    CloudFormation propagates stack tags to the resources it creates.
    """

    def __init__(self, scope: Construct, construct_id: str, *, at: datetime) -> None:
        super().__init__(scope, construct_id)
        if at.tzinfo is None:
            raise ValueError(f"Invalid StackExpiry props at {self.node.path}: `at` must be timezone-aware")
        stack = Stack.of(self)
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
                )
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
            ),
        )
        stack.tags.set_tag(EXPIRES_AT_TAG, stamp)
        CfnOutput(
            stack,
            "ExpiresAt",
            value=stamp,
            description="When this stack deletes itself (UTC); a redeploy moves it",
        )
