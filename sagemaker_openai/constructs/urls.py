"""The OpenAI-compatible base URLs of SageMaker AI endpoints, built from intrinsics for every partition."""

from aws_cdk import Aws, Fn


def openai_base_url(endpoint_name: str, component_name: str | None = None) -> str:
    """``https://runtime.sagemaker.<region>.<url-suffix>/endpoints/<ep>[/inference-components/<ic>]/openai/v1``."""
    path = f"/endpoints/{endpoint_name}"
    if component_name is not None:
        path += f"/inference-components/{component_name}"
    return Fn.join("", ["https://runtime.sagemaker.", Aws.REGION, ".", Aws.URL_SUFFIX, f"{path}/openai/v1"])
