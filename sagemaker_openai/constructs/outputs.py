"""Stack outputs a client needs, with fixed logical IDs (the keys of ``cdk deploy --outputs-file``)."""

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Aws, CfnOutput, Stack

CLIENT_CONFIG_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelOutput:
    """What a client needs to call one model: its URL, its component (if any) and the name vLLM serves."""

    base_url: str
    served_model_name: str
    inference_component_name: str | None = None


def add_openai_outputs(
    stack: Stack,
    *,
    mode: str,
    endpoint_name: str,
    endpoint_arn: str,
    invoker_role_arn: str,
    invoker_policy_arn: str,
    models: Mapping[str, ModelOutput],
    output_suffixes: Mapping[str, str] | None = None,
) -> None:
    """Add the client outputs at stack scope.

    Single-model mode (``output_suffixes`` None) gets one ``OpenAIBaseUrl``; inference-component mode
    gets ``OpenAIBaseUrl<Suffix>`` and ``InferenceComponentName<Suffix>`` per model key, and no
    endpoint-level URL, because such an endpoint answers only on a component's path.
    """
    for key, model in models.items():
        suffix = "" if output_suffixes is None else output_suffixes[key]
        where = "the endpoint" if output_suffixes is None else f"model {key!r}"
        CfnOutput(
            stack,
            f"OpenAIBaseUrl{suffix}",
            value=model.base_url,
            description=f"OpenAI-compatible base URL of {where}; authenticate with a SageMaker bearer token",
        )
        if model.inference_component_name is not None:
            CfnOutput(
                stack,
                f"InferenceComponentName{suffix}",
                value=model.inference_component_name,
                description=f"Inference component of model {key!r}",
            )
    CfnOutput(stack, "EndpointName", value=endpoint_name, description="SageMaker AI endpoint name")
    CfnOutput(stack, "EndpointArn", value=endpoint_arn, description="SageMaker AI endpoint ARN")
    CfnOutput(
        stack,
        "InvokerRoleArn",
        value=invoker_role_arn,
        description="Role that may call the endpoint with bearer tokens, and nothing else",
    )
    CfnOutput(
        stack,
        "InvokerPolicyArn",
        value=invoker_policy_arn,
        description="Managed policy to attach to your own roles so they may call the endpoint",
    )
    CfnOutput(
        stack, "Region", value=Aws.REGION, description="Region of the endpoint (tokens are region-bound)"
    )
    client_config = {
        "schema_version": CLIENT_CONFIG_SCHEMA_VERSION,
        "stack_name": Aws.STACK_NAME,
        "mode": mode,
        "region": Aws.REGION,
        "endpoint_name": endpoint_name,
        "endpoint_arn": endpoint_arn,
        "invoker_role_arn": invoker_role_arn,
        "invoker_policy_arn": invoker_policy_arn,
        "models": {
            key: {
                "base_url": model.base_url,
                "inference_component_name": model.inference_component_name,
                "served_model_name": model.served_model_name,
            }
            for key, model in models.items()
        },
    }
    CfnOutput(
        stack,
        "ClientConfig",
        value=stack.to_json_string(client_config),
        description=f"Everything a client needs, as JSON (schema_version {CLIENT_CONFIG_SCHEMA_VERSION})",
    )
