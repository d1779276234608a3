"""DescribeStacks, DescribeEndpoint and DescribeInferenceComponent answers, as results or clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from sagemaker_openai.client.errors import EndpointNotReadyError, StackOutputsError
from sagemaker_openai.client.urls import RuntimeUrl
from sagemaker_openai.operations.control_plane import check_endpoint_ready, read_stack_outputs

from .helpers import REGION, StubbedSession, aws_client, client_config

ENDPOINT = RuntimeUrl("demo-ep", None, REGION)
COMPONENT = RuntimeUrl("demo-ep", "demo-qwen", REGION)


@pytest.fixture
def cloudformation() -> Iterator[tuple[Stubber, StubbedSession]]:
    client = aws_client("cloudformation")
    with Stubber(client) as stubber:
        yield stubber, StubbedSession(cloudformation=client)


@pytest.fixture
def sagemaker() -> Iterator[tuple[Stubber, StubbedSession]]:
    client = aws_client("sagemaker")
    with Stubber(client) as stubber:
        yield stubber, StubbedSession(sagemaker=client)


def _stack(status: str, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "Demo",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": status,
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


def _endpoint(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "EndpointName": "demo-ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep",
        "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
        **extra,
    }


def _component(status: str, copies: int) -> dict[str, Any]:
    return {
        "InferenceComponentName": "demo-qwen",
        "InferenceComponentArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/demo-qwen",
        "EndpointName": "demo-ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep",
        "InferenceComponentStatus": status,
        "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }


def test_reads_outputs_from_cloudformation(cloudformation: tuple[Stubber, StubbedSession]) -> None:
    stubber, session = cloudformation
    stubber.add_response(
        "describe_stacks", _stack("CREATE_COMPLETE", {"ClientConfig": client_config()}), {"StackName": "Demo"}
    )
    stack = read_stack_outputs("Demo", session=session, region=REGION)
    assert stack.target().served_model_name == "Qwen/Qwen3-4B"


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "ValidationError",
            "Stack with id Nope does not exist",
            r"stack Nope does not exist in us-east-1; check --stack and --region, or pass --outputs-file",
        ),
        (
            "AccessDenied",
            "User is not authorized",
            r"not allowed to call cloudformation:DescribeStacks on Nope .*pass --outputs-file",
        ),
        (
            "Throttling",
            "Rate exceeded",
            r"cloudformation:DescribeStacks on Nope failed \(Throttling: Rate exceeded\)",
        ),
    ],
)
def test_describe_stacks_errors(
    cloudformation: tuple[Stubber, StubbedSession], code: str, message: str, expected: str
) -> None:
    stubber, session = cloudformation
    stubber.add_client_error(
        "describe_stacks", service_error_code=code, service_message=message, http_status_code=400
    )
    with pytest.raises(StackOutputsError, match=expected):
        read_stack_outputs("Nope", session=session, region=REGION)


def test_stack_still_deploying(cloudformation: tuple[Stubber, StubbedSession]) -> None:
    stubber, session = cloudformation
    stubber.add_response("describe_stacks", _stack("CREATE_IN_PROGRESS", {}))
    with pytest.raises(StackOutputsError, match="stack Demo is CREATE_IN_PROGRESS and has no outputs yet"):
        read_stack_outputs("Demo", session=session, region=REGION)


@pytest.mark.parametrize("status", ["InService", "Updating", "SystemUpdating"])
def test_serving_endpoints_pass(sagemaker: tuple[Stubber, StubbedSession], status: str) -> None:
    stubber, session = sagemaker
    stubber.add_response("describe_endpoint", _endpoint(status), {"EndpointName": "demo-ep"})
    assert check_endpoint_ready(ENDPOINT, session=session, region=REGION) is None


def test_creating_endpoint_is_refused_with_the_wait_command(
    sagemaker: tuple[Stubber, StubbedSession],
) -> None:
    stubber, session = sagemaker
    stubber.add_response("describe_endpoint", _endpoint("Creating"))
    with pytest.raises(EndpointNotReadyError) as raised:
        check_endpoint_ready(ENDPOINT, session=session, region=REGION)
    assert str(raised.value) == (
        "endpoint demo-ep is Creating, not InService; wait for it "
        "(aws sagemaker wait endpoint-in-service --endpoint-name demo-ep) or redeploy the stack if it failed"
    )


def test_failed_endpoint_shows_the_reason(sagemaker: tuple[Stubber, StubbedSession]) -> None:
    stubber, session = sagemaker
    stubber.add_response("describe_endpoint", _endpoint("Failed", FailureReason="Image pull failed"))
    with pytest.raises(
        EndpointNotReadyError, match=r"endpoint demo-ep is Failed, not InService \(Image pull failed\)"
    ):
        check_endpoint_ready(ENDPOINT, session=session, region=REGION)


def test_access_denied_degrades_to_a_note(sagemaker: tuple[Stubber, StubbedSession]) -> None:
    stubber, session = sagemaker
    stubber.add_client_error(
        "describe_endpoint", service_error_code="AccessDeniedException", http_status_code=400
    )
    note = check_endpoint_ready(ENDPOINT, session=session, region=REGION)
    assert note is not None
    assert note.message.startswith("skipped the InService check: these credentials may not call")


def test_missing_endpoint(sagemaker: tuple[Stubber, StubbedSession]) -> None:
    stubber, session = sagemaker
    stubber.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message='Could not find endpoint "demo-ep".',
        http_status_code=400,
    )
    with pytest.raises(
        EndpointNotReadyError, match=r'Could not find endpoint "demo-ep" in us-east-1; check the stack'
    ):
        check_endpoint_ready(ENDPOINT, session=session, region=REGION)


def test_component_states(sagemaker: tuple[Stubber, StubbedSession]) -> None:
    stubber, session = sagemaker
    stubber.add_response("describe_endpoint", _endpoint("InService"))
    stubber.add_response(
        "describe_inference_component", _component("InService", 0), {"InferenceComponentName": "demo-qwen"}
    )
    note = check_endpoint_ready(COMPONENT, session=session, region=REGION)
    assert note is not None
    assert "has 0 copies (scaled to zero)" in note.message

    stubber.add_response("describe_endpoint", _endpoint("InService"))
    stubber.add_response("describe_inference_component", _component("Creating", 1))
    with pytest.raises(
        EndpointNotReadyError, match="inference component demo-qwen is Creating, not InService"
    ):
        check_endpoint_ready(COMPONENT, session=session, region=REGION)

    stubber.add_response("describe_endpoint", _endpoint("InService"))
    stubber.add_response("describe_inference_component", _component("InService", 1))
    assert check_endpoint_ready(COMPONENT, session=session, region=REGION) is None
