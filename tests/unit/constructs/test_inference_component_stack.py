"""Inference-component mode: one endpoint, one component per model, scaling, ordering and outputs."""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import (
    COMMERCIAL,
    CONFIG_DIR,
    FIXTURES,
    ROOT,
    Synthesized,
    arn_join,
    cloudformation_values,
    load_yaml,
    references,
    resolve,
)

from .expected_iam import SAGEMAKER_TRUST, execution_statements

Synth = Callable[[dict[str, Any]], Synthesized]


@pytest.fixture(scope="module")
def two(synth: Synth) -> Synthesized:
    return synth(load_yaml(CONFIG_DIR / "two-models-g6-12xlarge.yaml"))


@pytest.fixture(scope="module")
def zero(synth: Synth) -> Synthesized:
    return synth(load_yaml(CONFIG_DIR / "qwen3-4b-scale-to-zero.yaml"))


@pytest.fixture(scope="module")
def mixed(synth: Synth) -> Synthesized:
    return synth(load_yaml(FIXTURES / "ic-s3-limited-invoker.yaml"))


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
    assert "EnableNetworkIsolation" not in config, "the models download from the Hub"
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
    # A field report (stdapi.ai issue 43), not an AWS document: a component with 0 copies was refused.
    assert component["RuntimeConfig"] == {"CopyCount": 1}
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
    (alarm,) = [
        v["Properties"]
        for v in zero.resources("AWS::CloudWatch::Alarm").values()
        if v["Properties"].get("AlarmActions") == [{"Fn::GetAtt": [step_id, "Arn"]}]
    ]
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


def _models_role(s: Synthesized) -> set[Any]:
    return {
        json.dumps(m["Properties"]["ExecutionRoleArn"]) for m in s.resources("AWS::SageMaker::Model").values()
    }


def test_iam_of_hub_components_is_exact(two: Synthesized) -> None:
    role_id, role = two.described("AWS::IAM::Role", "Pulls")
    policy_id, _ = two.described("AWS::IAM::ManagedPolicy", "SageMaker execution")
    assert role["Properties"]["AssumeRolePolicyDocument"] == SAGEMAKER_TRUST
    assert role["Properties"]["ManagedPolicyArns"] == [{"Ref": policy_id}]
    assert _models_role(two) == {json.dumps({"Fn::GetAtt": [role_id, "Arn"]})}
    assert two.policy_statements("SageMaker execution") == execution_statements(
        two,
        [
            "/aws/sagemaker/Endpoints/two-models",
            "/aws/sagemaker/InferenceComponents/two-models-qwen3-1-7b",
            "/aws/sagemaker/InferenceComponents/two-models-qwen3-4b",
        ],
    )
    assert two.policy_statements("Call one") == [
        {
            "Sid": "InvokeEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": [
                arn_join("sagemaker", ":endpoint/two-models"),
                arn_join("sagemaker", ":inference-component/two-models-qwen3-1-7b"),
                arn_join("sagemaker", ":inference-component/two-models-qwen3-4b"),
            ],
        },
        {
            "Sid": "UseBearerTokens",
            "Effect": "Allow",
            "Action": "sagemaker:CallWithBearerToken",
            "Resource": "*",
        },
    ]
    invoker_policy_id, _ = two.described("AWS::IAM::ManagedPolicy", "Call one")
    _, invoker = two.described("AWS::IAM::Role", "Calls")
    assert invoker["Properties"]["AssumeRolePolicyDocument"] == {
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {
                    "AWS": {
                        "Fn::Join": [
                            "",
                            ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"],
                        ]
                    }
                },
            }
        ],
        "Version": "2012-10-17",
    }
    assert invoker["Properties"]["ManagedPolicyArns"] == [{"Ref": invoker_policy_id}]
    assert invoker["Properties"]["MaxSessionDuration"] == 3600


def test_invoker_is_created_before_the_endpoint_and_its_components(two: Synthesized) -> None:
    """The invoker names the endpoint and components by ARN, not by reference: it does not wait for them,
    so a bad trusted principal fails the deploy in its first minute instead of after the endpoint is up."""
    policy_id, _ = two.described("AWS::IAM::ManagedPolicy", "Call one")
    role_id, _ = two.described("AWS::IAM::Role", "Calls")
    assert references(two.template, policy_id) == set()
    assert references(two.template, role_id) == {policy_id}
    values = cloudformation_values(two, COMMERCIAL)
    endpoint_id = next(iter(two.resources("AWS::SageMaker::Endpoint")))
    invoke = two.policy_statements("Call one")[0]["Resource"]
    assert resolve(invoke[0], values) == values[f"{endpoint_id}.EndpointArn"]
    component_arns = {
        values[f"{c}.InferenceComponentArn"] for c in two.resources("AWS::SageMaker::InferenceComponent")
    }
    assert {resolve(arn, values) for arn in invoke[1:]} == component_arns


def test_s3_components_and_limited_invoker_iam_is_exact(mixed: Synthesized) -> None:
    role_id, role = mixed.described("AWS::IAM::Role", "Pulls")
    assert role["Properties"]["AssumeRolePolicyDocument"] == SAGEMAKER_TRUST
    assert _models_role(mixed) == {json.dumps({"Fn::GetAtt": [role_id, "Arn"]})}
    bucket = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::example-weights"]]}
    weights = [
        statement
        for index, prefix in enumerate(["models/chat/", "models/small/"])
        for statement in (
            {
                "Sid": f"ReadWeights{index}",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": {
                    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::example-weights/{prefix}*"]]
                },
            },
            {
                "Sid": f"ListWeights{index}",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket,
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            },
        )
    ]
    assert mixed.policy_statements("SageMaker execution") == [
        *execution_statements(
            mixed,
            [
                "/aws/sagemaker/Endpoints/ic-mixed",
                "/aws/sagemaker/InferenceComponents/ic-mixed-chat",
                "/aws/sagemaker/InferenceComponents/ic-mixed-small-model",
            ],
        ),
        *weights,
    ]
    assert mixed.policy_statements("Call one") == [
        {
            "Sid": "InvokeEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": [
                arn_join("sagemaker", ":endpoint/ic-mixed"),
                arn_join("sagemaker", ":inference-component/ic-mixed-chat"),
            ],
        },
        {
            "Sid": "UseBearerTokens",
            "Effect": "Allow",
            "Action": "sagemaker:CallWithBearerToken",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
        },
    ]
    _, invoker = mixed.described("AWS::IAM::Role", "Calls")
    assert invoker["Properties"]["AssumeRolePolicyDocument"] == {
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {
                    "AWS": [
                        "arn:aws:iam::444455556666:role/ci",
                        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::111122223333:root"]]},
                    ]
                },
            }
        ],
        "Version": "2012-10-17",
    }
    assert invoker["Properties"]["MaxSessionDuration"] == 4 * 3600


def test_endpoint_config_isolates_every_container_when_all_weights_are_in_s3(mixed: Synthesized) -> None:
    config = mixed.one("AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["EnableNetworkIsolation"] is True
    for model in mixed.resources("AWS::SageMaker::Model").values():
        assert model["Properties"]["EnableNetworkIsolation"] is True
        assert "HF_MODEL_ID" not in model["Properties"]["PrimaryContainer"]["Environment"]
    _, chat = _component(mixed, "ic-mixed-chat")
    assert chat["Specification"]["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 2


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
    refs = cloudformation_values(two, COMMERCIAL)
    assert refs[f"{endpoint_id}.EndpointName"] == "two-models"
    base = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/two-models/inference-components"
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


def test_troubleshooting_names_the_log_groups_the_stack_creates(two: Synthesized) -> None:
    groups = sorted(g["Properties"]["LogGroupName"] for g in two.resources("AWS::Logs::LogGroup").values())
    assert groups == [
        "/aws/sagemaker/Endpoints/two-models",
        "/aws/sagemaker/InferenceComponents/two-models-qwen3-1-7b",
        "/aws/sagemaker/InferenceComponents/two-models-qwen3-4b",
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    troubleshooting = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(/aws/sagemaker/[A-Za-z]+/)<[a-z]+>`", troubleshooting))
    assert named == {group.rsplit("/", 1)[0] + "/" for group in groups}
