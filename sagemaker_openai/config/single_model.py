"""A single-model endpoint: one model, its instances, autoscaling and updates."""

from math import ceil
from typing import Literal, Self

from pydantic import Field, model_validator

from sagemaker_openai.catalog.instances import INSTANCES
from sagemaker_openai.config.deployment import (
    BATCH_MAX_SHARE,
    BATCH_MIN_SHARE,
    DeploymentBase,
)
from sagemaker_openai.config.model import DEFAULT_HF_MODEL_ID, ModelSpec
from sagemaker_openai.config.operations import (
    AutoscalingSpec,
)


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
