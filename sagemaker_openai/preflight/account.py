"""The account and region: the CDK bootstrap, the image's region, and the instance quota."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_openai.catalog import images
from sagemaker_openai.config import InferenceComponentConfig, KitConfig, SingleModelConfig
from sagemaker_openai.preflight.report import Context, Finding, error_code, info, needs, ok, problem

BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# The synthesized template's CheckBootstrapVersion rule refuses versions 1 to 5.
MIN_BOOTSTRAP_VERSION = 6
# Endpoints in these states hold no instances (or are releasing them).
_IDLE_STATES = frozenset({"Failed", "Deleting"})


def check_bootstrap(ctx: Context) -> list[Finding]:
    name = "CDK bootstrap"
    command = f"`npx cdk bootstrap aws://{ctx.account}/{ctx.region}`"
    try:
        with needs("ssm:GetParameter"):
            value = ctx.client("ssm").get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return [
                problem(
                    name,
                    f"account {ctx.account} is not bootstrapped for the CDK in {ctx.region}: run {command}",
                )
            ]
        raise
    if not str(value).isdigit() or int(value) < MIN_BOOTSTRAP_VERSION:
        return [problem(name, f"bootstrap version {value} is too old: run {command} again")]
    return [ok(name, f"version {value}")]


def check_image_region(ctx: Context) -> list[Finding]:
    name = "image"
    config = ctx.config
    if config.image.uri is not None:
        image_region = images.parse_image_uri(config.image.uri).region
        if image_region != ctx.region:
            return [
                problem(
                    name,
                    f"image.uri is in {image_region} but the stack deploys to {ctx.region}; SageMaker "
                    "pulls images from the endpoint's region: use that region's copy",
                )
            ]
        return [ok(name, f"image.uri is in {ctx.region}")]
    release = images.vllm_release(config.image.vllm_version)
    if ctx.region not in release.registries:
        return [
            problem(
                name,
                f"the vLLM DLC {release.version} is not published in {ctx.region}; deploy to one of "
                f"{', '.join(release.regions)}, or set image.uri",
            )
        ]
    return [ok(name, f"vLLM DLC {release.version} is published in {ctx.region}")]


def quota_name(instance_type: str) -> str:
    return f"{instance_type} for endpoint usage"


def _quota_limit(ctx: Context, instance_type: str) -> float | None:
    client = ctx.client("service-quotas")
    wanted = quota_name(instance_type)
    # Applied values first; ListServiceQuotas omits quotas that only have their default value.
    for operation, action in (
        ("list_service_quotas", "servicequotas:ListServiceQuotas"),
        ("list_aws_default_service_quotas", "servicequotas:ListAWSDefaultServiceQuotas"),
    ):
        with needs(action):
            for page in client.get_paginator(operation).paginate(ServiceCode="sagemaker"):
                for quota in page.get("Quotas", []):
                    if quota.get("QuotaName") == wanted:
                        return float(quota["Value"])
    return None


def _instances_in_use(ctx: Context, instance_type: str) -> tuple[int, bool]:
    """Instances of `instance_type` held by the account's endpoints, and whether ours already exists."""
    sagemaker = ctx.client("sagemaker")
    with needs("sagemaker:ListEndpoints"):
        endpoints = [
            e
            for page in sagemaker.get_paginator("list_endpoints").paginate()
            for e in page.get("Endpoints", [])
            if e.get("EndpointStatus") not in _IDLE_STATES
        ]
    ours = ctx.config.endpoint_name

    def count(endpoint: dict[str, Any]) -> int:
        try:
            with needs("sagemaker:DescribeEndpoint"):
                described = sagemaker.describe_endpoint(EndpointName=endpoint["EndpointName"])
        except ClientError as exc:
            if error_code(exc) == "ValidationException":  # deleted since it was listed
                return 0
            raise
        with needs("sagemaker:DescribeEndpointConfig"):
            types = {
                v["VariantName"]: v.get("InstanceType")
                for v in sagemaker.describe_endpoint_config(
                    EndpointConfigName=described["EndpointConfigName"]
                )["ProductionVariants"]
            }
        return sum(
            max(v.get("CurrentInstanceCount", 0), v.get("DesiredInstanceCount", 0))
            for v in described.get("ProductionVariants", [])
            if types.get(v["VariantName"]) == instance_type
        )

    others = [e for e in endpoints if e["EndpointName"] != ours]
    with ThreadPoolExecutor(8) as pool:
        used = sum(pool.map(count, others))
    return used, len(others) != len(endpoints)


def check_quota(ctx: Context) -> list[Finding]:
    """The quota of instance_type, then of each fallback pool, against what the config can run."""
    config = ctx.config
    findings: list[Finding] = []
    for instance_type in config.instance_types:
        findings += _check_type_quota(ctx, instance_type, primary=instance_type == config.instance_type)
    return findings


def _update_needs(config: KitConfig) -> str:
    """How an update of this config holds more instances than it serves with, for the quota message."""
    if isinstance(config, SingleModelConfig):
        if config.update_strategy == "rolling":
            return f"a rolling update adds a batch of {config.update.batch_size} before it removes one"
        kind = "a canary" if config.update_strategy == "canary" else "all at once"
        return f"a blue/green update ({kind}) starts a whole new fleet first"
    return "an endpoint-config change (blue/green) starts a whole new fleet first"


def _check_type_quota(ctx: Context, instance_type: str, *, primary: bool) -> list[Finding]:
    name = "quota"
    limit = _quota_limit(ctx, instance_type)
    if limit is None:
        return [
            problem(
                name,
                f"Service Quotas has no '{quota_name(instance_type)}' quota in {ctx.region}: SageMaker may "
                "not offer this instance type for endpoints here; pick another instance_type or region",
            )
        ]
    used, exists = _instances_in_use(ctx, instance_type)
    needed = ctx.config.max_instance_count
    free = int(limit) - used
    summary = (
        f"'{quota_name(instance_type)}' is {int(limit)}, other endpoints use {used}, "
        f"this config needs up to {needed}"
    )
    if needed > free:
        return [
            problem(
                name,
                f"{summary}: request an increase to at least {used + needed} in the Service Quotas console "
                "(Amazon SageMaker), or lower the instance count",
            )
        ]
    findings = [ok(name, summary)]
    # An update holds old and new instances at once: twice the fleet for blue/green, one batch more
    # for rolling (ctx.config.update_peak_instance_count). Inference components roll copies within
    # max_instances; only a change of the endpoint config itself starts a second fleet.
    peak = ctx.config.update_peak_instance_count
    if isinstance(ctx.config, InferenceComponentConfig):
        peak = 2 * needed
    if primary and exists and peak > free:
        findings.append(
            info(
                name,
                f"endpoint {ctx.config.endpoint_name} exists: {_update_needs(ctx.config)}, needing up to "
                f"{peak} for a while; request an increase to at least {used + peak} before changing "
                "the model",
            )
        )
    return findings
