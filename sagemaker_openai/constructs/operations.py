"""Wiring of the operations settings (kms, vpc, autoscaling, monitoring) around an endpoint construct.

The key and the network come first, because the endpoint's log groups and models use them; the
rest attaches to the finished endpoint.
"""

from aws_cdk import aws_kms as kms
from constructs import Construct

from sagemaker_openai.config import InferenceComponentConfig, KitConfig, SingleModelConfig
from sagemaker_openai.constructs.alarm_sources import alarm_name_prefixes
from sagemaker_openai.constructs.endpoint import (
    ENDPOINT_LOG_GROUP,
    VARIANT_NAME,
    OpenAIEndpointBase,
    VllmEndpoint,
)
from sagemaker_openai.constructs.inference_components import COMPONENT_LOG_GROUP, InferenceComponentEndpoint
from sagemaker_openai.constructs.kms import DeploymentKey, weights_decrypt_statement
from sagemaker_openai.constructs.monitoring import (
    EndpointMonitoring,
    MonitoredComponent,
    ScalingTarget,
)
from sagemaker_openai.constructs.variant_scaling import VariantScaling
from sagemaker_openai.constructs.vpc import FLOW_LOG_GROUP, ModelNetwork


def stack_log_group_names(config: KitConfig) -> list[str]:
    """Every log group the stack creates for ``config``, by name."""
    names = [ENDPOINT_LOG_GROUP.format(name=config.endpoint_name)]
    if isinstance(config, InferenceComponentConfig):
        names += [COMPONENT_LOG_GROUP.format(name=config.component_name(model)) for model in config.models]
    if config.vpc is not None and config.vpc.create:
        names.append(FLOW_LOG_GROUP.format(name=config.endpoint_name))
    return names


def stack_alarm_name_prefixes(config: KitConfig) -> list[str]:
    """What the names of the stack's alarms start with (the endpoint's and the components' names)."""
    components = (
        [config.component_name(model) for model in config.models]
        if isinstance(config, InferenceComponentConfig)
        else []
    )
    return alarm_name_prefixes(config.endpoint_name, components)


def add_foundations(scope: Construct, config: KitConfig) -> tuple[DeploymentKey | None, ModelNetwork | None]:
    """The key and the network the endpoint construct needs, when the config asks for them."""
    key = (
        DeploymentKey(
            scope,
            "Key",
            spec=config.kms,
            log_group_names=stack_log_group_names(config),
            alarm_name_prefixes=stack_alarm_name_prefixes(config),
        )
        if config.kms is not None
        else None
    )
    network = (
        ModelNetwork(
            scope,
            "Network",
            spec=config.vpc,
            name=config.endpoint_name,
            logs_spec=config.logs,
            encryption_key=key.key if key else None,
        )
        if config.vpc is not None
        else None
    )
    return key, network


def encryption_key(key: DeploymentKey | None) -> kms.IKey | None:
    return key.key if key is not None else None


def add_operations(
    scope: Construct,
    config: KitConfig,
    endpoint: OpenAIEndpointBase,
    *,
    key: DeploymentKey | None,
    network: ModelNetwork | None,
) -> EndpointMonitoring:
    """Attach the network, the weights' keys, variant autoscaling and monitoring to ``endpoint``."""
    if isinstance(endpoint, VllmEndpoint):
        models = [endpoint.model.resource]
        ic_config = None
    else:
        assert isinstance(endpoint, InferenceComponentEndpoint)
        models = [component.model.resource for component in endpoint.components.values()]
        ic_config = endpoint.endpoint_config
    role_policy = endpoint.execution_role.policy
    if network is not None:
        network.attach(models=models, role_policy=role_policy, endpoint_config=ic_config)
    specs = [model for _, model in config.model_specs()]
    weight_keys = sorted({m.s3_kms_key_arn for m in specs if m.s3_kms_key_arn is not None})
    if key is not None and any(m.s3_uri is not None for m in specs):
        weight_keys.insert(0, key.key_arn)
    if weight_keys:
        role_policy.add_statements(weights_decrypt_statement(weight_keys))
    if key is not None and config.kms is not None and config.kms.storage_volume:
        # Reached only by instance types without NVMe storage; the config refuses it for the others.
        endpoint.endpoint_config.kms_key_id = key.key_arn
    scaling: dict[str, ScalingTarget] = {}
    components: list[MonitoredComponent] = []
    if isinstance(config, SingleModelConfig) and config.autoscaling is not None:
        spec = config.autoscaling
        VariantScaling(
            scope,
            "VariantScaling",
            endpoint=endpoint.endpoint,
            endpoint_name=config.endpoint_name,
            variant_name=VARIANT_NAME,
            spec=spec,
        )
        scaling["endpoint"] = (
            ScalingTarget(
                "ConcurrentRequestsPerModel", "Maximum", spec.target_concurrent_requests_per_instance
            )
            if spec.target_concurrent_requests_per_instance is not None
            else ScalingTarget(
                "InvocationsPerInstance", "Sum", float(spec.target_invocations_per_instance or 0)
            )
        )
    if isinstance(config, InferenceComponentConfig):
        for model in config.models:
            components.append(
                MonitoredComponent(model.key, config.component_name(model), model.copies.scales_to_zero)
            )
            scaling[model.key] = ScalingTarget(
                "ConcurrentRequestsPerCopy", "Maximum", model.copies.target_concurrent_requests_per_copy
            )
    monitoring = EndpointMonitoring(
        scope,
        "Monitoring",
        spec=config.monitoring,
        endpoint_name=config.endpoint_name,
        variant_name=VARIANT_NAME,
        instance=config.instance,
        components=components,
        scaling=scaling,
        encryption_key=encryption_key(key),
    )
    if isinstance(endpoint, VllmEndpoint):
        endpoint.set_update_policy(monitoring.rollback_alarms.get(None, []))
    else:
        assert isinstance(endpoint, InferenceComponentEndpoint)
        endpoint.set_update_policy(monitoring.rollback_alarms)
    return monitoring
