"""Autoscaling of a single-model endpoint's instance count (Application Auto Scaling target tracking)."""

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_openai.config import AutoscalingSpec
from sagemaker_openai.constructs._autoscaling import TargetTracking, scalable_target, target_tracking_policy

INSTANCE_COUNT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Predefined metric types of botocore's application-autoscaling MetricType enum.
CONCURRENCY_METRIC = "SageMakerVariantConcurrentRequestsPerModelHighResolution"
INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"


class VariantScaling(Construct):
    """A scalable target on the variant's instance count and one target-tracking policy.

    The endpoint gets ``RetainAllVariantProperties: true``: without it every stack update resets the
    instance count to the config's ``instance_count``, undoing what autoscaling chose. AWS fails an
    update that changes the instance type of a variant under autoscaling (``endpoint-scaling-update``);
    the README gives the two-deploy way around it. The target has no RoleARN, so Application Auto
    Scaling uses its SageMaker service-linked role and no IAM role is created.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: sagemaker.CfnEndpoint,
        endpoint_name: str,
        variant_name: str,
        spec: AutoscalingSpec,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint.retain_all_variant_properties = True
        self.target = scalable_target(
            self,
            dimension=INSTANCE_COUNT_DIMENSION,
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            min_capacity=spec.min_instances,
            max_capacity=spec.max_instances,
            scaled=endpoint,  # and after an update that changes its instance type
        )
        if spec.target_concurrent_requests_per_instance is not None:
            metric, target, suffix = (
                CONCURRENCY_METRIC,
                spec.target_concurrent_requests_per_instance,
                "concurrency",
            )
        else:
            assert spec.target_invocations_per_instance is not None  # exactly one, checked by the config
            metric, target, suffix = (
                INVOCATIONS_METRIC,
                float(spec.target_invocations_per_instance),
                "invocations",
            )
        self.policy = target_tracking_policy(
            self,
            "Policy",
            target=self.target,
            tracking=TargetTracking(
                policy_name=f"{endpoint_name}-{suffix}",
                metric=metric,
                target_value=target,
                scale_in_cooldown=spec.scale_in_cooldown_seconds,
                scale_out_cooldown=spec.scale_out_cooldown_seconds,
            ),
        )
