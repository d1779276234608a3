"""The two deployment shapes: a single-model endpoint, and an endpoint of inference components."""

import re
from math import ceil
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator

from sagemaker_openai import naming
from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.instances import INSTANCES, InstanceSpec
from sagemaker_openai.catalog.vllm_catalog import load_catalog
from sagemaker_openai.catalog.vllm_flags import check_flags
from sagemaker_openai.config._base import ConfigWarning, Spec, TimeoutSeconds
from sagemaker_openai.config.model import DEFAULT_HF_MODEL_ID, ImageSpec, ModelSpec, VllmSettings
from sagemaker_openai.config.operations import (
    AutoscalingSpec,
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


class SingleModelConfig(DeploymentBase):
    """One model on a single-model endpoint: the endpoint answers at ``/endpoints/<name>/openai/v1``."""

    mode: Literal["single_model"] = "single_model"
    model: ModelSpec = Field(default_factory=lambda: ModelSpec(hf_model_id=DEFAULT_HF_MODEL_ID))
    autoscaling: AutoscalingSpec | None = None
    # Fallback instance types, tried in this order when instance_type has no capacity (InstancePools).
    instance_pools: list[str] = Field(default_factory=list, max_length=4)
    # VariantInstanceProvisionTimeoutInSeconds: how long to wait for capacity before the next pool.
    instance_provision_timeout_seconds: int | None = Field(None, ge=300, le=3600)

    @model_validator(mode="after")
    def _check_single_model(self) -> Self:
        if self.invoker.models is not None:
            raise ValueError("invoker.models applies to inference_component mode only; remove it")
        self._check_vpc_sources()
        scaling = self.autoscaling
        if scaling is not None and not scaling.min_instances <= self.instance_count <= scaling.max_instances:
            raise ValueError(
                f"instance_count ({self.instance_count}) must lie between autoscaling.min_instances "
                f"({scaling.min_instances}) and max_instances ({scaling.max_instances})"
            )
        gpus = self.instance.gpus
        if self.model.vllm.tensor_parallel_size > gpus:
            raise ValueError(
                f"model.vllm.tensor_parallel_size is {self.model.vllm.tensor_parallel_size} but "
                f"{self.instance_type} has {gpus} GPU(s); lower it or pick a larger instance_type"
            )
        self._check_pools()
        self._check_update()
        return self

    def _check_pools(self) -> None:
        if self.instance_provision_timeout_seconds is not None and not self.instance_pools:
            raise ValueError(
                "instance_provision_timeout_seconds applies with instance_pools; add fallback types "
                "or remove it"
            )
        if not self.instance_pools:
            return
        if self.capacity_reservation is not None:
            raise ValueError(
                "provide either instance_pools or capacity_reservation, not both: a reservation holds "
                "one instance type and launches only into it"
            )
        types = [self.instance_type, *self.instance_pools]
        for index, pool in enumerate(self.instance_pools):
            where = f"instance_pools[{index}]"
            spec = INSTANCES.get(pool)
            if spec is None:
                raise ValueError(
                    f"{where}: {pool!r} is not in the kit's instance table; use one of {', '.join(INSTANCES)}"
                )
            if types.count(pool) > 1:
                raise ValueError(f"{where}: {pool} appears twice (with instance_type or another pool)")
            if spec.gpus != self.instance.gpus:
                raise ValueError(
                    f"{where}: {pool} has {spec.gpus} GPU(s) but {self.instance_type} has "
                    f"{self.instance.gpus}; every pool needs the same GPU count, since "
                    "model.vllm.tensor_parallel_size and the GPU metrics assume one"
                )
            if spec.gpu_memory_gib < self.instance.gpu_memory_gib:
                raise ValueError(
                    f"{where}: {pool} has {spec.gpu_memory_gib} GiB of GPU memory, less than "
                    f"{self.instance_type}'s {self.instance.gpu_memory_gib}; the model and its KV cache "
                    "may not fit, so list only types with at least as much"
                )
            if self.kms is not None and self.kms.storage_volume and spec.nvme_instance_storage:
                raise ValueError(
                    f"{where}: {pool} has NVMe instance storage, which refuses kms.storage_volume; "
                    "set storage_volume: false"
                )

    def _check_update(self) -> None:
        update = self.update
        batch, fewest, most = update.batch_size, self.min_instance_count, self.max_instance_count
        if update.strategy == "canary" and batch > fewest * BATCH_MAX_SHARE:
            raise ValueError(
                f"update.batch_size: a canary of {batch} instance(s) is more than half of the {fewest} "
                f"this endpoint can run (SageMaker allows at most 50%); raise {self._min_instance_field()} "
                f"to {2 * batch} or more, or set update.strategy: all_at_once"
            )
        if update.strategy != "rolling" or not update.explicit:
            return
        if batch > fewest * BATCH_MAX_SHARE:
            raise ValueError(
                f"update.batch_size: a rolling batch of {batch} instance(s) is more than half of the "
                f"{fewest} this endpoint can run (SageMaker allows 5% to 50%); raise "
                f"{self._min_instance_field()} to {2 * batch} or more, or set update.strategy: all_at_once"
            )
        if batch < most * BATCH_MIN_SHARE:
            raise ValueError(
                f"update.batch_size: a rolling batch of {batch} instance(s) is less than 5% of the {most} "
                "this endpoint can run (SageMaker allows 5% to 50%); raise it to "
                f"{ceil(most * BATCH_MIN_SHARE)}"
            )

    @property
    def update_strategy(self) -> str:
        """The strategy the endpoint's DeploymentConfig uses.

        A rolling batch is at most half the instances, so an endpoint that can run one instance (or too
        few for the default batch) updates blue/green all at once unless the config asked for rolling.
        """
        update = self.update
        if update.strategy == "rolling" and update.batch_size > self.min_instance_count * BATCH_MAX_SHARE:
            return "all_at_once"
        return update.strategy

    @property
    def update_peak_instance_count(self) -> int:
        """Blue/green (canary, all at once) starts a whole new fleet; rolling adds one batch at a time."""
        if self.update_strategy == "rolling":
            return self.max_instance_count + self.update.batch_size
        return 2 * self.max_instance_count

    def production_settings(self) -> list[str]:
        return (["autoscaling"] if self.autoscaling is not None else []) + super().production_settings()

    @property
    def min_instance_count(self) -> int:
        return self.autoscaling.min_instances if self.autoscaling is not None else self.instance_count

    def _min_instance_field(self) -> str:
        return "autoscaling.min_instances" if self.autoscaling is not None else "instance_count"

    @property
    def instance_types(self) -> list[str]:
        """instance_type, then the fallback pools in priority order."""
        return [self.instance_type, *self.instance_pools]

    def model_specs(self) -> list[tuple[str, ModelSpec]]:
        return [("model", self.model)]

    @property
    def max_instance_count(self) -> int:
        return self.autoscaling.max_instances if self.autoscaling is not None else self.instance_count


class CopiesSpec(Spec):
    """How many copies of a component run, and when Application Auto Scaling adds or removes one."""

    initial: int = Field(1, ge=1)
    min: int = Field(1, ge=0)
    max: int = Field(1, ge=1)
    target_concurrent_requests_per_copy: float = Field(4.0, gt=0)
    scale_in_cooldown_seconds: int = Field(300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(60, ge=0, le=3600)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if not self.min <= self.initial <= self.max:
            raise ValueError(
                f"initial ({self.initial}) must lie between min ({self.min}) and max ({self.max})"
            )
        return self

    @property
    def scales_to_zero(self) -> bool:
        return self.min == 0


class ComponentSpec(ModelSpec):
    """One model of an inference-component endpoint, with its own resources, copies and URL."""

    key: str = Field(max_length=naming.MODEL_KEY_MAX, pattern=naming.MODEL_KEY.pattern)
    accelerators: int = Field(1, ge=1, le=8)
    cpu_cores: float = Field(2.0, ge=0.25)
    memory_mib: int = Field(8192, ge=128)
    copies: CopiesSpec = Field(default_factory=CopiesSpec)
    startup_health_check_timeout_seconds: TimeoutSeconds | None = None
    model_data_download_timeout_seconds: TimeoutSeconds | None = None
    # DataCacheConfig.EnableCaching: keep the weights and image on each instance for faster scale-out
    # and wake from zero. None leaves SageMaker's choice (on for types with over 232 GiB of NVMe).
    data_cache: bool | None = None

    @model_validator(mode="after")
    def _check_parallelism(self) -> Self:
        if self.vllm.tensor_parallel_size > self.accelerators:
            raise ValueError(
                f"vllm.tensor_parallel_size ({self.vllm.tensor_parallel_size}) is above accelerators "
                f"({self.accelerators}); vLLM needs one GPU per tensor-parallel rank"
            )
        return self

    @property
    def served_name(self) -> str:
        if self.served_model_name or self.hf_model_id:
            return super().served_name
        return self.key


class ScaleInPolicySpec(Spec):
    """How managed instance scaling releases instances (ScaleInPolicy).

    ``IDLE_RELEASE`` releases instances that hold no copy; ``CONSOLIDATION`` also moves copies onto
    fewer instances to release more, honouring each component's zone balance.
    """

    strategy: Literal["IDLE_RELEASE", "CONSOLIDATION"]
    maximum_step_size: int | None = Field(None, ge=1, le=100)
    cooldown_minutes: int | None = Field(None, ge=5, le=1440)

    @model_validator(mode="after")
    def _check_policy(self) -> Self:
        if self.strategy == "IDLE_RELEASE" and self.maximum_step_size is not None:
            raise ValueError("maximum_step_size applies to strategy CONSOLIDATION; remove it")
        return self


class ManagedScalingSpec(Spec):
    """Managed instance scaling of the endpoint's variant; ``min_instances: 0`` lets it scale to zero."""

    min_instances: int = Field(1, ge=0)
    max_instances: int = Field(1, ge=1)
    scale_in_policy: ScaleInPolicySpec | None = None

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is above max_instances ({self.max_instances})"
            )
        return self


class InferenceComponentConfig(DeploymentBase):
    """An endpoint that hosts one or more models as inference components, each at its own URL."""

    mode: Literal["inference_component"]
    models: list[ComponentSpec] = Field(min_length=1, max_length=50)
    managed_instance_scaling: ManagedScalingSpec = Field(default_factory=ManagedScalingSpec)

    @model_validator(mode="before")
    @classmethod
    def _refuse_instance_pools(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("instance_pools", "instance_provision_timeout_seconds"):
                if key in data:
                    raise ValueError(
                        f"{key} applies to single_model mode: with several instance types CloudFormation "
                        "wants one inference-component Specifications entry per type, which the kit does "
                        "not build; remove it"
                    )
        return data

    @model_validator(mode="after")
    def _check_components(self) -> Self:
        self._check_keys()
        scaling = self.managed_instance_scaling
        if not scaling.min_instances <= self.instance_count <= scaling.max_instances:
            raise ValueError(
                f"instance_count ({self.instance_count}) must lie between managed_instance_scaling."
                f"min_instances ({scaling.min_instances}) and max_instances ({scaling.max_instances})"
            )
        self._check_scale_to_zero()
        self._check_fit()
        self._check_vpc_sources()
        unknown = sorted(set(self.invoker.models or ()) - {model.key for model in self.models})
        if unknown:
            raise ValueError(f"invoker.models names unknown model keys {unknown}; use keys from models")
        self._check_component_update()
        return self

    def _check_component_update(self) -> None:
        update = self.update
        if update.strategy != "rolling":
            raise ValueError(
                f"update.strategy {update.strategy}: inference components update by rolling copies only "
                "(InferenceComponentDeploymentConfig has a RollingUpdatePolicy and no blue/green); "
                "use rolling"
            )
        if not update.explicit:
            return
        for index, model in enumerate(self.models):
            if not self.rolls(model):
                raise ValueError(
                    f"update.batch_size: a rolling batch of {update.batch_size} copies must be 5% to 50% of "
                    f"models[{index}] ({model.key}), which runs {model.copies.min} to {model.copies.max} "
                    f"copies; raise its copies.min to {2 * update.batch_size} or more, or remove update"
                )

    def rolls(self, model: ComponentSpec) -> bool:
        """Whether ``model`` gets a rolling update: its batch is 5% to 50% of every copy count it can run."""
        batch = self.update.batch_size
        copies = model.copies
        return batch <= copies.min * BATCH_MAX_SHARE and batch >= copies.max * BATCH_MIN_SHARE

    @property
    def balances_zones(self) -> bool:
        """Copies spread across Availability Zones whenever the endpoint can hold more than one instance."""
        return self.managed_instance_scaling.max_instances > 1

    @property
    def min_instance_count(self) -> int:
        return self.managed_instance_scaling.min_instances

    def _min_instance_field(self) -> str:
        return "managed_instance_scaling.min_instances"

    def _check_keys(self) -> None:
        seen: dict[str, str] = {}
        for model in self.models:
            for kind, value in (
                ("key", model.key),
                ("output ID", naming.logical_id_suffix(model.key).lower()),
                ("component name", naming.inference_component_name(self.name, model.key)),
            ):
                other = seen.get(f"{kind}:{value}")
                if other is not None:
                    raise ValueError(
                        f"models: keys {other!r} and {model.key!r} give the same {kind} {value!r}; rename one"
                    )
                seen[f"{kind}:{value}"] = model.key

    def _check_scale_to_zero(self) -> None:
        # AWS (scale-to-zero blog, Dec 2024): with several components, every one must be able to reach 0
        # copies before the endpoint releases its instances.
        if self.managed_instance_scaling.min_instances != 0:
            return
        holding = [
            f"{model.key} (models[{index}].copies.min: {model.copies.min})"
            for index, model in enumerate(self.models)
            if model.copies.min > 0
        ]
        if holding:
            raise ValueError(
                "managed_instance_scaling.min_instances is 0 but these models keep at least one copy, so "
                f"the endpoint never releases its last instance: {', '.join(holding)}; set copies.min: 0 "
                "on each of them, or min_instances to 1 or more"
            )

    def warnings(self) -> list[ConfigWarning]:
        found = super().warnings()
        isolated = [model.key for model in self.models if model.network_isolation]
        exposed = [model for model in self.models if not model.network_isolation]
        if not isolated or not exposed:
            return found
        reasons = ", ".join(f"{model.key} ({_why_not_isolated(model)})" for model in exposed)
        return [
            *found,
            ConfigWarning(
                "models",
                f"not network-isolated: {reasons}; so the endpoint config's EnableNetworkIsolation stays "
                f"off and {', '.join(isolated)} rely on their model's own flag, which AWS does not document "
                "for inference components; stage every model's weights to S3 (s3_uri) to isolate them all",
            ),
        ]

    @property
    def network_isolation(self) -> bool:
        """Whether the endpoint config isolates every container: only when every model may be isolated."""
        return all(model.network_isolation for model in self.models)

    def _check_fit(self) -> None:
        spec = self.instance
        for model in self.models:
            over = [
                f"{what} {need} > {have}"
                for what, need, have in (
                    ("accelerators", model.accelerators, spec.gpus),
                    ("cpu_cores", model.cpu_cores, spec.vcpus),
                    ("memory_mib", model.memory_mib, spec.memory_mib),
                )
                if need > have
            ]
            if over:
                raise ValueError(
                    f"model {model.key!r}: one copy does not fit on one {self.instance_type} "
                    f"({', '.join(over)}); lower its resources or pick a larger instance_type"
                )
        unplaced = _first_fit(self.models, spec, self.instance_count)
        if unplaced:
            demand = ", ".join(f"{m.key}: {m.copies.initial} x {m.accelerators} GPU" for m in self.models)
            raise ValueError(
                f"the initial copies do not fit on {self.instance_count} x {self.instance_type} "
                f"({spec.gpus} GPU, {spec.vcpus} vCPU, {spec.memory_mib} MiB each): {demand}; "
                f"no room for {', '.join(sorted(set(unplaced)))}; raise instance_count or lower "
                "copies.initial, accelerators, cpu_cores or memory_mib"
            )

    def component_name(self, model: ComponentSpec) -> str:
        return naming.inference_component_name(self.name, model.key)

    def model_specs(self) -> list[tuple[str, ModelSpec]]:
        return [(f"models[{index}]", model) for index, model in enumerate(self.models)]

    @property
    def max_instance_count(self) -> int:
        return self.managed_instance_scaling.max_instances


def _why_not_isolated(model: ComponentSpec) -> str:
    if model.hf_model_id is not None:
        return "hf_model_id: downloads from the Hugging Face Hub"
    return "enable_network_isolation: false"


def _first_fit(models: list[ComponentSpec], spec: InstanceSpec, instances: int) -> list[str]:
    """Place every initial copy on the instances, largest first; return the keys of copies left over."""
    free = [[float(spec.gpus), float(spec.vcpus), float(spec.memory_mib)] for _ in range(instances)]
    copies = sorted(
        (m for m in models for _ in range(m.copies.initial)),
        key=lambda m: (m.accelerators, m.memory_mib, m.cpu_cores),
        reverse=True,
    )
    unplaced: list[str] = []
    for model in copies:
        need = (model.accelerators, model.cpu_cores, model.memory_mib)
        for room in free:
            if all(have >= want for have, want in zip(room, need, strict=True)):
                for i, want in enumerate(need):
                    room[i] -= want
                break
        else:
            unplaced.append(model.key)
    return unplaced


KitConfig = SingleModelConfig | InferenceComponentConfig
DeploymentConfig = Annotated[KitConfig, Field(discriminator="mode")]
ADAPTER: TypeAdapter[KitConfig] = TypeAdapter(DeploymentConfig)


MODE_CLASSES: dict[str, type[BaseModel]] = {
    "single_model": SingleModelConfig,
    "inference_component": InferenceComponentConfig,
}
