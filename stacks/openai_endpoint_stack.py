"""The deployable stack: one endpoint (single-model or inference components), its invoker and outputs."""

from datetime import datetime
from typing import Any

from aws_cdk import Aws, Stack, Tags
from constructs import Construct

from sagemaker_openai.config import SINGLE_MODEL_KEY, KitConfig, SingleModelConfig
from sagemaker_openai.constructs import (
    InferenceComponentEndpoint,
    InvokerRole,
    ModelOutput,
    OpenAIEndpointBase,
    VllmEndpoint,
    add_openai_outputs,
)
from sagemaker_openai.constructs.expiry import StackExpiry
from sagemaker_openai.constructs.operations import add_foundations, add_operations, encryption_key
from sagemaker_openai.naming import logical_id_suffix
from sagemaker_openai.naming.tags import KIT_TAG, REGION_TAG


class OpenAIEndpointStack(Stack):
    """Everything one deployment config describes; ``cdk destroy`` removes all of it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: KitConfig,
        expires_at: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"OpenAI-compatible SageMaker AI endpoint {config.endpoint_name} (sagemaker-openai)",
            **kwargs,
        )
        self.config = config
        self.endpoint: OpenAIEndpointBase
        self.key, self.network = add_foundations(self, config)
        kms_key = encryption_key(self.key)
        if isinstance(config, SingleModelConfig):
            single = VllmEndpoint(self, "Llm", props=config, encryption_key=kms_key)
            models = {
                SINGLE_MODEL_KEY: ModelOutput(
                    base_url=single.openai_base_url, served_model_name=single.served_model_name
                )
            }
            suffixes = None
            self.endpoint = single
        else:
            multi = InferenceComponentEndpoint(self, "Llm", props=config, encryption_key=kms_key)
            models = {
                key: ModelOutput(
                    base_url=multi.openai_base_url(key),
                    served_model_name=component.spec.served_name,
                    inference_component_name=component.component_name,
                )
                for key, component in multi.components.items()
            }
            suffixes = {key: logical_id_suffix(key) for key in models}
            self.endpoint = multi
        self.monitoring = add_operations(self, config, self.endpoint, key=self.key, network=self.network)
        self.invoker_role = InvokerRole(
            self,
            "InvokerRole",
            policy=self.endpoint.invoker_policy,
            trusted_principals=config.invoker.trusted_principals,
            max_session_hours=config.invoker.max_session_hours,
        )
        add_openai_outputs(
            self,
            mode=config.mode,
            endpoint_name=self.endpoint.endpoint_name,
            endpoint_arn=self.endpoint.endpoint_arn,
            invoker_role_arn=self.invoker_role.role_arn,
            invoker_policy_arn=self.endpoint.invoker_policy.policy_arn,
            models=models,
            output_suffixes=suffixes,
        )
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
        # The kit's own tag, which config `tags` cannot override: the leftover check finds resources by it.
        Tags.of(self).add(KIT_TAG, self.stack_name, priority=1000)
        Tags.of(self).add(REGION_TAG, Aws.REGION, priority=1000)
        self.tags.set_tag(KIT_TAG, self.stack_name)
        if expires_at is not None:
            self.expiry = StackExpiry(
                self,
                "Expiry",
                at=expires_at,
                alarm_name_prefix=f"{config.endpoint_name}-",
                alarm_topic=self.monitoring.topic,
            )
