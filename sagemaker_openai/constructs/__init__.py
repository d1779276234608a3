"""Reusable constructs of the kit (the design card's ``constructs/``, nested so that it cannot shadow
the ``constructs`` library that aws-cdk-lib imports)."""

from sagemaker_openai.constructs.endpoint import OpenAIEndpointBase, VllmEndpoint
from sagemaker_openai.constructs.execution_role import ExecutionRole, WeightsLocation
from sagemaker_openai.constructs.image import VllmImage
from sagemaker_openai.constructs.inference_components import InferenceComponent, InferenceComponentEndpoint
from sagemaker_openai.constructs.invoker import InvokerPolicy, InvokerRole
from sagemaker_openai.constructs.model import VllmModel
from sagemaker_openai.constructs.outputs import ModelOutput, add_openai_outputs
from sagemaker_openai.constructs.scaling import ComponentScaling
from sagemaker_openai.constructs.urls import openai_base_url

__all__ = [
    "ComponentScaling",
    "ExecutionRole",
    "InferenceComponent",
    "InferenceComponentEndpoint",
    "InvokerPolicy",
    "InvokerRole",
    "ModelOutput",
    "OpenAIEndpointBase",
    "VllmEndpoint",
    "VllmImage",
    "VllmModel",
    "WeightsLocation",
    "add_openai_outputs",
    "openai_base_url",
]
