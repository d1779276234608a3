"""The Hugging Face side: the token for gated models, and the snapshot download.

Imported only by the stage-weights command, so huggingface_hub loads only there.

The token is passed to huggingface_hub as an argument only: it is never put in an environment variable,
a file, a log line or anything the stack deploys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import huggingface_hub
from huggingface_hub import errors

from sagemaker_openai.operations.staging.layout import ALWAYS_SKIPPED, StagingError, select_files

if TYPE_CHECKING:
    import boto3

_SECRET_JSON_KEYS = ("HF_TOKEN", "token")


def hub_token(secret_name: str | None, session: boto3.Session, region: str | None = None) -> str | None:
    """The token from the Secrets Manager secret `secret_name`, else HF_TOKEN, else None (public models)."""
    if secret_name is None:
        return os.environ.get("HF_TOKEN") or None
    client = session.client("secretsmanager", region_name=region)
    value = client.get_secret_value(SecretId=secret_name).get("SecretString")
    if not value:
        raise StagingError(
            f"--hf-token-secret {secret_name}: the secret has no SecretString; store the token as text"
        )
    if value.lstrip().startswith("{"):
        try:
            fields = json.loads(value)
        except ValueError:
            fields = None
        found = [fields.get(k) for k in _SECRET_JSON_KEYS] if isinstance(fields, dict) else []
        token = next((t for t in found if isinstance(t, str) and t), None)
        if token is None:
            raise StagingError(
                f"--hf-token-secret {secret_name}: a JSON secret needs an HF_TOKEN key; or store the token "
                "as plain text"
            )
        return str(token)
    return value.strip()


@dataclass(frozen=True)
class Snapshot:
    """A downloaded snapshot: its folder, the commit it is at, and the files to stage (relative paths)."""

    folder: Path
    commit: str | None
    files: list[str]


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def download(
    hf_model_id: str, *, revision: str | None, token: str | None, cache_dir: Path | None
) -> Snapshot:
    """Download the files the DLC needs into the Hugging Face cache (which resumes interrupted downloads).

    The repository is listed first so that PyTorch pickles next to safetensors are never downloaded. When
    the Hub cannot be reached (HF_HUB_OFFLINE=1, no network), the cached snapshot is used as it is.
    """
    with _hub_errors(hf_model_id, revision):
        listed: list[str] | None
        try:
            listing = huggingface_hub.snapshot_download(
                hf_model_id,
                revision=revision,
                token=token,
                cache_dir=cache_dir,
                ignore_patterns=list(ALWAYS_SKIPPED),
                dry_run=True,
            )
            listed = select_files(info.filename for info in listing)
            # Download exactly the commit that was listed, even if the branch moves meanwhile.
            revision = next((info.commit_hash for info in listing), revision)
        except errors.DryRunError:
            listed = None  # no Hub: the download below falls back to the cache, or says why not
        folder = Path(
            huggingface_hub.snapshot_download(
                hf_model_id,
                revision=revision,
                token=token,
                cache_dir=cache_dir,
                allow_patterns=listed,
                ignore_patterns=list(ALWAYS_SKIPPED),
            )
        )
    files = select_files(_files_under(folder))
    # The cache keeps each snapshot in a folder named after its commit.
    commit = folder.name if folder.parent.name == "snapshots" else None
    return Snapshot(folder=folder, commit=commit, files=files)


@contextmanager
def _hub_errors(hf_model_id: str, revision: str | None) -> Iterator[None]:
    """Turn huggingface_hub's errors into one line that says what to do."""
    how = "(HF_TOKEN, or --hf-token-secret NAME)"
    try:
        yield
    except errors.GatedRepoError:
        raise StagingError(
            f"{hf_model_id} is gated: accept its terms on its Hugging Face page, then pass a token {how}"
        ) from None
    except errors.RevisionNotFoundError:
        raise StagingError(f"{hf_model_id} has no revision {revision!r}; check --revision") from None
    except errors.RepositoryNotFoundError:
        raise StagingError(
            f"{hf_model_id}: no such model on the Hugging Face Hub, or it is private and needs a token {how}"
        ) from None
    except (errors.LocalEntryNotFoundError, errors.IncompleteSnapshotError):
        raise StagingError(
            f"{hf_model_id}: the Hugging Face Hub cannot be reached and the model is not (completely) in "
            "the local cache; check the network and HF_HUB_OFFLINE, then run the command again"
        ) from None
