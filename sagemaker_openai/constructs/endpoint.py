"""A single-model vLLM endpoint, and what every kind of endpoint in the kit shares."""

from collections.abc import Sequence
from typing import cast

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_openai.config import DeploymentBase, LogsSpec, SingleModelConfig
from sagemaker_openai.constructs._nag import HIPAA, NIST_R5, acknowledge
from sagemaker_openai.constructs.deployment import describe_alarms_statement, endpoint_deployment_config
from sagemaker_openai.constructs.execution_role import ExecutionRole, WeightsLocation
from sagemaker_openai.constructs.image import VllmImage
from sagemaker_openai.constructs.invoker import InvokerPolicy
from sagemaker_openai.constructs.model import VllmModel
from sagemaker_openai.constructs.urls import openai_base_url

VARIANT_NAME = "AllTraffic"
ENDPOINT_LOG_GROUP = "/aws/sagemaker/Endpoints/{name}"


def log_group(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    spec: LogsSpec,
    encryption_key: kms.IKey | None = None,
) -> logs.LogGroup:
    """A log group that SageMaker would otherwise create itself, outside the stack, with no retention."""
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        removal_policy=RemovalPolicy.RETAIN if spec.retain_on_delete else RemovalPolicy.DESTROY,
        encryption_key=encryption_key,
    )
    resource = cast(logs.CfnLogGroup, group.node.default_child)
    # RetentionDays is an enum of names; the config holds the number CloudWatch Logs takes.
    resource.retention_in_days = spec.retention_days
    if encryption_key is not None:
        return group
    why = (
        "CloudWatch Logs encrypts every log group at rest with service-managed keys; a customer key "
        "(KmsKeyId) is used when the config sets kms."
    )
    acknowledge(group, "CloudWatchLogGroupEncrypted", why, packs=(NIST_R5, HIPAA))
    resource.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_158", "comment": why}]})
    return group


def routing_config(props: DeploymentBase) -> sagemaker.CfnEndpointConfig.RoutingConfigProperty:
    prefix = props.prefix_aware_routing
    return sagemaker.CfnEndpointConfig.RoutingConfigProperty(
        routing_strategy=props.routing_strategy,
        prefix_aware_routing_config=(
            sagemaker.CfnEndpointConfig.PrefixAwareRoutingConfigProperty(
                prefix_length=prefix.prefix_length, concurrency_threshold=prefix.concurrency_threshold
            )
            if prefix is not None
            else None
        ),
    )


def capacity_reservation_config(
    props: DeploymentBase,
) -> sagemaker.CfnEndpointConfig.CapacityReservationConfigProperty | None:
    if props.capacity_reservation is None:
        return None
    return sagemaker.CfnEndpointConfig.CapacityReservationConfigProperty(
        capacity_reservation_preference="capacity-reservations-only",  # the one value SageMaker has
        ml_reservation_arn=props.capacity_reservation.ml_reservation_arn,
    )


def metrics_config(props: DeploymentBase) -> sagemaker.CfnEndpointConfig.MetricsConfigProperty:
    """Written out in full, so that AWS's defaults (detailed observability on) never apply unseen."""
    monitoring = props.monitoring
    return sagemaker.CfnEndpointConfig.MetricsConfigProperty(
        enable_detailed_observability=monitoring.detailed_observability,
        enable_enhanced_metrics=monitoring.enhanced_metrics,
        metric_publish_frequency_in_seconds=monitoring.metric_publish_frequency_seconds,
    )


def sagemaker_arn(scope: Construct, resource: str, name: str) -> str:
    """The ARN of a SageMaker ``endpoint`` or ``inference-component`` of this stack, from its name.

    SageMaker lowercases names in ARNs, and IAM compares ARNs case-sensitively.
    """
    return Stack.of(scope).format_arn(
        service="sagemaker",
        resource=resource,
        resource_name=name.lower(),
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


class OpenAIEndpointBase(Construct):
    """An endpoint with its execution role, image, endpoint log group and invoker policy.

    Subclasses create ``self.endpoint`` and ``self.invoker_policy``.
    """

    endpoint: sagemaker.CfnEndpoint
    invoker_policy: InvokerPolicy

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: DeploymentBase,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._endpoint_arn = sagemaker_arn(self, "endpoint", props.endpoint_name)
        self.encryption_key = encryption_key
        self.image = VllmImage(self, "Image", spec=props.image)
        self.log_group_name = ENDPOINT_LOG_GROUP.format(name=props.endpoint_name)
        self.log_group = log_group(
            self, "LogGroup", name=self.log_group_name, spec=props.logs, encryption_key=encryption_key
        )

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.attr_endpoint_name

    @property
    def endpoint_arn(self) -> str:
        """The ARN as SageMaker reports it, built from the endpoint's name rather than read from it.

        A reference to the endpoint would make the invoker policy and role wait until the endpoint is
        InService; built from the name, they are created in the first minute of the deploy.
        """
        return self._endpoint_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Attach the managed invoker policy to ``grantee`` (a role, user or group)."""
        self.invoker_policy.attach_to(grantee)

    def _create_endpoint(self, props: DeploymentBase, config: sagemaker.CfnEndpointConfig) -> None:
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=props.endpoint_name,
            endpoint_config_name=config.attr_endpoint_config_name,
        )
        # SageMaker creates the log group when the endpoint starts if it does not exist yet; the
        # stack's group must come first (and, on destroy, go after the endpoint).
        self.endpoint.node.add_dependency(self.log_group)

    def _acknowledge_kms(self, config: sagemaker.CfnEndpointConfig, instance_type: str) -> None:
        acknowledge(
            config,
            "SageMakerEndpointConfigurationKMSKeyConfigured",
            f"{instance_type} has NVMe instance storage, which the instance encrypts in hardware; "
            "CreateEndpointConfig rejects a KmsKeyId for instance types with local storage.",
            packs=(NIST_R5, HIPAA),
        )


class VllmEndpoint(OpenAIEndpointBase):
    """One vLLM model on a single-model endpoint, answering at ``/endpoints/<name>/openai/v1``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: SingleModelConfig,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id, props=props, encryption_key=encryption_key)
        location = props.model.s3_location()
        self.execution_role = ExecutionRole(
            self,
            "ExecutionRole",
            repository_arn=self.image.repository_arn,
            log_group_names=[self.log_group_name],
            weights=[WeightsLocation(*location)] if location else [],
        )
        self.model = VllmModel(self, "Model", spec=props.model, image=self.image, role=self.execution_role)
        pools = (
            [
                sagemaker.CfnEndpointConfig.InstancePoolProperty(instance_type=name, priority=index)
                for index, name in enumerate(props.instance_types, start=1)
            ]
            if props.instance_pools
            else None
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=self.model.model_name,
                    # With pools, the types and their order are the pools' (priority 1 first).
                    instance_type=None if pools else props.instance_type,
                    instance_pools=pools,
                    variant_instance_provision_timeout_in_seconds=props.instance_provision_timeout_seconds,
                    initial_instance_count=props.instance_count,
                    initial_variant_weight=1.0,
                    container_startup_health_check_timeout_in_seconds=props.startup_health_check_timeout_seconds,
                    model_data_download_timeout_in_seconds=props.model_data_download_timeout_seconds,
                    inference_ami_version=self.image.inference_ami_version,
                    routing_config=routing_config(props),
                    capacity_reservation_config=capacity_reservation_config(props),
                )
            ],
            metrics_config=metrics_config(props),
        )
        self._acknowledge_kms(self.endpoint_config, props.instance_type)
        self._create_endpoint(props, self.endpoint_config)
        self.invoker_policy = InvokerPolicy(
            self,
            "InvokerPolicy",
            invoke_arns=[self.endpoint_arn],
            restrict_bearer_token_to_account=props.invoker.restrict_bearer_token_to_account,
        )
        self.served_model_name = props.model.served_name
        self.props = props

    def set_update_policy(self, rollback_alarms: Sequence[cloudwatch.IAlarm]) -> None:
        """The endpoint's DeploymentConfig, rolled back by ``rollback_alarms`` (which it then waits for)."""
        self.endpoint.deployment_config = endpoint_deployment_config(
            self.props.update, self.props.update_strategy, rollback_alarms
        )
        if rollback_alarms:
            self.execution_role.policy.add_statements(describe_alarms_statement(rollback_alarms))

    @property
    def openai_base_url(self) -> str:
        return openai_base_url(self.endpoint_name)
