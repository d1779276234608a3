"""An endpoint of inference components: its models, their copies, and managed instance scaling."""

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from sagemaker_openai import naming
from sagemaker_openai.catalog.instances import InstanceSpec
from sagemaker_openai.config._base import ConfigWarning, Spec, TimeoutSeconds
from sagemaker_openai.config.deployment import (
    BATCH_MAX_SHARE,
    BATCH_MIN_SHARE,
    DeploymentBase,
)
from sagemaker_openai.config.model import ModelSpec


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
