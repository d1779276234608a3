"""The GPU instance types a user would pick for vLLM, and what each one holds.

Sources: AWS Batch GPU-jobs table and the SageMaker Python SDK's instance_gpu_info.json (see
shared/reference/vllm-dlc-and-cfn.md, section 7). Every type here has NVMe instance storage, which
is why none of them accepts a KMS key on the endpoint config or a VolumeSizeInGB.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceSpec:
    gpu: str
    gpus: int
    gpu_memory_gib: int
    vcpus: int
    memory_gib: int
    nvme_instance_storage: bool = True

    @property
    def memory_mib(self) -> int:
        return self.memory_gib * 1024


def _family(gpu: str, gpu_gib: int, sizes: dict[str, tuple[int, int, int]]) -> dict[str, InstanceSpec]:
    return {
        name: InstanceSpec(gpu=gpu, gpus=gpus, gpu_memory_gib=gpus * gpu_gib, vcpus=vcpus, memory_gib=mem)
        for name, (gpus, vcpus, mem) in sizes.items()
    }


INSTANCES: dict[str, InstanceSpec] = {
    **_family(
        "NVIDIA A10G",
        24,
        {
            "ml.g5.xlarge": (1, 4, 16),
            "ml.g5.2xlarge": (1, 8, 32),
            "ml.g5.4xlarge": (1, 16, 64),
            "ml.g5.8xlarge": (1, 32, 128),
            "ml.g5.12xlarge": (4, 48, 192),
            "ml.g5.16xlarge": (1, 64, 256),
            "ml.g5.24xlarge": (4, 96, 384),
            "ml.g5.48xlarge": (8, 192, 768),
        },
    ),
    **_family(
        "NVIDIA L4",
        24,
        {
            "ml.g6.xlarge": (1, 4, 16),
            "ml.g6.2xlarge": (1, 8, 32),
            "ml.g6.4xlarge": (1, 16, 64),
            "ml.g6.8xlarge": (1, 32, 128),
            "ml.g6.12xlarge": (4, 48, 192),
            "ml.g6.16xlarge": (1, 64, 256),
            "ml.g6.24xlarge": (4, 96, 384),
            "ml.g6.48xlarge": (8, 192, 768),
        },
    ),
    **_family(
        "NVIDIA L40S",
        48,
        {
            "ml.g6e.xlarge": (1, 4, 32),
            "ml.g6e.2xlarge": (1, 8, 64),
            "ml.g6e.4xlarge": (1, 16, 128),
            "ml.g6e.8xlarge": (1, 32, 256),
            "ml.g6e.12xlarge": (4, 48, 384),
            "ml.g6e.16xlarge": (1, 64, 512),
            "ml.g6e.24xlarge": (4, 96, 768),
            "ml.g6e.48xlarge": (8, 192, 1536),
        },
    ),
    **_family("NVIDIA A100 40GB", 40, {"ml.p4d.24xlarge": (8, 96, 1152)}),
    **_family("NVIDIA A100 80GB", 80, {"ml.p4de.24xlarge": (8, 96, 1152)}),
    **_family("NVIDIA H100 80GB", 80, {"ml.p5.48xlarge": (8, 192, 2048)}),
}


def instance_spec(instance_type: str) -> InstanceSpec | None:
    return INSTANCES.get(instance_type)
