"""What both kinds of SageMaker autoscaling share: a scalable target and one target-tracking policy."""

from dataclasses import dataclass

from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct, IConstruct


@dataclass(frozen=True)
class TargetTracking:
    """A predefined metric to hold at ``target_value``, with the cooldowns between scaling steps."""

    policy_name: str
    metric: str
    target_value: float
    scale_in_cooldown: int
    scale_out_cooldown: int


def scalable_target(
    scope: Construct,
    *,
    dimension: str,
    resource_id: str,
    min_capacity: int,
    max_capacity: int,
    scaled: IConstruct,
) -> appscaling.CfnScalableTarget:
    """A target with no RoleARN (Application Auto Scaling uses its SageMaker service-linked role).

    The resource ID is a name, not a reference: the target depends on ``scaled`` so that it is registered
    after that resource exists and deregistered before it is deleted.
    """
    target = appscaling.CfnScalableTarget(
        scope,
        "Target",
        service_namespace="sagemaker",
        scalable_dimension=dimension,
        resource_id=resource_id,
        min_capacity=min_capacity,
        max_capacity=max_capacity,
    )
    target.node.add_dependency(scaled)
    return target


def target_tracking_policy(
    scope: Construct, construct_id: str, *, target: appscaling.CfnScalableTarget, tracking: TargetTracking
) -> appscaling.CfnScalingPolicy:
    return appscaling.CfnScalingPolicy(
        scope,
        construct_id,
        policy_name=tracking.policy_name,
        policy_type="TargetTrackingScaling",
        scaling_target_id=target.ref,
        target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
            predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                predefined_metric_type=tracking.metric
            ),
            target_value=tracking.target_value,
            scale_in_cooldown=tracking.scale_in_cooldown,
            scale_out_cooldown=tracking.scale_out_cooldown,
        ),
    )
