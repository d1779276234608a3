"""The two deployment shapes: a single-model endpoint, and an endpoint of inference components."""

from typing import Annotated

from pydantic import BaseModel, Field, TypeAdapter

from sagemaker_openai.config.inference_components import InferenceComponentConfig
from sagemaker_openai.config.single_model import SingleModelConfig

KitConfig = SingleModelConfig | InferenceComponentConfig
DeploymentConfig = Annotated[KitConfig, Field(discriminator="mode")]
ADAPTER: TypeAdapter[KitConfig] = TypeAdapter(DeploymentConfig)


MODE_CLASSES: dict[str, type[BaseModel]] = {
    "single_model": SingleModelConfig,
    "inference_component": InferenceComponentConfig,
}
