"""Where the weights go (an S3 prefix) and which files of a snapshot the DLC needs there."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sagemaker_openai.client.errors import SageMakerOpenAIError

MIB = 1024 * 1024
DEFAULT_WORKERS = 10

# The config's rule for model.s3_uri: a bucket and a prefix of one or more folders, ending with "/".
_S3_PREFIX_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>(?:[^/]+/)+)$")

# Never needed to serve: git metadata, and checkpoints in formats vLLM does not load (TensorFlow, Flax,
# ONNX, GGUF, Meta's consolidated originals).
ALWAYS_SKIPPED = (
    ".gitattributes",
    "*.h5",
    "*.msgpack",
    "*.onnx",
    "*.ot",
    "*.tflite",
    "*.gguf",
    "original/*",
)
# PyTorch pickles: staged only when the repository has no safetensors (vLLM then loads these).
PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt")


class StagingError(SageMakerOpenAIError):
    """The model or the destination cannot be staged as asked."""


@dataclass(frozen=True)
class S3Prefix:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Prefix:
        match = _S3_PREFIX_URI.match(uri)
        if match is None:
            raise StagingError(
                f"destination {uri!r} must be an S3 prefix like s3://my-bucket/models/qwen3-4b/ "
                "(a bucket, at least one folder, and a trailing /)"
            )
        return cls(match["bucket"], match["prefix"])

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, path: str) -> str:
        return self.prefix + path


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def select_files(paths: Iterable[str]) -> list[str]:
    """The files to stage, sorted; `paths` are relative to the repository root, with "/" separators.

    Raises StagingError when the result cannot be served: no config.json, or no weights, at the top.
    """
    candidates = sorted(p for p in paths if not _matches(p, ALWAYS_SKIPPED))
    has_safetensors = any(p.endswith(".safetensors") and "/" not in p for p in candidates)
    if has_safetensors:
        candidates = [p for p in candidates if not _matches(p, PICKLED_WEIGHTS)]
    if "config.json" not in candidates:
        raise StagingError(
            "the snapshot has no config.json at its top; the vLLM DLC loads the model from the top of the "
            "prefix: pick the repository (or --revision) of a transformers model"
        )
    weights = [p for p in candidates if "/" not in p and (p.endswith(".safetensors") or p.endswith(".bin"))]
    if not weights:
        raise StagingError(
            "the snapshot has no .safetensors (or PyTorch .bin) weights at its top; stage a repository "
            "that holds transformers weights"
        )
    return candidates
