"""An endpoint that hosts several vLLM models as inference components, each at its own URL."""

from collections.abc import Mapping, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_openai import naming
from sagemaker_openai.config import ComponentSpec, DeploymentBase, InferenceComponentConfig, LogsSpec
from sagemaker_openai.constructs.deployment import component_deployment_config, describe_alarms_statement
from sagemaker_openai.constructs.endpoint import (
    VARIANT_NAME,
    OpenAIEndpointBase,
    capacity_reservation_config,
    log_group,
    metrics_config,
    routing_config,
    sagemaker_arn,
)
from sagemaker_openai.constructs.execution_role import ExecutionRole, WeightsLocation
from sagemaker_openai.constructs.image import VllmImage
from sagemaker_openai.constructs.invoker import InvokerPolicy
from sagemaker_openai.constructs.model import VllmModel
from sagemaker_openai.constructs.scaling import ComponentScaling
from sagemaker_openai.constructs.urls import openai_base_url

COMPONENT_LOG_GROUP = "/aws/sagemaker/InferenceComponents/{name}"
Ic = sagemaker.CfnInferenceComponent
# Copy counts of any two Availability Zones differ by at most this (AvailabilityZoneBalance.MaxImbalance).
ZONE_MAX_IMBALANCE = 1


def _zone_balance() -> sagemaker.CfnInferenceComponent.InferenceComponentSchedulingConfigProperty:
    """Spread copies over instances and zones. PERMISSIVE is the one enforcement mode botocore lists
    (that it still places a copy it cannot balance is unverified, read from the name)."""
    return Ic.InferenceComponentSchedulingConfigProperty(
        placement_strategy="SPREAD",
        availability_zone_balance=Ic.InferenceComponentAvailabilityZoneBalanceProperty(
            enforcement_mode="PERMISSIVE", max_imbalance=ZONE_MAX_IMBALANCE
        ),
    )


class InferenceComponent(Construct):
    """One model of the endpoint: its CfnModel, its inference component, log group and autoscaling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: ComponentSpec,
        component_name: str,
        endpoint: sagemaker.CfnEndpoint,
        image: VllmImage,
        role: ExecutionRole,
        defaults: DeploymentBase,
        logs: LogsSpec,
        field: str,
        balance_zones: bool,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.component_name = component_name
        self.log_group = log_group(
            self,
            "LogGroup",
            name=COMPONENT_LOG_GROUP.format(name=component_name),
            spec=logs,
            encryption_key=encryption_key,
        )
        self.model = VllmModel(self, "Model", spec=spec, image=image, role=role, field=field)
        self.resource = sagemaker.CfnInferenceComponent(
            self,
            "Resource",
            inference_component_name=component_name,
            # A reference, so the component is created after the endpoint and deleted before it.
            endpoint_name=endpoint.attr_endpoint_name,
            variant_name=VARIANT_NAME,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.model.model_name,
                compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=spec.accelerators,
                    number_of_cpu_cores_required=spec.cpu_cores,
                    min_memory_required_in_mb=spec.memory_mib,
                ),
                startup_parameters=sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                    container_startup_health_check_timeout_in_seconds=(
                        spec.startup_health_check_timeout_seconds
                        or defaults.startup_health_check_timeout_seconds
                    ),
                    model_data_download_timeout_in_seconds=(
                        spec.model_data_download_timeout_seconds
                        or defaults.model_data_download_timeout_seconds
                    ),
                ),
                data_cache_config=(
                    Ic.InferenceComponentDataCacheConfigProperty(enable_caching=spec.data_cache)
                    if spec.data_cache is not None
                    else None
                ),
                scheduling_config=_zone_balance() if balance_zones else None,
            ),
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=spec.copies.initial
            ),
        )
        # The component's log group is named, not referenced; SageMaker would create it otherwise.
        self.resource.node.add_dependency(self.log_group)
        self.scaling = ComponentScaling(
            self, "Scaling", component=self.resource, component_name=component_name, copies=spec.copies
        )

    @property
    def arn(self) -> str:
        """Built from the component's name, like ``OpenAIEndpointBase.endpoint_arn``."""
        return sagemaker_arn(self, "inference-component", self.component_name)


class InferenceComponentEndpoint(OpenAIEndpointBase):
    """An endpoint with managed instance scaling and one inference component per configured model.

    The endpoint config has an execution role and no model; each component names its own model and
    resources. Destroy order follows the references: scaling, then components, then the endpoint,
    its config and the models.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: InferenceComponentConfig,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id, props=props, encryption_key=encryption_key)
        names = {model.key: props.component_name(model) for model in props.models}
        weights = [
            WeightsLocation(*loc) for model in props.models if (loc := model.s3_location()) is not None
        ]
        self.execution_role = ExecutionRole(
            self,
            "ExecutionRole",
            repository_arn=self.image.repository_arn,
            log_group_names=[
                self.log_group_name,
                *(COMPONENT_LOG_GROUP.format(name=name) for name in names.values()),
            ],
            weights=weights,
        )
        scaling = props.managed_instance_scaling
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            execution_role_arn=self.execution_role.role_arn,
            # "All model containers deployed to the endpoint" (CreateEndpointConfig); set only when every
            # model may be isolated, since a Hub download needs the internet (see the config's warning).
            enable_network_isolation=True if props.network_isolation else None,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    instance_type=props.instance_type,
                    initial_instance_count=props.instance_count,
                    inference_ami_version=self.image.inference_ami_version,
                    routing_config=routing_config(props),
                    capacity_reservation_config=capacity_reservation_config(props),
                    managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                        status="ENABLED",
                        min_instance_count=scaling.min_instances,
                        max_instance_count=scaling.max_instances,
                        scale_in_policy=(
                            sagemaker.CfnEndpointConfig.ScaleInPolicyProperty(
                                strategy=scale_in.strategy,
                                maximum_step_size=scale_in.maximum_step_size,
                                cooldown_in_minutes=scale_in.cooldown_minutes,
                            )
                            if (scale_in := scaling.scale_in_policy) is not None
                            else None
                        ),
                    ),
                )
            ],
            metrics_config=metrics_config(props),
        )
        self._acknowledge_kms(self.endpoint_config, props.instance_type)
        self._create_endpoint(props, self.endpoint_config)
        self.components = {
            model.key: InferenceComponent(
                self,
                f"Component{naming.logical_id_suffix(model.key)}",
                spec=model,
                component_name=names[model.key],
                endpoint=self.endpoint,
                image=self.image,
                role=self.execution_role,
                defaults=props,
                logs=props.logs,
                field=f"models[{index}]",
                balance_zones=props.balances_zones,
                encryption_key=encryption_key,
            )
            for index, model in enumerate(props.models)
        }
        self.props = props
        allowed = props.invoker.models if props.invoker.models is not None else list(self.components)
        self.invoker_policy = InvokerPolicy(
            self,
            "InvokerPolicy",
            invoke_arns=[self.endpoint_arn, *(self.components[key].arn for key in allowed)],
            restrict_bearer_token_to_account=props.invoker.restrict_bearer_token_to_account,
        )

    def set_update_policy(self, rollback_alarms: Mapping[str | None, Sequence[cloudwatch.IAlarm]]) -> None:
        """Each component that can roll (its batch is 5% to 50% of its copies) gets a rolling
        DeploymentConfig, rolled back by its own alarms; the others keep SageMaker's default."""
        watched: list[cloudwatch.IAlarm] = []
        for model in self.props.models:
            if not self.props.rolls(model):
                continue
            component = self.components[model.key]
            alarms = list(rollback_alarms.get(component.component_name, ()))
            component.resource.deployment_config = component_deployment_config(self.props.update, alarms)
            watched += alarms
        if watched:
            self.execution_role.policy.add_statements(describe_alarms_statement(watched))

    def openai_base_url(self, model_key: str) -> str:
        return openai_base_url(self.endpoint_name, self.components[model_key].component_name)
