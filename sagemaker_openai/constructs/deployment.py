"""How an update reaches a running endpoint or component: its DeploymentConfig and rollback alarms.

SageMaker applies the endpoint's ``DeploymentConfig`` when CloudFormation points the endpoint at a
new endpoint config (a model, image or vLLM-flag change replaces the config), and a component's
when the component itself changes. An alarm of ``AutoRollbackConfiguration`` in ALARM during a
step's bake time rolls the whole update back.
"""

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from sagemaker_openai.config import UpdateSpec

Endpoint = sagemaker.CfnEndpoint
Component = sagemaker.CfnInferenceComponent


def endpoint_deployment_config(
    update: UpdateSpec, strategy: str, alarms: Sequence[cloudwatch.IAlarm]
) -> Endpoint.DeploymentConfigProperty:
    """Rolling by instances, or blue/green with canary or all-at-once traffic shifting."""
    rollback = (
        Endpoint.AutoRollbackConfigProperty(
            alarms=[Endpoint.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in alarms]
        )
        if alarms
        else None
    )
    if strategy == "rolling":
        return Endpoint.DeploymentConfigProperty(
            rolling_update_policy=Endpoint.RollingUpdatePolicyProperty(
                maximum_batch_size=Endpoint.CapacitySizeProperty(
                    type="INSTANCE_COUNT", value=update.batch_size
                ),
                wait_interval_in_seconds=update.wait_seconds,
                maximum_execution_timeout_in_seconds=update.max_execution_seconds,
            ),
            auto_rollback_configuration=rollback,
        )
    canary = strategy == "canary"
    return Endpoint.DeploymentConfigProperty(
        blue_green_update_policy=Endpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=Endpoint.TrafficRoutingConfigProperty(
                type="CANARY" if canary else "ALL_AT_ONCE",
                canary_size=(
                    Endpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=update.batch_size)
                    if canary
                    else None
                ),
                wait_interval_in_seconds=update.wait_seconds,
            ),
            maximum_execution_timeout_in_seconds=update.max_execution_seconds,
        ),
        auto_rollback_configuration=rollback,
    )


def component_deployment_config(
    update: UpdateSpec, alarms: Sequence[cloudwatch.IAlarm]
) -> Component.InferenceComponentDeploymentConfigProperty:
    """Rolling by copies: the only update policy inference components have."""
    return Component.InferenceComponentDeploymentConfigProperty(
        rolling_update_policy=Component.InferenceComponentRollingUpdatePolicyProperty(
            maximum_batch_size=Component.InferenceComponentCapacitySizeProperty(
                type="COPY_COUNT", value=update.batch_size
            ),
            wait_interval_in_seconds=update.wait_seconds,
            maximum_execution_timeout_in_seconds=update.max_execution_seconds,
        ),
        auto_rollback_configuration=(
            Component.AutoRollbackConfigurationProperty(
                alarms=[Component.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in alarms]
            )
            if alarms
            else None
        ),
    )


def describe_alarms_statement(alarms: Sequence[cloudwatch.IAlarm]) -> iam.PolicyStatement:
    """SageMaker reads the rollback alarms with the execution role ("Auto-Rollback Configuration and
    Monitoring": the role needs cloudwatch:DescribeAlarms on them); the action takes alarm ARNs."""
    return iam.PolicyStatement(
        sid="DescribeRollbackAlarms",
        actions=["cloudwatch:DescribeAlarms"],
        resources=[alarm.alarm_arn for alarm in alarms],
    )
