"""The S3 side: what is already at the prefix, parallel multipart uploads, and the manifest.

Imported only by the stage-weights command, so boto3's transfer manager loads only there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError
from s3transfer.subscribers import BaseSubscriber

from sagemaker_openai.operations.staging.layout import DEFAULT_WORKERS, MIB, S3Prefix
from sagemaker_openai.operations.staging.manifest import (
    MANIFEST_NAME,
    SHA256_METADATA_KEY,
    Manifest,
    StagedFile,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# S3 allows at most 10,000 parts: 64 MiB parts cover a 625 GiB file, far above any one shard.
PART_SIZE = 64 * MIB


def _not_found(exc: Exception) -> bool:
    response: dict[str, Any] = getattr(exc, "response", {})
    return response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class RemoteObject:
    size: int
    sha256: str | None
    kms_key_id: str | None


def head(client: S3Client, prefix: S3Prefix, path: str) -> RemoteObject | None:
    """The object at `path` under the prefix with its stored SHA-256, or None when there is none."""
    try:
        answer = client.head_object(Bucket=prefix.bucket, Key=prefix.key(path))
    except ClientError as exc:
        if _not_found(exc):
            return None
        raise
    return RemoteObject(
        size=answer["ContentLength"],
        sha256=answer.get("Metadata", {}).get(SHA256_METADATA_KEY),
        kms_key_id=answer.get("SSEKMSKeyId") if answer.get("ServerSideEncryption") == "aws:kms" else None,
    )


def is_staged(remote: RemoteObject | None, local: StagedFile) -> bool:
    return remote is not None and remote.size == local.size and remote.sha256 == local.sha256


def other_objects(client: S3Client, prefix: S3Prefix, staged: Sequence[str]) -> list[str]:
    """Keys under the prefix that this staging did not write (vLLM would see them in /opt/ml/model)."""
    expected = {prefix.key(p) for p in staged} | {prefix.key(MANIFEST_NAME)}
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=prefix.prefix):
        found += [o["Key"] for o in page.get("Contents", []) if o["Key"] not in expected]
    return found


class Progress:
    """Bytes uploaded so far, printed to `stream` at most every `interval` seconds and at the end."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = 0
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def add(self, amount: int) -> None:
        with self._lock:
            self.done += amount
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self._print()

    def finish(self) -> None:
        with self._lock:
            self._print()

    def _print(self) -> None:
        share = 100 * self.done / self.total if self.total else 100.0
        print(
            f"  uploaded {self.done / MIB:,.1f} of {self.total / MIB:,.1f} MiB ({share:.0f}%)",
            file=self._stream,
            flush=True,
        )


def upload(
    client: S3Client,
    prefix: S3Prefix,
    folder: Path,
    files: Sequence[StagedFile],
    progress: Progress,
    *,
    workers: int = DEFAULT_WORKERS,
) -> None:
    """Upload `files` in parallel, large ones in parts, each with its SHA-256 in the object's metadata."""

    class _Counter(BaseSubscriber):
        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            progress.add(bytes_transferred)

    config = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=workers,
        use_threads=True,
    )
    with create_transfer_manager(client, config) as manager:
        futures = [
            manager.upload(
                str(folder / staged.path),
                prefix.bucket,
                prefix.key(staged.path),
                extra_args={"Metadata": {SHA256_METADATA_KEY: staged.sha256}},
                subscribers=[_Counter()],
            )
            for staged in files
        ]
        for future in futures:
            future.result()
    progress.finish()


def write_manifest(client: S3Client, prefix: S3Prefix, manifest: Manifest) -> None:
    client.put_object(
        Bucket=prefix.bucket,
        Key=prefix.key(MANIFEST_NAME),
        Body=manifest.to_json().encode(),
        ContentType="application/json",
    )
