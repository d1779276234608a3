"""The single-model stack: every resource, property, IAM statement and output it promises."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import (
    COMMERCIAL,
    CONFIG_DIR,
    FIXTURES,
    Synthesized,
    arn_join,
    cloudformation_values,
    load_yaml,
    references,
    resolve,
)

from .expected_iam import SAGEMAKER_TRUST, execution_statements

Synth = Callable[[dict[str, Any]], Synthesized]
DEFAULT = load_yaml(CONFIG_DIR / "qwen3-4b.yaml")
REFS = {
    "AWS::Region": "us-east-1",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "qwen3-4b",
}


@pytest.fixture(scope="module")
def default(synth: Synth) -> Synthesized:
    return synth(DEFAULT)


@pytest.fixture(scope="module")
def s3(synth: Synth) -> Synthesized:
    return synth(load_yaml(FIXTURES / "s3-weights.yaml"))


def _logical_id(s: Synthesized, resource_type: str) -> str:
    (logical_id,) = s.resources(resource_type)
    return logical_id


def test_resources_are_exactly_the_promised_ones(default: Synthesized) -> None:
    types = sorted(v["Type"] for v in default.template["Resources"].values())
    assert types == [
        *["AWS::CloudWatch::Alarm"] * 3,
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Model",
    ]
    assert not default.resources("AWS::IAM::Policy"), "no inline policies"


def test_model_runs_the_vllm_dlc_with_qwen3_settings(default: Synthesized) -> None:
    model = default.one("AWS::SageMaker::Model")["Properties"]
    assert "ModelName" not in model, "generated names let CloudFormation replace the model"
    assert model["EnableNetworkIsolation"] is False
    container = model["PrimaryContainer"]
    assert "ModelDataSource" not in container
    assert container["Environment"] == {
        "HF_MODEL_ID": "Qwen/Qwen3-4B",
        "SM_VLLM_ENABLE_AUTO_TOOL_CHOICE": "true",
        "SM_VLLM_GPU_MEMORY_UTILIZATION": "0.9",
        "SM_VLLM_MAX_MODEL_LEN": "32768",
        "SM_VLLM_MAX_NUM_SEQS": "16",
        "SM_VLLM_REASONING_PARSER": "qwen3",
        "SM_VLLM_SERVED_MODEL_NAME": "qwen3-4b",
        "SM_VLLM_TENSOR_PARALLEL_SIZE": "1",
        "SM_VLLM_TOOL_CALL_PARSER": "hermes",
    }
    mapping_id = next(iter(default.template["Mappings"]))
    image = container["Image"]
    assert image["Fn::Join"][1][0] == {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "account"]}
    assert image["Fn::Join"][1][-1] == "/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
    registry = default.template["Mappings"][mapping_id]
    assert registry["us-east-1"] == {"account": "763104351884"}
    assert registry["af-south-1"] == {"account": "626614931356"}
    assert "cn-north-1" not in registry


def test_endpoint_config_sizes_the_variant_for_an_llm(default: Synthesized) -> None:
    config = default.one("AWS::SageMaker::EndpointConfig")["Properties"]
    assert "EndpointConfigName" not in config
    assert "KmsKeyId" not in config, "g6 instances have NVMe storage and reject a KMS key"
    model_id = _logical_id(default, "AWS::SageMaker::Model")
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
            "InstanceType": "ml.g6.2xlarge",
            "InitialInstanceCount": 1,
            "InitialVariantWeight": 1,
            "ContainerStartupHealthCheckTimeoutInSeconds": 1200,
            "ModelDataDownloadTimeoutInSeconds": 1200,
            "InferenceAmiVersion": "al2023-ami-sagemaker-inference-gpu-4-1",
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
        }
    ]


def test_endpoint_has_a_stable_name_and_comes_after_its_log_group(default: Synthesized) -> None:
    endpoint = default.one("AWS::SageMaker::Endpoint")
    group_id = _logical_id(default, "AWS::Logs::LogGroup")
    config_id = _logical_id(default, "AWS::SageMaker::EndpointConfig")
    assert endpoint["Properties"]["EndpointName"] == "qwen3-4b"
    assert endpoint["Properties"]["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}
    assert endpoint["DependsOn"] == [group_id]
    group = default.template["Resources"][group_id]
    assert group["Properties"]["LogGroupName"] == "/aws/sagemaker/Endpoints/qwen3-4b"
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Delete"
    assert group["UpdateReplacePolicy"] == "Delete"


def test_no_resource_is_retained_on_destroy(default: Synthesized) -> None:
    for logical_id, resource in default.template["Resources"].items():
        assert resource.get("DeletionPolicy", "Delete") == "Delete", logical_id


def test_execution_role_policy_is_exactly_least_privilege(default: Synthesized) -> None:
    assert default.policy_statements("SageMaker execution role") == execution_statements(
        default,
        ["/aws/sagemaker/Endpoints/qwen3-4b"],
        rollback_alarms=["MonitoringEndpointErrorRate5xxDF4EC083", "MonitoringEndpointLatencyP99CE50FCAE"],
    )


def test_execution_role_trusts_sagemaker_and_carries_only_its_policy(default: Synthesized) -> None:
    role_id, role = default.described("AWS::IAM::Role", "Pulls the vLLM")
    policy_id, _ = default.described("AWS::IAM::ManagedPolicy", "SageMaker execution role")
    props = role["Properties"]
    assert props["AssumeRolePolicyDocument"] == SAGEMAKER_TRUST
    assert props["ManagedPolicyArns"] == [{"Ref": policy_id}]
    model = default.one("AWS::SageMaker::Model")["Properties"]
    assert model["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "Policies" not in props
    assert "FullAccess" not in str(default.template)


def test_s3_weights_are_read_from_their_prefix_only(s3: Synthesized) -> None:
    model = s3.one("AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    assert model["PrimaryContainer"]["ModelDataSource"] == {
        "S3DataSource": {
            "S3Uri": "s3://example-weights/models/qwen3-4b/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    }
    assert "HF_MODEL_ID" not in model["PrimaryContainer"]["Environment"]
    statements = {s["Sid"]: s for s in s3.policy_statements("SageMaker execution role")}
    bucket = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::example-weights"]]}
    assert statements["ReadWeights0"] == {
        "Sid": "ReadWeights0",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::example-weights/models/qwen3-4b/*"]]
        },
    }
    assert statements["ListWeights0"] == {
        "Sid": "ListWeights0",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket,
        "Condition": {"StringLike": {"s3:prefix": ["models/qwen3-4b/", "models/qwen3-4b/*"]}},
    }
    assert "Metadata" not in s3.one("AWS::SageMaker::Model"), "no checkov skip once the model is isolated"


def test_invoker_policy_allows_this_endpoint_and_bearer_tokens_only(default: Synthesized) -> None:
    """AWS's example policy for the OpenAI route: CallWithBearerToken on * without a condition."""
    assert default.policy_statements("Call one SageMaker AI endpoint") == [
        {
            "Sid": "InvokeEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": arn_join("sagemaker", ":endpoint/qwen3-4b"),
        },
        {
            "Sid": "UseBearerTokens",
            "Effect": "Allow",
            "Action": "sagemaker:CallWithBearerToken",
            "Resource": "*",
        },
    ]


def test_invoker_role_trusts_the_deploying_account_by_default(default: Synthesized) -> None:
    role_id, role = default.described("AWS::IAM::Role", "Calls the endpoint")
    props = role["Properties"]
    root = ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]
    assert props["AssumeRolePolicyDocument"] == {
        "Statement": [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": {"Fn::Join": ["", root]}}}
        ],
        "Version": "2012-10-17",
    }
    assert props["MaxSessionDuration"] == 3600
    policy_id, _ = default.described("AWS::IAM::ManagedPolicy", "Call one")
    assert props["ManagedPolicyArns"] == [{"Ref": policy_id}]
    # Named by ARN, not referenced: the invoker is created at the start of a deploy, not after the endpoint.
    assert references(default.template, policy_id) == set()
    assert references(default.template, role_id) == {policy_id}


def test_outputs_resolve_to_the_documented_url_and_client_config(default: Synthesized) -> None:
    import json

    outputs = default.template["Outputs"]
    assert sorted(outputs) == sorted(
        [
            "OpenAIBaseUrl",
            "EndpointName",
            "EndpointArn",
            "InvokerRoleArn",
            "InvokerPolicyArn",
            "Region",
            "ClientConfig",
        ]
    )
    refs = cloudformation_values(default, COMMERCIAL)
    url = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/qwen3-4b/openai/v1"
    assert resolve(outputs["OpenAIBaseUrl"]["Value"], refs) == url
    assert resolve(outputs["Region"]["Value"], refs) == "us-east-1"
    china = resolve(
        outputs["OpenAIBaseUrl"]["Value"],
        refs | {"AWS::Region": "cn-north-1", "AWS::URLSuffix": "amazonaws.com.cn"},
    )
    assert china == "https://runtime.sagemaker.cn-north-1.amazonaws.com.cn/endpoints/qwen3-4b/openai/v1"
    client = json.loads(resolve(outputs["ClientConfig"]["Value"], refs))
    assert client == {
        "schema_version": 1,
        "stack_name": "qwen3-4b",
        "mode": "single_model",
        "region": "us-east-1",
        "endpoint_name": "qwen3-4b",
        "endpoint_arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/qwen3-4b",
        "invoker_role_arn": resolve(outputs["InvokerRoleArn"]["Value"], refs),
        "invoker_policy_arn": resolve(outputs["InvokerPolicyArn"]["Value"], refs),
        "models": {"default": {"base_url": url, "served_model_name": "qwen3-4b"}},
    }


def test_synth_without_account_or_region_is_environment_agnostic(default: Synthesized) -> None:
    import json

    manifest = json.loads((default.outdir / "manifest.json").read_text())
    assert manifest["artifacts"][default.stack_name]["environment"] == "aws://unknown-account/unknown-region"
    rule = next(r for k, r in default.template["Rules"].items() if "SupportedRegion" in k)
    (assertion,) = rule["Assertions"]
    regions, region_ref = assertion["Assert"]["Fn::Contains"]
    assert region_ref == {"Ref": "AWS::Region"}
    assert "us-east-1" in regions
    assert "cn-north-1" not in regions
    assert "Deploy to one of them, or set image.uri" in assertion["AssertDescription"]


def test_full_image_uri_serves_china_and_pins_its_region(synth: Synth) -> None:
    china = synth(load_yaml(FIXTURES / "image-uri-cn.yaml"))
    assert not china.template.get("Mappings")
    model = china.one("AWS::SageMaker::Model")["Properties"]
    assert model["PrimaryContainer"]["Image"] == (
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
    )
    pull = next(s for s in china.policy_statements("SageMaker execution role") if s["Sid"] == "PullImage")
    assert resolve(pull["Resource"], REFS | {"AWS::Partition": "aws-cn"}) == (
        "arn:aws-cn:ecr:cn-north-1:727897471807:repository/vllm"
    )
    rule = next(r for k, r in china.template["Rules"].items() if "ImageRegion" in k)
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "cn-north-1"]}


def test_config_tags_and_the_kit_tag_reach_every_taggable_resource(synth: Synth) -> None:
    # The kit's own tag names the stack whatever the config says (the leftover check relies on it).
    config_tags = {"team": "ml", "cost-center": "42", "sagemaker-openai:stack": "not-the-stack"}
    tagged = synth(DEFAULT | {"tags": config_tags})
    for logical_id, resource in tagged.template["Resources"].items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            continue  # managed policies take no tags in CloudFormation
        tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
        assert tags == {
            "team": "ml",
            "cost-center": "42",
            "sagemaker-openai:stack": "qwen3-4b",
            "sagemaker-openai:region": {"Ref": "AWS::Region"},
        }, logical_id
