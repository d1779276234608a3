"""Autoscaling of one inference component's copy count, down to zero copies where configured."""

from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_openai.config import CopiesSpec
from sagemaker_openai.constructs._autoscaling import TargetTracking, scalable_target, target_tracking_policy

COPY_COUNT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
CONCURRENCY_METRIC = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"


class ComponentScaling(Construct):
    """Target tracking on concurrent requests per copy between ``copies.min`` and ``copies.max``.

    Target tracking can scale to zero but never back from it (no copy, no metric), so with
    ``copies.min == 0`` a step policy adds one copy when the ``NoCapacityInvocationFailures`` alarm
    fires on the first request that finds no copy. The scalable target has no RoleARN: Application
    Auto Scaling then uses its SageMaker service-linked role, and no IAM role is created.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        component: sagemaker.CfnInferenceComponent,
        component_name: str,
        copies: CopiesSpec,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target = scalable_target(
            self,
            dimension=COPY_COUNT_DIMENSION,
            resource_id=f"inference-component/{component_name}",
            min_capacity=copies.min,
            max_capacity=copies.max,
            scaled=component,
        )
        self.concurrency_policy = target_tracking_policy(
            self,
            "Concurrency",
            target=self.target,
            tracking=TargetTracking(
                policy_name=f"{component_name}-concurrency",
                metric=CONCURRENCY_METRIC,
                target_value=copies.target_concurrent_requests_per_copy,
                scale_in_cooldown=copies.scale_in_cooldown_seconds,
                scale_out_cooldown=copies.scale_out_cooldown_seconds,
            ),
        )
        self.wake_policy: appscaling.CfnScalingPolicy | None = None
        self.wake_alarm: cloudwatch.CfnAlarm | None = None
        if copies.scales_to_zero:
            self._add_wake_up(component_name)

    def _add_wake_up(self, component_name: str) -> None:
        self.wake_policy = appscaling.CfnScalingPolicy(
            self,
            "WakeUp",
            policy_name=f"{component_name}-wake-up",
            policy_type="StepScaling",
            scaling_target_id=self.target.ref,
            step_scaling_policy_configuration=appscaling.CfnScalingPolicy.StepScalingPolicyConfigurationProperty(
                adjustment_type="ChangeInCapacity",
                metric_aggregation_type="Maximum",
                cooldown=60,
                step_adjustments=[
                    appscaling.CfnScalingPolicy.StepAdjustmentProperty(
                        metric_interval_lower_bound=0, scaling_adjustment=1
                    )
                ],
            ),
        )
        self.wake_alarm = cloudwatch.CfnAlarm(
            self,
            "NoCapacity",
            alarm_description=f"A request found no copy of {component_name}; add one (scale up from zero)",
            namespace="AWS/SageMaker",
            metric_name="NoCapacityInvocationFailures",
            dimensions=[
                cloudwatch.CfnAlarm.DimensionProperty(name="InferenceComponentName", value=component_name)
            ],
            statistic="Sum",
            period=60,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="missing",
            alarm_actions=[self.wake_policy.attr_arn],
        )
