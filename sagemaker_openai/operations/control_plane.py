"""Control-plane reads (DescribeStacks, DescribeEndpoint, DescribeInferenceComponent) with plain errors.

The invoker role may call the endpoint and nothing else, so the endpoint checks degrade to a note on
AccessDenied instead of failing: the call itself will show whether the endpoint answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import botocore.exceptions

from sagemaker_openai.client.errors import (
    CredentialsError,
    EndpointNotReadyError,
    SageMakerOpenAIError,
    StackOutputsError,
)
from sagemaker_openai.client.stack_outputs import StackOutputs
from sagemaker_openai.client.urls import RuntimeUrl

if TYPE_CHECKING:
    import boto3

_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# Updating endpoints keep serving the current deployment.
_SERVING_ENDPOINT = frozenset({"InService", "Updating", "SystemUpdating"})
_SERVING_COMPONENT = frozenset({"InService", "Updating"})


@dataclass(frozen=True)
class ReadinessNote:
    """Something worth telling the user that does not stop the call (a skipped check, zero copies)."""

    message: str


def read_stack_outputs(stack_name: str, *, session: boto3.Session, region: str) -> StackOutputs:
    """The outputs of a deployed stack, from CloudFormation DescribeStacks."""
    client = session.client("cloudformation", region_name=region)
    action = f"cloudformation:DescribeStacks on {stack_name}"
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        code, message = _error_code(exc), _error_message(exc)
        if code == "ValidationError" and "does not exist" in message:
            raise StackOutputsError(
                f"stack {stack_name} does not exist in {region}; check --stack and --region, "
                "or pass --outputs-file"
            ) from None
        if code in _ACCESS_DENIED:
            raise StackOutputsError(
                f"not allowed to call {action} (the invoker role may only call the endpoint); "
                "pass --outputs-file with the JSON `cdk deploy --outputs-file` wrote"
            ) from None
        raise StackOutputsError(f"{action} failed ({code}: {message}); pass --outputs-file instead") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise _connection_or_credentials_error(exc, action) from None
    stack = stacks[0]
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in stack.get("Outputs", [])
        if "OutputKey" in output and "OutputValue" in output
    }
    status = stack["StackStatus"]
    if not outputs and status.endswith("IN_PROGRESS"):
        raise StackOutputsError(
            f"stack {stack_name} is {status} and has no outputs yet; wait for it and retry"
        )
    return StackOutputs.from_outputs(stack_name, outputs, source=f"CloudFormation in {region}")


def check_endpoint_ready(target: RuntimeUrl, *, session: boto3.Session, region: str) -> ReadinessNote | None:
    """Raise EndpointNotReadyError unless the endpoint (and component) serve; a note when unsure."""
    client = session.client("sagemaker", region_name=region)
    endpoint = target.endpoint_name
    try:
        described = client.describe_endpoint(EndpointName=endpoint)
        component = None
        if target.inference_component_name is not None:
            component = client.describe_inference_component(
                InferenceComponentName=target.inference_component_name
            )
    except botocore.exceptions.ClientError as exc:
        code, message = _error_code(exc), _error_message(exc)
        if code in _ACCESS_DENIED:
            return ReadinessNote(
                "skipped the InService check: these credentials may not call sagemaker:DescribeEndpoint "
                "(expected for the invoker role)"
            )
        if code == "ValidationException" and "Could not find" in message:
            raise EndpointNotReadyError(
                f"{message.rstrip('.')} in {region}; check the stack is deployed in this region and account"
            ) from None
        return ReadinessNote(f"skipped the InService check ({code}: {message})")
    except botocore.exceptions.BotoCoreError as exc:
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            raise _connection_or_credentials_error(exc, "sagemaker:DescribeEndpoint") from None
        return ReadinessNote(f"skipped the InService check ({exc})")
    if described["EndpointStatus"] not in _SERVING_ENDPOINT:
        raise _not_serving(
            f"endpoint {endpoint}",
            described["EndpointStatus"],
            described.get("FailureReason"),
            f"wait for it (aws sagemaker wait endpoint-in-service --endpoint-name {endpoint})",
        )
    if component is None:
        return None
    name = component["InferenceComponentName"]
    if component["InferenceComponentStatus"] not in _SERVING_COMPONENT:
        raise _not_serving(
            f"inference component {name}",
            component["InferenceComponentStatus"],
            component.get("FailureReason"),
            "wait for it",
        )
    copies = component.get("RuntimeConfig", {}).get("CurrentCopyCount")
    if copies == 0:
        return ReadinessNote(
            f"inference component {name} has 0 copies (scaled to zero): requests get HTTP 400 "
            "'no capacity' until a copy starts, about 10 minutes after the first request"
        )
    return None


def _not_serving(what: str, status: str, reason: str | None, wait: str) -> EndpointNotReadyError:
    because = f" ({reason})" if reason else ""
    return EndpointNotReadyError(
        f"{what} is {status}, not InService{because}; {wait} or redeploy the stack if it failed"
    )


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _error_message(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def _connection_or_credentials_error(
    exc: botocore.exceptions.BotoCoreError, action: str
) -> SageMakerOpenAIError:
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return CredentialsError(
            f"no AWS credentials to call {action}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    return SageMakerOpenAIError(f"could not call {action} ({exc}); check your network and region")
