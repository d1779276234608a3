"""Where the SageMaker AI vLLM Deep Learning Container lives, per version and region.

The registry accounts and tags come from sagemaker-core's ``image_uri_config/vllm.json``, the file
``sagemaker.core.image_uris.retrieve(framework="vllm", ...)`` reads. The file is located through the
distribution's metadata rather than by importing ``sagemaker.core``, whose import alone takes about
1.3 s, more than a third of a bare synth.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

from sagemaker_openai.errors import ConfigError

VLLM_REGISTRY_FILE = "sagemaker/core/image_uri_config/vllm.json"
DEFAULT_VLLM_VERSION = "0.30.0"

# Host AMI per CUDA major version of the image. The default SageMaker host AMI ships an NVIDIA driver
# too old for CUDA 13 images (the DLC docs: "GPU deployments require inference_ami_version").
_AMI_FOR_CUDA_MAJOR = {
    13: "al2023-ami-sagemaker-inference-gpu-4-1",
    12: "al2-ami-sagemaker-inference-gpu-3-1",
}

_ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::(?P<tag>[\w][\w.-]{0,127})|@sha256:[0-9a-f]{64})$"
)
_CUDA_IN_TAG = re.compile(r"(?:^|-)cu(?P<major>\d{2})\d")
_VERSION_IN_TAG = re.compile(r"^v?(?P<version>\d+\.\d+\.\d+)(?:[-+_]|$)")


@dataclass(frozen=True)
class DlcRelease:
    """One vLLM DLC version: its repository, tag and the registry account of each region."""

    version: str
    repository: str
    tag: str
    registries: dict[str, str]

    @property
    def regions(self) -> list[str]:
        return sorted(self.registries)


@dataclass(frozen=True)
class ImageLocation:
    """A full ECR image URI given by the user (China, GovCloud or a private copy of the image)."""

    uri: str
    account: str
    region: str
    repository: str
    tag: str | None


@cache
def _vllm_registry() -> dict[str, Any]:
    try:
        path = metadata.distribution("sagemaker-core").locate_file(VLLM_REGISTRY_FILE)
        with open(str(path), encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)["inference"]
    except (metadata.PackageNotFoundError, OSError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the vLLM image registry ({VLLM_REGISTRY_FILE} in sagemaker-core): {exc}; "
            "run `make setup`, or set image.uri to a full image URI"
        ) from exc
    return data


def known_vllm_versions() -> list[str]:
    return list(_vllm_registry()["versions"])


def vllm_release(version: str) -> DlcRelease:
    """The DLC release for a version or alias, as sagemaker-core's image_uris.retrieve builds it."""
    registry = _vllm_registry()
    full = registry.get("version_aliases", {}).get(version, version)
    entry = registry["versions"].get(full)
    if entry is None:
        raise ConfigError(
            f"image.vllm_version: unknown vLLM DLC version {version!r}; "
            f"known to the installed sagemaker-core: {', '.join(known_vllm_versions())} "
            "(or set image.uri to a full image URI)"
        )
    processor = "gpu"
    tag = "-".join(
        [entry["tag_prefix"], processor, entry["py_versions"][0], entry["container_version"][processor]]
    )
    return DlcRelease(version=full, repository=entry["repository"], tag=tag, registries=entry["registries"])


def parse_image_uri(uri: str) -> ImageLocation:
    match = _ECR_IMAGE_URI.match(uri)
    if match is None:
        raise ConfigError(
            f"image.uri: {uri!r} is not an ECR image URI; expected "
            "<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>"
        )
    return ImageLocation(
        uri=uri,
        account=match["account"],
        region=match["region"],
        repository=match["repository"],
        tag=match["tag"],
    )


def vllm_version_in_tag(tag: str | None) -> str | None:
    """The vLLM version a DLC-style tag starts with (``0.30.0-gpu-py312-...`` -> ``0.30.0``), else None."""
    match = _VERSION_IN_TAG.match(tag or "")
    return match["version"] if match else None


def inference_ami_for_tag(tag: str | None) -> str | None:
    """The host AMI that carries a driver for the image's CUDA version, or None when the tag does not say."""
    match = _CUDA_IN_TAG.search(tag or "")
    if match is None:
        return None
    return _AMI_FOR_CUDA_MAJOR.get(int(match["major"]))
