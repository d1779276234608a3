"""What both deployment shapes share: instance, routing, tags, update policy, operations settings."""

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from sagemaker_openai import naming
from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.instances import INSTANCES, InstanceSpec
from sagemaker_openai.catalog.vllm_catalog import load_catalog
from sagemaker_openai.catalog.vllm_flags import check_flags
from sagemaker_openai.config._base import ConfigWarning, Spec, TimeoutSeconds
from sagemaker_openai.config.model import ImageSpec, ModelSpec, VllmSettings
from sagemaker_openai.config.operations import (
    CapacityReservationSpec,
    InvokerSpec,
    KmsSpec,
    LogsSpec,
    MonitoringSpec,
    PrefixAwareRoutingSpec,
    UpdateSpec,
    VpcSpec,
    kms_key_region,
)

DEFAULT_INSTANCE_TYPE = "ml.g6.2xlarge"
SINGLE_MODEL_KEY = "default"

_TAG_KEY = re.compile(r"^[\w.:/=+\-@ ]{1,128}$")

RoutingStrategy = Literal["LEAST_OUTSTANDING_REQUESTS", "RANDOM", "PREFIX_AWARE"]
# Values SageMaker's API (botocore) lists that a stack cannot set yet, and why.
UNSUPPORTED_ROUTING_STRATEGIES = {
    "KV_AWARE": "is in SageMaker's API but not among CloudFormation's AWS::SageMaker::EndpointConfig "
    "RoutingStrategy values yet, and the API documents no settings for it; use PREFIX_AWARE (with "
    "prefix_aware_routing) or LEAST_OUTSTANDING_REQUESTS",
}
# Rolling batches are 5% to 50% of the instances (RollingUpdatePolicy) or copies
# (InferenceComponentRollingUpdatePolicy); a canary is at most 50% (TrafficRoutingConfig.CanarySize).
BATCH_MIN_SHARE = 0.05
BATCH_MAX_SHARE = 0.5


class DeploymentBase(Spec):
    name: str = Field("qwen3-4b", max_length=naming.STACK_NAME_MAX, pattern=naming.STACK_NAME.pattern)
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = Field(1, ge=1, le=100)
    image: ImageSpec = Field(default_factory=ImageSpec)
    startup_health_check_timeout_seconds: TimeoutSeconds = 1200
    model_data_download_timeout_seconds: TimeoutSeconds = 1200
    routing_strategy: RoutingStrategy = "LEAST_OUTSTANDING_REQUESTS"
    prefix_aware_routing: PrefixAwareRoutingSpec | None = None
    update: UpdateSpec = Field(default_factory=UpdateSpec)
    capacity_reservation: CapacityReservationSpec | None = None
    invoker: InvokerSpec = Field(default_factory=InvokerSpec)
    logs: LogsSpec = Field(default_factory=LogsSpec)
    vpc: VpcSpec | None = None
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    kms: KmsSpec | None = None
    tags: dict[str, str] = Field(default_factory=lambda: {"managed-by": "sagemaker-openai"})

    @model_validator(mode="after")
    def _check_deployment(self) -> Self:
        if self.instance_type not in INSTANCES:
            raise ValueError(
                f"instance_type {self.instance_type!r} is not in the kit's instance table; "
                f"use one of {', '.join(INSTANCES)}"
            )
        self._check_region()
        self._check_kms()
        self._check_routing()
        for key, value in self.tags.items():
            if not _TAG_KEY.match(key) or key.lower().startswith("aws:") or len(value) > 256:
                raise ValueError(
                    f"tags: key {key!r}: keys are 1-128 letters, digits, spaces and _.:/=+-@ without the "
                    "aws: prefix, values at most 256 characters"
                )
        return self

    @model_validator(mode="after")
    def _check_vllm_flags(self) -> Self:
        """Refuse at synth the flags that the image's vLLM release would refuse when the container starts."""
        version = self.image.flag_catalog_version()
        catalog = load_catalog(version) if version else None
        if catalog is None:
            return self  # ImageSpec.warnings says the flags are unchecked
        problems = [
            problem
            for path, spec in self.model_specs()
            for problem in check_flags(
                spec.vllm.user_flags(f"{path}.vllm"),
                catalog,
                dlc_version=version,
                vllm_path=f"{path}.vllm",
                typed_fields=VllmSettings.typed_flags(),
            )
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_kms(self) -> None:
        if self.kms is None:
            return
        if self.kms.storage_volume and self.instance.nvme_instance_storage:
            raise ValueError(
                f"kms.storage_volume: {self.instance_type} has NVMe instance storage, which the instance "
                "encrypts in hardware, and CreateEndpointConfig rejects a KmsKeyId for instance types with "
                "local storage; set storage_volume: false"
            )
        if self.kms.key_arn is not None and self.region is not None:
            key_region = kms_key_region(self.kms.key_arn)
            if key_region != self.region:
                raise ValueError(
                    f"kms.key_arn is in {key_region} but region is {self.region}; CloudWatch Logs and SNS "
                    "use only keys of their own region"
                )

    @field_validator("routing_strategy", mode="before")
    @classmethod
    def _refuse_unsupported_routing(cls, value: object) -> object:
        why = UNSUPPORTED_ROUTING_STRATEGIES.get(value) if isinstance(value, str) else None
        if why is not None:
            raise ValueError(f"{value} {why}")
        return value

    def _check_routing(self) -> None:
        if self.routing_strategy == "PREFIX_AWARE" and self.prefix_aware_routing is None:
            raise ValueError(
                "routing_strategy PREFIX_AWARE needs prefix_aware_routing with prefix_length (1024-65536) "
                "and concurrency_threshold (1-1024), which SageMaker requires"
            )
        if self.routing_strategy != "PREFIX_AWARE" and self.prefix_aware_routing is not None:
            raise ValueError(
                "prefix_aware_routing applies to routing_strategy PREFIX_AWARE, not "
                f"{self.routing_strategy}; remove it or set routing_strategy: PREFIX_AWARE"
            )
        reservation = self.capacity_reservation
        if reservation is not None and self.region is not None and reservation.region != self.region:
            raise ValueError(
                f"capacity_reservation.ml_reservation_arn is in {reservation.region} but region is "
                f"{self.region}; an endpoint launches only into a reservation of its own region"
            )

    def _check_vpc_sources(self) -> None:
        """Called by each shape once its models are known: the created VPC has no route to the internet."""
        if self.vpc is None or not self.vpc.create:
            return
        for where, model in self.model_specs():
            if model.hf_model_id is not None:
                raise ValueError(
                    f"{where}.hf_model_id: the VPC of vpc.create has no internet route, so the container "
                    "cannot download from the Hugging Face Hub; copy the weights with "
                    "`sagemaker-openai stage-weights` and set s3_uri instead"
                )

    def model_specs(self) -> list[tuple[str, ModelSpec]]:
        """Every model of the deployment, with the field path that holds it."""
        raise NotImplementedError

    @property
    def max_instance_count(self) -> int:
        """The most instances of ``instance_type`` this deployment can run at once (for the quota check)."""
        return self.instance_count

    def warnings(self) -> list[ConfigWarning]:
        found = [*self._availability_warnings(), *self._routing_warnings()]
        if not self.monitoring.alarms:
            found.append(
                ConfigWarning(
                    "monitoring.alarms",
                    "is false, so updates have no rollback alarms and a bad model keeps serving until "
                    "you roll it back yourself; set alarms: true",
                )
            )
        if self.vpc is None or self.vpc.create:
            return found
        return found + [
            ConfigWarning(
                f"{where}.hf_model_id",
                "the container downloads from the Hugging Face Hub through vpc.subnet_ids, which need a "
                "NAT route to the internet; or stage the weights with `sagemaker-openai stage-weights`",
            )
            for where, model in self.model_specs()
            if model.hf_model_id is not None
        ]

    def production_settings(self) -> list[str]:
        """The settings that mark a deployment meant for production traffic."""
        return [name for name in ("vpc", "kms") if getattr(self, name) is not None]

    @property
    def min_instance_count(self) -> int:
        """The fewest instances the endpoint can run (autoscaling's or managed scaling's minimum)."""
        return self.instance_count

    def _min_instance_field(self) -> str:
        return "instance_count"

    def _availability_warnings(self) -> list[ConfigWarning]:
        production = self.production_settings()
        if not production or self.min_instance_count >= 2:
            return []
        return [
            ConfigWarning(
                self._min_instance_field(),
                f"is {self.min_instance_count} with production settings ({', '.join(production)}): one "
                "instance sits in one Availability Zone, so an instance or zone failure, or an update, "
                "leaves nothing serving; set it to 2 or more",
            )
        ]

    def _routing_warnings(self) -> list[ConfigWarning]:
        if self.routing_strategy != "PREFIX_AWARE" or self.max_instance_count >= 2:
            return []
        return [
            ConfigWarning(
                "routing_strategy",
                "PREFIX_AWARE applies only when two or more instances can serve a request (SageMaker "
                "RoutingStrategy), and this endpoint runs at most one",
            )
        ]

    @property
    def update_peak_instance_count(self) -> int:
        """The most instances of ``instance_type`` an update can hold at once (for the quota check)."""
        return self.max_instance_count

    def _check_region(self) -> None:
        if self.region is None:
            return
        if self.image.uri is not None:
            image_region = images.parse_image_uri(self.image.uri).region
            if image_region != self.region:
                raise ValueError(
                    f"image.uri is in {image_region} but region is {self.region}; "
                    "SageMaker pulls images from the endpoint's region"
                )
            return
        release = images.vllm_release(self.image.vllm_version)
        if self.region not in release.registries:
            raise ValueError(
                f"region {self.region!r} has no vLLM DLC {release.version} image; supported: "
                f"{', '.join(release.regions)} (for China or GovCloud set image.uri to a full image URI)"
            )

    @property
    def instance(self) -> InstanceSpec:
        return INSTANCES[self.instance_type]

    @property
    def instance_types(self) -> list[str]:
        """Every instance type the endpoint may launch, in priority order (for the quota check)."""
        return [self.instance_type]

    @property
    def endpoint_name(self) -> str:
        return naming.endpoint_name(self.name)

    def supported_regions(self) -> list[str] | None:
        """Regions the image can be pulled in, or None when a full image URI pins one region."""
        if self.image.uri is not None:
            return None
        return images.vllm_release(self.image.vllm_version).regions
