"""The kit's own cdk-nag pack: each rule fails a resource that breaks it and passes one that keeps it."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker

from sagemaker_openai.constructs._nag import KIT, acknowledge
from sagemaker_openai.constructs.nag_rules import SageMakerOpenAIChecks

Build = Callable[[cdk.Stack], Any]
ROLE = "arn:aws:iam::123456789012:role/exec"
S3_SOURCE = sagemaker.CfnModel.ModelDataSourceProperty(
    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
        s3_uri="s3://bucket/models/x/", s3_data_type="S3Prefix", compression_type="None"
    )
)


def _violations(build: Build) -> list[str]:
    stack = cdk.Stack(cdk.App(), "Checked")
    build(stack)
    return sorted(v.rule_name for v in SageMakerOpenAIChecks().validate_scope(stack).violations)


def _model(env: dict[str, str], *, source: Any = None, isolation: bool | None = None) -> Build:
    def build(stack: cdk.Stack) -> sagemaker.CfnModel:
        return sagemaker.CfnModel(
            stack,
            "Model",
            execution_role_arn=ROLE,
            enable_network_isolation=isolation,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image="image", environment=env, model_data_source=source
            ),
        )

    return build


@pytest.mark.parametrize(
    "env",
    [
        {"MY_API_KEY": "abc"},
        {"HUGGING_FACE_HUB_TOKEN": "x"},
        {"DB_PASSWORD": "x"},
        {"NOTES": "hf_" + "a" * 34},
        {"KEY_ID": "AKIA" + "A" * 16},
    ],
)
def test_secret_looking_environment_fails(env: dict[str, str]) -> None:
    assert _violations(_model(env)) == ["SageMakerOpenAI-SecretInEnvironment"]


def test_vllm_settings_are_not_secrets() -> None:
    env = {"SM_VLLM_MAX_NUM_BATCHED_TOKENS": "8192", "SM_VLLM_TOOL_CALL_PARSER": "hermes", "KEY": "value"}
    assert _violations(_model(env)) == []


def test_secret_in_a_component_container_fails() -> None:
    def build(stack: cdk.Stack) -> None:
        sagemaker.CfnInferenceComponent(
            stack,
            "Component",
            endpoint_name="ep",
            inference_component_name="ep-chat",
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                container=sagemaker.CfnInferenceComponent.InferenceComponentContainerSpecificationProperty(
                    image="image", environment={"OPENAI_API_KEY": "sk-" + "x" * 30}
                )
            ),
        )
        _log_group(stack, "/aws/sagemaker/InferenceComponents/ep-chat", 30)

    assert _violations(build) == ["SageMakerOpenAI-SecretInEnvironment"]


def _invoke_policy(resource: str) -> Build:
    def build(stack: cdk.Stack) -> None:
        iam.ManagedPolicy(
            stack,
            "Invoke",
            statements=[iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[resource])],
        )

    return build


@pytest.mark.parametrize(
    "resource", ["*", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/*", "arn:aws:s3:::bucket"]
)
def test_invoker_policy_beyond_endpoint_arns_fails(resource: str) -> None:
    assert _violations(_invoke_policy(resource)) == ["SageMakerOpenAI-InvokerScopedToEndpoints"]


def test_invoker_policy_on_endpoint_and_component_arns_passes() -> None:
    def build(stack: cdk.Stack) -> None:
        endpoint = sagemaker.CfnEndpoint(stack, "Endpoint", endpoint_config_name="config", endpoint_name="ep")
        _log_group(stack, "/aws/sagemaker/Endpoints/ep", 30)
        component = stack.format_arn(
            service="sagemaker", resource="inference-component", resource_name="ep-a"
        )
        iam.ManagedPolicy(
            stack,
            "Invoke",
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                    resources=[endpoint.attr_endpoint_arn, component],
                ),
                iam.PolicyStatement(actions=["sagemaker:CallWithBearerToken"], resources=["*"]),
            ],
        )

    assert _violations(build) == []


def _endpoint_config(*, role: str | None, model: str | None) -> Build:
    def build(stack: cdk.Stack) -> None:
        sagemaker.CfnEndpointConfig(
            stack,
            "Config",
            execution_role_arn=role,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name="AllTraffic",
                    model_name=model,
                    instance_type="ml.g6.2xlarge",
                    initial_instance_count=1,
                )
            ],
        )

    return build


@pytest.mark.parametrize(("role", "model"), [(None, None), (ROLE, "model")])
def test_component_endpoint_config_without_role_or_with_a_model_fails(
    role: str | None, model: str | None
) -> None:
    assert _violations(_endpoint_config(role=role, model=model)) == [
        "SageMakerOpenAI-ComponentEndpointConfig"
    ]


@pytest.mark.parametrize(("role", "model"), [(ROLE, None), (None, "model")])
def test_component_config_with_role_and_single_model_config_pass(role: str | None, model: str | None) -> None:
    assert _violations(_endpoint_config(role=role, model=model)) == []


@pytest.mark.parametrize("isolation", [None, False])
def test_s3_weights_without_network_isolation_fail(isolation: bool | None) -> None:
    assert _violations(_model({}, source=S3_SOURCE, isolation=isolation)) == [
        "SageMakerOpenAI-NetworkIsolationForS3Weights"
    ]


def test_s3_weights_with_network_isolation_and_hub_weights_pass() -> None:
    assert _violations(_model({}, source=S3_SOURCE, isolation=True)) == []
    assert _violations(_model({"HF_MODEL_ID": "Qwen/Qwen3-4B"})) == []


@pytest.mark.parametrize("acknowledged", [False, True])
def test_the_pack_runs_at_synth_and_honours_acknowledgments(tmp_path: Path, acknowledged: bool) -> None:
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(SageMakerOpenAIChecks(app))
    model = _model({}, source=S3_SOURCE, isolation=False)(cdk.Stack(app, "Checked"))
    if acknowledged:
        acknowledge(model, "NetworkIsolationForS3Weights", "the config turns it off", packs=(KIT,))
        app.synth()
        report = json.loads((tmp_path / "validation-report.json").read_text())
        (plugin,) = report["pluginReports"]
        assert [v["ruleName"] for v in plugin["suppressedViolations"]] == [
            "SageMakerOpenAI-NetworkIsolationForS3Weights"
        ]
    else:
        with pytest.raises(RuntimeError, match="SageMakerOpenAI-NetworkIsolationForS3Weights"):
            app.synth()


def _log_group(stack: cdk.Stack, name: str, retention: int | None) -> None:
    group = logs.CfnLogGroup(
        stack, f"Group{abs(hash(name))}", log_group_name=name, retention_in_days=retention
    )
    group.apply_removal_policy(cdk.RemovalPolicy.DESTROY)


def _endpoint_with_log_group(name: str, retention: int | None) -> Build:
    def build(stack: cdk.Stack) -> None:
        sagemaker.CfnEndpoint(stack, "Endpoint", endpoint_config_name="config", endpoint_name="ep")
        _log_group(stack, name, retention)

    return build


@pytest.mark.parametrize(
    ("group", "retention"),
    [("/aws/sagemaker/Endpoints/other", 30), ("/aws/sagemaker/Endpoints/ep", None)],
)
def test_endpoint_without_its_log_group_or_retention_fails(group: str, retention: int | None) -> None:
    assert _violations(_endpoint_with_log_group(group, retention)) == ["SageMakerOpenAI-LogGroupRetention"]


def test_endpoint_with_its_log_group_and_retention_passes() -> None:
    assert _violations(_endpoint_with_log_group("/aws/sagemaker/Endpoints/ep", 30)) == []


def test_component_without_its_log_group_fails() -> None:
    def build(stack: cdk.Stack) -> None:
        sagemaker.CfnInferenceComponent(
            stack,
            "Component",
            endpoint_name="ep",
            inference_component_name="ep-chat",
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name="m"
            ),
        )
        _log_group(stack, "/aws/sagemaker/Endpoints/ep-chat", 30)

    assert _violations(build) == ["SageMakerOpenAI-LogGroupRetention"]
