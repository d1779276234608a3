"""The deployment config: one YAML file per deployment, validated once before any construct is built.

The pydantic models double as the typed props of the constructs, so code that builds a stack without
YAML gets the same checks. ``load_config`` turns every failure into one ``ConfigError`` line that names
the file as the user gave it, the field and what is allowed. One module per concern:

- ``model``: where a model's weights come from, its vLLM settings and the DLC image;
- ``operations``: the invoker, logs, VPC, autoscaling, monitoring and KMS;
- ``shapes``: the single-model and inference-component deployments built from the two above;
- ``loading``: the YAML reader and the error messages.
"""

from sagemaker_openai.catalog.vllm_flags import VllmArgValue
from sagemaker_openai.config._base import ConfigWarning, Spec, TimeoutSeconds, collect_warnings
from sagemaker_openai.config.deployment import (
    DEFAULT_INSTANCE_TYPE,
    SINGLE_MODEL_KEY,
    UNSUPPORTED_ROUTING_STRATEGIES,
    DeploymentBase,
    RoutingStrategy,
)
from sagemaker_openai.config.inference_components import (
    ComponentSpec,
    CopiesSpec,
    InferenceComponentConfig,
    ManagedScalingSpec,
    ScaleInPolicySpec,
)
from sagemaker_openai.config.loading import DEFAULT_CONFIG_PATH, load_config, parse_config
from sagemaker_openai.config.model import (
    DEFAULT_HF_MODEL_ID,
    ENV_ENTRY_MAX,
    ENV_TOTAL_MAX,
    ImageSpec,
    InferenceAmiVersion,
    ModelSpec,
    VllmSettings,
)
from sagemaker_openai.config.operations import (
    AlarmThresholds,
    AutoscalingSpec,
    CapacityReservationSpec,
    InvokerSpec,
    KmsSpec,
    LogRetentionDays,
    LogsSpec,
    MonitoringSpec,
    PrefixAwareRoutingSpec,
    UpdateSpec,
    UpdateStrategy,
    VpcSpec,
)
from sagemaker_openai.config.shapes import DeploymentConfig, KitConfig
from sagemaker_openai.config.single_model import SingleModelConfig

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_HF_MODEL_ID",
    "DEFAULT_INSTANCE_TYPE",
    "ENV_ENTRY_MAX",
    "ENV_TOTAL_MAX",
    "SINGLE_MODEL_KEY",
    "UNSUPPORTED_ROUTING_STRATEGIES",
    "AlarmThresholds",
    "AutoscalingSpec",
    "CapacityReservationSpec",
    "ComponentSpec",
    "ConfigWarning",
    "CopiesSpec",
    "DeploymentBase",
    "DeploymentConfig",
    "ImageSpec",
    "InferenceAmiVersion",
    "InferenceComponentConfig",
    "InvokerSpec",
    "KitConfig",
    "KmsSpec",
    "LogRetentionDays",
    "LogsSpec",
    "ManagedScalingSpec",
    "ModelSpec",
    "MonitoringSpec",
    "PrefixAwareRoutingSpec",
    "RoutingStrategy",
    "ScaleInPolicySpec",
    "SingleModelConfig",
    "Spec",
    "TimeoutSeconds",
    "UpdateSpec",
    "UpdateStrategy",
    "VllmArgValue",
    "VllmSettings",
    "VpcSpec",
    "collect_warnings",
    "load_config",
    "parse_config",
]
