"""A staged model's record: each file's size and SHA-256, at the prefix and in each object's metadata.

An S3 ETag is an MD5 only for single-part uploads without SSE-KMS, and a multipart checksum is a
composite of the parts, so neither can be compared with a file's SHA-256. The kit stores the SHA-256
itself, as user metadata (``x-amz-meta-sha256``) and in the manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sagemaker_openai.operations.staging.layout import StagingError

MANIFEST_NAME = "sagemaker-openai-manifest.json"
SHA256_METADATA_KEY = "sha256"
SCHEMA_VERSION = 1
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class StagedFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    hf_model_id: str
    revision: str | None
    commit: str | None
    files: tuple[StagedFile, ...]

    def to_json(self) -> str:
        body = {
            "schema_version": SCHEMA_VERSION,
            "hf_model_id": self.hf_model_id,
            "revision": self.revision,
            "commit": self.commit,
            "files": [asdict(f) for f in self.files],
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            body: dict[str, Any] = json.loads(text)
            if body.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema_version {body.get('schema_version')!r}")
            files = tuple(
                StagedFile(path=str(f["path"]), size=int(f["size"]), sha256=str(f["sha256"]))
                for f in body["files"]
            )
            return cls(
                hf_model_id=str(body["hf_model_id"]),
                revision=body.get("revision"),
                commit=body.get("commit"),
                files=files,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StagingError(f"{MANIFEST_NAME} is not a manifest this kit wrote ({exc})") from None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
