"""The constructs used directly from CDK code: grant_invoke, base URLs and the errors they raise."""

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from sagemaker_openai.config import ModelSpec, SingleModelConfig
from sagemaker_openai.constructs import VllmEndpoint, openai_base_url
from tests.conftest import cdk_json_context, resolve


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=cdk_json_context()), "Mine")


def _endpoint(stack: cdk.Stack) -> VllmEndpoint:
    props = SingleModelConfig(name="my-llm", model=ModelSpec(hf_model_id="Qwen/Qwen3-4B"))
    return VllmEndpoint(stack, "Llm", props=props)


def test_grant_invoke_attaches_the_managed_invoker_policy_to_a_role_user_and_group() -> None:
    stack = _stack()
    endpoint = _endpoint(stack)
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    user = iam.User(stack, "Person")
    group = iam.Group(stack, "Team")
    for grantee in (role, user, group):
        endpoint.grant_invoke(grantee)
    template = Template.from_stack(stack)
    policy_id = stack.get_logical_id(endpoint.invoker_policy.policy.node.default_child)  # type: ignore[arg-type]
    resources: dict[str, Any] = template.to_json()["Resources"]
    for construct in (role, user, group):
        logical_id = stack.get_logical_id(construct.node.default_child)  # type: ignore[arg-type]
        assert resources[logical_id]["Properties"]["ManagedPolicyArns"] == [{"Ref": policy_id}]
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_grant_invoke_refuses_what_a_managed_policy_cannot_attach_to() -> None:
    stack = _stack()
    endpoint = _endpoint(stack)
    with pytest.raises(TypeError, match="grant_invoke needs an IAM role, user or group defined in this app"):
        endpoint.grant_invoke(iam.ServicePrincipal("lambda.amazonaws.com"))


def test_base_url_property_and_function_agree() -> None:
    stack = _stack()
    endpoint = _endpoint(stack)
    endpoint_id = stack.get_logical_id(endpoint.endpoint)
    refs = {
        "AWS::Region": "us-west-2",
        "AWS::URLSuffix": "amazonaws.com",
        f"{endpoint_id}.EndpointName": "my-llm",
    }
    assert resolve(stack.resolve(endpoint.openai_base_url), refs) == (
        "https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/my-llm/openai/v1"
    )
    assert resolve(stack.resolve(openai_base_url("ep", "ic")), refs) == (
        "https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/ep/inference-components/ic/openai/v1"
    )


def test_two_stacks_live_side_by_side() -> None:
    app = cdk.App(context=cdk_json_context())
    stacks = []
    for name in ("team-a", "team-b"):
        stack = cdk.Stack(app, name)
        VllmEndpoint(stack, "Llm", props=SingleModelConfig(name=name))
        stacks.append(stack)
    templates = [Template.from_stack(stack).to_json() for stack in stacks]
    for template, name in zip(templates, ("team-a", "team-b"), strict=True):
        (endpoint,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"]
        assert endpoint["Properties"]["EndpointName"] == name
        (group,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
        assert group["Properties"]["LogGroupName"] == f"/aws/sagemaker/Endpoints/{name}"
