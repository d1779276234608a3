"""The baseline for bench_synth.py: the same deployment as config/qwen3-4b.yaml in bare L1 constructs
(its four default alarms included), with no config validation, no checks and no outputs beyond the URL."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker

app = cdk.App()
stack = cdk.Stack(app, "plain-l1")
tag = "0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
image = f"763104351884.dkr.ecr.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/vllm:{tag}"
group = logs.CfnLogGroup(
    stack, "Logs", log_group_name="/aws/sagemaker/Endpoints/plain-l1", retention_in_days=30
)
role = iam.CfnRole(
    stack,
    "Role",
    assume_role_policy_document={
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    },
)
model = sagemaker.CfnModel(
    stack,
    "Model",
    execution_role_arn=role.attr_arn,
    primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
        image=image, environment={"HF_MODEL_ID": "Qwen/Qwen3-4B", "SM_VLLM_MAX_MODEL_LEN": "32768"}
    ),
)
config = sagemaker.CfnEndpointConfig(
    stack,
    "Config",
    production_variants=[
        sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name="AllTraffic",
            model_name=model.attr_model_name,
            instance_type="ml.g6.2xlarge",
            initial_instance_count=1,
            inference_ami_version="al2023-ami-sagemaker-inference-gpu-4-1",
        )
    ],
)
endpoint = sagemaker.CfnEndpoint(
    stack, "Endpoint", endpoint_name="plain-l1", endpoint_config_name=config.attr_endpoint_config_name
)
endpoint.add_dependency(group)
iam.CfnManagedPolicy(
    stack,
    "Invoker",
    policy_document={
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": endpoint.attr_endpoint_arn},
            {"Effect": "Allow", "Action": "sagemaker:CallWithBearerToken", "Resource": "*"},
        ],
    },
)
variant = [
    cloudwatch.CfnAlarm.DimensionProperty(name="EndpointName", value="plain-l1"),
    cloudwatch.CfnAlarm.DimensionProperty(name="VariantName", value="AllTraffic"),
]
for alarm_id, namespace, metric, threshold in (
    ("Errors", "AWS/SageMaker", "Invocation5XXErrors", 5),
    ("Latency", "AWS/SageMaker", "ModelLatency", 30_000_000),
    ("Gpu", "/aws/sagemaker/Endpoints", "GPUUtilization", 90),
    ("Disk", "/aws/sagemaker/Endpoints", "DiskUtilization", 80),
):
    cloudwatch.CfnAlarm(
        stack,
        alarm_id,
        namespace=namespace,
        metric_name=metric,
        dimensions=variant,
        statistic="Maximum",
        period=300,
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator="GreaterThanOrEqualToThreshold",
    )
cdk.CfnOutput(
    stack,
    "OpenAIBaseUrl",
    value=f"https://runtime.sagemaker.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/endpoints/plain-l1/openai/v1",
)
app.synth()
