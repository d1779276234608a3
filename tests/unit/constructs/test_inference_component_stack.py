"""Inference-component mode: one endpoint, one component per model, scaling, ordering and outputs."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import CONFIG_DIR, FIXTURES, Synthesized, load_yaml, resolve

Synth = Callable[[dict[str, Any]], Synthesized]


@pytest.fixture(scope="module")
def two(synth: Synth) -> Synthesized:
    return synth(load_yaml(CONFIG_DIR / "two-models-g6-12xlarge.yaml"))


@pytest.fixture(scope="module")
def zero(synth: Synth) -> Synthesized:
    return synth(load_yaml(CONFIG_DIR / "qwen3-4b-scale-to-zero.yaml"))


def _component(s: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in s.resources("AWS::SageMaker::InferenceComponent").items()
        if v["Properties"]["InferenceComponentName"] == name
    ]
    return found


def test_endpoint_config_has_a_role_and_no_model(two: Synthesized) -> None:
    config = two.one("AWS::SageMaker::EndpointConfig")["Properties"]
    role_id, _ = two.described("AWS::IAM::Role", "Pulls")
    assert config["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "InstanceType": "ml.g6.12xlarge",
            "InitialInstanceCount": 1,
            "InferenceAmiVersion": "al2023-ami-sagemaker-inference-gpu-4-1",
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2},
        }
    ]


def test_each_model_is_a_component_with_its_resources_and_timeouts(two: Synthesized) -> None:
    endpoint_id = next(iter(two.resources("AWS::SageMaker::Endpoint")))
    assert len(two.resources("AWS::SageMaker::InferenceComponent")) == 2
    assert len(two.resources("AWS::SageMaker::Model")) == 2
    _, props = _component(two, "two-models-qwen3-4b")
    model_id = props["Specification"]["ModelName"]["Fn::GetAtt"][0]
    assert props["EndpointName"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    assert props["VariantName"] == "AllTraffic"
    assert props["Specification"]["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": 1,
        "NumberOfCpuCoresRequired": 4,
        "MinMemoryRequiredInMb": 16384,
    }
    assert props["Specification"]["StartupParameters"] == {
        "ContainerStartupHealthCheckTimeoutInSeconds": 1200,
        "ModelDataDownloadTimeoutInSeconds": 1200,
    }
    assert props["RuntimeConfig"] == {"CopyCount": 2}
    model = two.template["Resources"][model_id]["Properties"]
    assert "ModelName" not in model
    assert model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen3-4B"
    _, small = _component(two, "two-models-qwen3-1-7b")
    small_model = two.template["Resources"][small["Specification"]["ModelName"]["Fn::GetAtt"][0]]
    assert small_model["Properties"]["PrimaryContainer"]["Environment"]["SM_VLLM_MAX_NUM_SEQS"] == "32"


def test_creation_and_deletion_order_follows_references(two: Synthesized) -> None:
    resources = two.template["Resources"]
    for component_id, props in two.resources("AWS::SageMaker::InferenceComponent").items():
        name = props["Properties"]["InferenceComponentName"]
        (target_id, target) = next(
            (k, v)
            for k, v in two.resources("AWS::ApplicationAutoScaling::ScalableTarget").items()
            if v["Properties"]["ResourceId"] == f"inference-component/{name}"
        )
        assert target["DependsOn"] == [component_id], "target goes before its component on destroy"
        assert "RoleARN" not in target["Properties"], "the service-linked role scales; no IAM role needed"
        group_id = resources[component_id]["DependsOn"]
        assert [resources[g]["Properties"]["LogGroupName"] for g in group_id] == [
            f"/aws/sagemaker/InferenceComponents/{name}"
        ]
        policies = [
            p
            for p in two.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
            if p["Properties"]["ScalingTargetId"] == {"Ref": target_id}
        ]
        assert [p["Properties"]["PolicyType"] for p in policies] == ["TargetTrackingScaling"]
    assert not two.resources("AWS::IAM::Policy")
    assert len(two.resources("AWS::IAM::Role")) == 2, "no role for autoscaling"


def test_copies_scale_on_concurrent_requests_per_copy(two: Synthesized) -> None:
    target = next(
        v["Properties"]
        for v in two.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
        if v["Properties"]["ResourceId"] == "inference-component/two-models-qwen3-4b"
    )
    assert target == {
        "ServiceNamespace": "sagemaker",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "ResourceId": "inference-component/two-models-qwen3-4b",
        "MinCapacity": 1,
        "MaxCapacity": 3,
        "Tags": [
            {"Key": "managed-by", "Value": "sagemaker-openai"},
            {"Key": "sagemaker-openai:region", "Value": {"Ref": "AWS::Region"}},
            {"Key": "sagemaker-openai:stack", "Value": "two-models"},
        ],
    }
    policy = next(
        v["Properties"]
        for v in two.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if v["Properties"]["PolicyName"] == "two-models-qwen3-4b-concurrency"
    )
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
        },
        "TargetValue": 4,
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }


def test_scale_to_zero_wakes_up_on_the_first_request(zero: Synthesized) -> None:
    config = zero.one("AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["ProductionVariants"][0]["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 1,
    }
    target_id, target = next(iter(zero.resources("AWS::ApplicationAutoScaling::ScalableTarget").items()))
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (0, 1)
    _, component = _component(zero, "qwen3-4b-zero-qwen3-4b")
    assert component["RuntimeConfig"] == {"CopyCount": 1}, (
        "SageMaker refuses to create a component with 0 copies"
    )
    (step_id,) = [
        k
        for k, v in zero.resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if v["Properties"]["PolicyType"] == "StepScaling"
    ]
    step = zero.template["Resources"][step_id]["Properties"]
    assert step["ScalingTargetId"] == {"Ref": target_id}
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Maximum",
        "Cooldown": 60,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    alarm = zero.one("AWS::CloudWatch::Alarm")["Properties"]
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["MetricName"] == "NoCapacityInvocationFailures"
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "qwen3-4b-zero-qwen3-4b"}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (
        "Sum",
        60,
        1,
        1,
    )
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Fn::GetAtt": [step_id, "Arn"]}]


def test_invoker_may_call_the_endpoint_and_its_components(two: Synthesized) -> None:
    endpoint_id = next(iter(two.resources("AWS::SageMaker::Endpoint")))
    component_ids = sorted(two.resources("AWS::SageMaker::InferenceComponent"))
    policy = two.policy_statements("Call one")
    invoke = policy[0]
    assert invoke["Action"] == "sagemaker:InvokeEndpoint"
    assert sorted(tuple(r["Fn::GetAtt"]) for r in invoke["Resource"]) == sorted(
        [(endpoint_id, "EndpointArn"), *((c, "InferenceComponentArn") for c in component_ids)]
    )
    assert policy[1]["Action"] == "sagemaker:CallWithBearerToken"


def test_limited_invoker_and_s3_component(synth: Synth) -> None:
    mixed = synth(load_yaml(FIXTURES / "ic-s3-limited-invoker.yaml"))
    chat_id, chat = _component(mixed, "ic-mixed-chat")
    policy = mixed.policy_statements("Call one")
    endpoint_id = next(iter(mixed.resources("AWS::SageMaker::Endpoint")))
    assert sorted(tuple(r["Fn::GetAtt"]) for r in policy[0]["Resource"]) == sorted(
        [(endpoint_id, "EndpointArn"), (chat_id, "InferenceComponentArn")]
    )
    assert chat["Specification"]["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 2
    _, invoker = mixed.described("AWS::IAM::Role", "Calls")
    trusted = invoker["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    refs = {"AWS::Partition": "aws"}
    assert sorted(resolve(t, refs) for t in trusted) == [
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::444455556666:role/ci",
    ]
    statements = {s["Sid"]: s for s in mixed.policy_statements("SageMaker execution")}
    assert set(statements) == {
        "PullImageAuth",
        "PullImage",
        "WriteLogs",
        "PutMetrics",
        "ReadWeights0",
        "ListWeights0",
    }
    assert len(statements["WriteLogs"]["Resource"]) == 6, "endpoint group and one per component, with streams"


def test_outputs_give_one_url_per_component_and_no_endpoint_url(two: Synthesized) -> None:
    outputs = two.template["Outputs"]
    assert "OpenAIBaseUrl" not in outputs
    assert {k for k in outputs if k.startswith(("OpenAIBaseUrl", "InferenceComponentName"))} == {
        "OpenAIBaseUrlQwen34b",
        "OpenAIBaseUrlQwen317b",
        "InferenceComponentNameQwen34b",
        "InferenceComponentNameQwen317b",
    }
    endpoint_id = next(iter(two.resources("AWS::SageMaker::Endpoint")))
    refs: dict[str, str] = {
        "AWS::Region": "eu-west-1",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "two-models",
        f"{endpoint_id}.EndpointName": "two-models",
        f"{endpoint_id}.EndpointArn": "arn",
    }
    refs |= {f"{k}.Arn": "role" for k in two.resources("AWS::IAM::Role")}
    refs |= dict.fromkeys(two.resources("AWS::IAM::ManagedPolicy"), "policy")
    base = "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/two-models/inference-components"
    assert resolve(outputs["OpenAIBaseUrlQwen34b"]["Value"], refs) == f"{base}/two-models-qwen3-4b/openai/v1"
    assert outputs["InferenceComponentNameQwen317b"]["Value"] == "two-models-qwen3-1-7b"
    client = json.loads(resolve(outputs["ClientConfig"]["Value"], refs))
    assert client["mode"] == "inference_component"
    assert client["models"] == {
        "qwen3-4b": {
            "base_url": f"{base}/two-models-qwen3-4b/openai/v1",
            "inference_component_name": "two-models-qwen3-4b",
            "served_model_name": "qwen3-4b",
        },
        "qwen3-1-7b": {
            "base_url": f"{base}/two-models-qwen3-1-7b/openai/v1",
            "inference_component_name": "two-models-qwen3-1-7b",
            "served_model_name": "qwen3-1.7b",
        },
    }
