"""Who may call the endpoint, its logs, network, scaling, alarms and encryption keys."""

import re
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from sagemaker_openai.config._base import ConfigWarning, Spec

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$")


class InvokerSpec(Spec):
    """Who may assume the invoker role. Empty means the deploying account (its IAM decides who)."""

    trusted_principals: list[str] = Field(default_factory=list)
    max_session_hours: int = Field(1, ge=1, le=12)
    # Inference-component mode: the model keys whose components the invoker may call (default: all).
    models: list[str] | None = Field(None, min_length=1)
    # Adds aws:ResourceAccount = ${aws:PrincipalAccount} to CallWithBearerToken, as the job runtime's managed
    # policy does; AWS's example for the OpenAI route has no condition (unverified on a live endpoint).
    restrict_bearer_token_to_account: bool = False

    @model_validator(mode="after")
    def _check_principals(self) -> Self:
        for principal in self.trusted_principals:
            if not (_ACCOUNT_ID.match(principal) or _IAM_ROLE_ARN.match(principal)):
                raise ValueError(
                    f"trusted_principals entry {principal!r} must be a 12-digit account ID or an IAM "
                    "role, user or root ARN"
                )
        return self

    def warnings(self) -> list[ConfigWarning]:
        roles = [p for p in self.trusted_principals if ":role/" in p]
        if self.max_session_hours <= 1 or not roles:
            return []
        # STS AssumeRole (DurationSeconds): role chaining caps a session at one hour; asking for more fails.
        return [
            ConfigWarning(
                "max_session_hours",
                f"is {self.max_session_hours} but a role ({', '.join(roles)}) that assumes the invoker role "
                "is role chaining, which AWS caps at 1 hour (AssumeRole with a longer DurationSeconds "
                "fails); lower it to 1, or trust an account or user for sessions longer than an hour",
            )
        ]


class LogsSpec(Spec):
    retention_days: LogRetentionDays = 30
    retain_on_delete: bool = False


_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
KMS_KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:key/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$"
)
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[\w-]{1,256}$")


def check_kms_key_arn(field: str, arn: str) -> None:
    """Refuse anything but a key ARN: IAM and key policies match keys by key ARN, never by alias."""
    if not KMS_KEY_ARN.match(arn):
        raise ValueError(
            f"{field}: {arn!r} is not a KMS key ARN like "
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab "
            "(aliases do not work in IAM policies)"
        )


def kms_key_region(arn: str) -> str:
    match = KMS_KEY_ARN.match(arn)
    assert match is not None  # checked by check_kms_key_arn
    return match["region"]


class VpcSpec(Spec):
    """Where the model containers' network interfaces go: a VPC the stack creates, or existing subnets.

    SageMaker needs at least two subnets in different Availability Zones; the IDs cannot be resolved
    offline, so ``make preflight`` checks that they exist and span two zones.
    """

    create: bool = False
    subnet_ids: list[str] = Field(default_factory=list, max_length=16)
    security_group_ids: list[str] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _check_vpc(self) -> Self:
        if self.create:
            if self.subnet_ids or self.security_group_ids:
                raise ValueError(
                    "vpc: provide either create: true or subnet_ids and security_group_ids, not both"
                )
            return self
        if len(set(self.subnet_ids)) < 2 or not self.security_group_ids:
            raise ValueError(
                "vpc: give at least two subnet_ids (in different Availability Zones, as SageMaker "
                "requires) and at least one security_group_ids entry, or set create: true"
            )
        for field, values, pattern, example in (
            ("subnet_ids", self.subnet_ids, _SUBNET_ID, "subnet-0123456789abcdef0"),
            ("security_group_ids", self.security_group_ids, _SECURITY_GROUP_ID, "sg-0123456789abcdef0"),
        ):
            for value in values:
                if not pattern.match(value):
                    raise ValueError(f"vpc.{field}: {value!r} is not an ID like {example}")
            if len(set(values)) != len(values):
                raise ValueError(f"vpc.{field}: each ID may appear once")
        return self


class AutoscalingSpec(Spec):
    """Target tracking on the single-model variant's instance count (Application Auto Scaling).

    Exactly one target: concurrent requests per instance (the high-resolution metric, which reacts in
    about a minute) or invocations per instance per minute.
    """

    min_instances: int = Field(1, ge=1, le=100)
    max_instances: int = Field(ge=1, le=100)
    target_concurrent_requests_per_instance: float | None = Field(None, gt=0)
    target_invocations_per_instance: int | None = Field(None, ge=1)
    scale_in_cooldown_seconds: int = Field(300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(60, ge=0, le=3600)

    @model_validator(mode="after")
    def _check_autoscaling(self) -> Self:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"autoscaling: min_instances ({self.min_instances}) is above max_instances "
                f"({self.max_instances})"
            )
        targets = (self.target_concurrent_requests_per_instance, self.target_invocations_per_instance)
        if sum(target is not None for target in targets) != 1:
            raise ValueError(
                "autoscaling: provide either target_concurrent_requests_per_instance or "
                "target_invocations_per_instance, not both"
            )
        return self


class AlarmThresholds(Spec):
    """When each alarm fires. Defaults suit Qwen3-4B on one ml.g6.2xlarge (one L4) serving chat traffic."""

    # Invocation5XXErrors as a percentage of Invocations over 5 minutes (metric math), so that the alarm
    # means the same at 1 and at 1,000 requests a minute. It is also a rollback alarm of model updates.
    invocation_5xx_error_rate_percent: float = Field(5.0, gt=0, le=100)
    # ModelLatency p99 over 5 minutes, in seconds (the alarm converts to CloudWatch's microseconds).
    # A 4B model on an L4 writes ~40-60 tokens/s per sequence, so a 1,000-token answer takes ~20 s.
    model_latency_p99_seconds: float = Field(30.0, gt=0, le=3600)
    # DiskUtilization (percent of the instance's storage), average over 5 minutes.
    disk_utilization_percent: float = Field(80.0, gt=0, le=100)
    # Sum of NoCapacityInvocationFailures over 5 minutes (inference components only).
    no_capacity_invocation_failures: int = Field(1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _refuse_replaced_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, fix in _REPLACED_THRESHOLDS.items():
                if old in data:
                    raise ValueError(f"{old} was replaced: {fix}")
        return data


_REPLACED_THRESHOLDS = {
    "invocation_5xx_errors": "the 5xx alarm is an error rate now; set invocation_5xx_error_rate_percent",
    "gpu_utilization_percent": "GPU utilization is on the dashboard only (vLLM keeps a busy GPU near "
    "100% by design); remove it",
}


class MonitoringSpec(Spec):
    """CloudWatch alarms per endpoint or component, an optional SNS topic, and an optional dashboard.

    Alarms are on by default: they cost cents a month beside an instance billed by the hour, and show
    in the console even with no topic. The dashboard is off by default: each one is billed per month
    beyond the account's free three, and every deployment (a stack per config) would add one.
    """

    alarms: bool = True
    dashboard: bool = False
    create_sns_topic: bool = False
    sns_topic_arn: str | None = None
    thresholds: AlarmThresholds = Field(default_factory=AlarmThresholds)
    # Written into the endpoint config's MetricsConfig so that AWS's default (detailed observability on
    # for endpoint configs created after 2026-06-17, billed per GB ingested) is a reviewed choice.
    detailed_observability: bool = False
    enhanced_metrics: bool = False
    metric_publish_frequency_seconds: Literal[10, 30, 60, 120, 180, 240, 300] = 60

    @model_validator(mode="after")
    def _check_monitoring(self) -> Self:
        if self.sns_topic_arn is not None and not _SNS_TOPIC_ARN.match(self.sns_topic_arn):
            raise ValueError(
                f"monitoring.sns_topic_arn: {self.sns_topic_arn!r} is not a standard SNS topic ARN like "
                "arn:aws:sns:us-east-1:123456789012:alerts"
            )
        if self.create_sns_topic and self.sns_topic_arn is not None:
            raise ValueError("monitoring: provide either create_sns_topic or sns_topic_arn, not both")
        if not self.alarms and (self.create_sns_topic or self.sns_topic_arn is not None):
            raise ValueError("monitoring: an SNS topic needs alarms: true (only the alarms notify it)")
        return self

    @property
    def notifies(self) -> bool:
        return self.create_sns_topic or self.sns_topic_arn is not None


class KmsSpec(Spec):
    """A customer managed key for the log groups, the SNS topic and the weights the role reads.

    ``create: true`` makes a key scheduled for deletion (7-day window) on ``cdk destroy``;
    ``key_arn`` uses an existing key whose policy the stack cannot change (``make preflight`` checks it).
    """

    create: bool = False
    key_arn: str | None = None
    storage_volume: bool = False

    @model_validator(mode="after")
    def _check_kms(self) -> Self:
        if self.key_arn is not None:
            check_kms_key_arn("kms.key_arn", self.key_arn)
        if self.create == (self.key_arn is not None):
            raise ValueError("kms: provide either create: true or key_arn, not both")
        return self


UpdateStrategy = Literal["rolling", "canary", "all_at_once"]


class UpdateSpec(Spec):
    """How a model or vLLM-flag change replaces what serves, and how long each step bakes.

    ``rolling`` replaces ``batch_size`` instances (copies, for inference components) at a time;
    ``canary`` (single-model only) sends traffic to ``batch_size`` new instances first, then to all;
    ``all_at_once`` starts a whole new fleet and shifts all traffic to it. Every step bakes for
    ``wait_seconds`` while the kit's rollback alarms watch; one in ALARM rolls the update back.
    """

    strategy: UpdateStrategy = "rolling"
    batch_size: int = Field(1, ge=1, le=100)
    # WaitIntervalInSeconds: 15 minutes lets the latency alarm (3 x 5 minutes) fire within the bake.
    wait_seconds: int = Field(900, ge=0, le=3600)
    # MaximumExecutionTimeoutInSeconds: beyond it SageMaker stops the update and rolls it back.
    max_execution_seconds: int = Field(7200, ge=600, le=28800)

    @model_validator(mode="after")
    def _check_update(self) -> Self:
        if self.strategy == "all_at_once" and "batch_size" in self.model_fields_set:
            raise ValueError("batch_size applies to rolling and canary updates; remove it for all_at_once")
        return self

    @property
    def explicit(self) -> bool:
        """Whether the config chose the strategy or batch, rather than taking the defaults."""
        return bool({"strategy", "batch_size"} & self.model_fields_set)


class PrefixAwareRoutingSpec(Spec):
    """PrefixAwareRoutingConfig: both values are required by SageMaker with routing_strategy PREFIX_AWARE.

    ``prefix_length`` counts characters of the messages' text on the OpenAI-compatible route; cover the
    shared system prompt plus enough of each conversation to spread load (botocore's documentation).
    """

    prefix_length: int = Field(ge=1024, le=65536)
    concurrency_threshold: int = Field(ge=1, le=1024)


_ML_RESERVATION_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]*):\d{12}:[a-z0-9-]{1,14}/[\w.-]+$"
)


class CapacityReservationSpec(Spec):
    """An ML capacity reservation or training plan the endpoint's instances launch into, and only into."""

    ml_reservation_arn: str

    @model_validator(mode="after")
    def _check_reservation(self) -> Self:
        if not _ML_RESERVATION_ARN.match(self.ml_reservation_arn):
            raise ValueError(
                f"ml_reservation_arn: {self.ml_reservation_arn!r} is not a SageMaker reservation ARN like "
                "arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan"
            )
        return self

    @property
    def region(self) -> str:
        match = _ML_RESERVATION_ARN.match(self.ml_reservation_arn)
        assert match is not None  # checked by the validator
        return match["region"]
