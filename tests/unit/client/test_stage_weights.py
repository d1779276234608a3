"""stage-weights on moto S3, with the model read from a Hugging Face cache the test writes itself."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import huggingface_hub.constants
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli.main import run
from sagemaker_openai.operations.staging import MANIFEST_NAME, Manifest, StagingError, select_files
from sagemaker_openai.operations.staging import hub as staging_hub
from sagemaker_openai.operations.staging import s3 as staging_s3

from .helpers import REGION, StubbedSession, aws_client

BUCKET = "weights-bucket"
DESTINATION = f"s3://{BUCKET}/models/tiny/"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
MODEL = "acme/tiny-model"
# The shape of an `hf_...` user access token; not a real one.
FAKE_HF_TOKEN = "hf_" + "x" * 34


def _write_cached_model(cache: Path, files: dict[str, bytes]) -> Path:
    """A Hugging Face cache holding MODEL at COMMIT, as huggingface_hub lays it out (blobs + symlinks)."""
    repo = cache / "models--acme--tiny-model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    for name, content in files.items():
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(os.path.relpath(blob, target.parent))
    return snapshot


TINY_FILES = {
    "config.json": b'{"architectures": ["Qwen3ForCausalLM"]}',
    "tokenizer.json": b'{"version": "1.0"}',
    "model-00001-of-00002.safetensors": b"A" * 4096,
    "model-00002-of-00002.safetensors": b"B" * 1024,
    "model.safetensors.index.json": b"{}",
    "pytorch_model.bin": b"pickle" * 100,
    ".gitattributes": b"*.safetensors filter=lfs",
    "original/consolidated.00.pth": b"meta",
}
STAGED = sorted(
    [
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
    ]
)


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Hub is unreachable here: huggingface_hub's offline mode serves the model from this cache."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    cache = tmp_path / "hf-cache"
    _write_cached_model(cache, TINY_FILES)
    return cache


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def _stage(
    cache: Path, *extra: str, destination: str = DESTINATION, debug: bool = False
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    ctx = CliContext(stdout=out, stderr=err, session_factory=lambda _p: boto3.Session(region_name=REGION))
    command = ["stage-weights", MODEL, destination, "--cache-dir", str(cache), *extra]
    code = run(["--debug", *command] if debug else command, ctx)
    return code, out.getvalue(), err.getvalue()


def _keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])


def test_stages_the_dlc_layout_with_sums_in_metadata_and_manifest(offline_cache: Path, s3: Any) -> None:
    code, out, err = _stage(offline_cache)

    assert code == 0, err
    assert out == f"s3_uri: {DESTINATION}\n"
    assert _keys(s3) == sorted([f"models/tiny/{p}" for p in STAGED] + [f"models/tiny/{MANIFEST_NAME}"])
    for path in STAGED:
        head = s3.head_object(Bucket=BUCKET, Key=f"models/tiny/{path}")
        assert head["Metadata"] == {"sha256": hashlib.sha256(TINY_FILES[path]).hexdigest()}
    body = s3.get_object(Bucket=BUCKET, Key=f"models/tiny/{MANIFEST_NAME}")["Body"].read().decode()
    manifest = Manifest.from_json(body)
    assert (manifest.hf_model_id, manifest.revision, manifest.commit) == (MODEL, None, COMMIT)
    assert [(f.path, f.size) for f in manifest.files] == [(p, len(TINY_FILES[p])) for p in STAGED]
    assert manifest.files[0].sha256 == hashlib.sha256(TINY_FILES[STAGED[0]]).hexdigest()
    assert f"uploading 5 files (0.0 MiB) to {DESTINATION}" in err
    assert err.rstrip().endswith("in the config's model:")


def test_a_second_run_skips_what_is_there_and_uploads_only_what_changed(offline_cache: Path, s3: Any) -> None:
    assert _stage(offline_cache)[0] == 0
    s3.delete_object(Bucket=BUCKET, Key="models/tiny/tokenizer.json")
    # Same size, different sum: an ETag or size comparison would keep the wrong bytes.
    s3.put_object(Bucket=BUCKET, Key="models/tiny/config.json", Body=b"x" * len(TINY_FILES["config.json"]))

    code, _, err = _stage(offline_cache)

    assert code == 0
    assert "uploading 2 files" in err
    skipped = sorted(line.split(": ")[1] for line in err.splitlines() if "skipped" in line)
    assert skipped == [p for p in STAGED if p not in {"config.json", "tokenizer.json"}]
    config = s3.get_object(Bucket=BUCKET, Key="models/tiny/config.json")
    assert config["Body"].read() == TINY_FILES["config.json"]

    code, _, err = _stage(offline_cache)
    assert "uploading" not in err
    assert err.count("same SHA-256, skipped") == len(STAGED)


def test_large_files_go_up_in_parts_with_their_sum(
    tmp_path: Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(staging_s3, "PART_SIZE", 5 * 1024 * 1024)  # S3's smallest part
    shard = os.urandom(1024) * (11 * 1024)  # 11 MiB: three parts
    _write_cached_model(tmp_path / "cache", {"config.json": b"{}", "model.safetensors": shard})

    code, _, err = _stage(tmp_path / "cache")

    assert code == 0, err
    head = s3.head_object(Bucket=BUCKET, Key="models/tiny/model.safetensors")
    assert head["ETag"].strip('"').endswith("-3")
    assert head["Metadata"]["sha256"] == hashlib.sha256(shard).hexdigest()
    assert "uploaded 11.0 of 11.0 MiB (100%)" in err


def test_objects_left_from_another_model_are_reported(offline_cache: Path, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="models/tiny/model-00003-of-00003.safetensors", Body=b"old")

    code, _, err = _stage(offline_cache)

    assert code == 0
    assert (
        f"Warning: {DESTINATION} also holds 1 object(s) this model does not have "
        "(e.g. models/tiny/model-00003-of-00003.safetensors)"
    ) in err


@pytest.mark.parametrize(
    ("destination", "problem"),
    [
        (f"s3://{BUCKET}/models/tiny", "destination"),
        (f"s3://{BUCKET}/", "destination"),
        ("https://example.com/models/", "destination"),
    ],
)
def test_a_destination_that_is_not_a_prefix_is_refused(
    offline_cache: Path, destination: str, problem: str
) -> None:
    code, out, err = _stage(offline_cache, destination=destination)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {problem} {destination!r} must be an S3 prefix like s3://my-bucket/models/qwen3-4b/ "
        "(a bucket, at least one folder, and a trailing /)\n"
    )


def test_a_model_missing_from_the_offline_cache_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    code, _, err = _stage(tmp_path / "empty-cache")
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        f"Error: {MODEL}: the Hugging Face Hub cannot be reached and the model is not (completely) in the "
        "local cache; check the network and HF_HUB_OFFLINE, then run the command again\n"
    )


def test_select_files_keeps_what_vllm_loads() -> None:
    assert select_files(TINY_FILES) == STAGED
    # Without safetensors, vLLM loads the PyTorch weights.
    assert select_files(["config.json", "pytorch_model.bin", "tf_model.h5"]) == [
        "config.json",
        "pytorch_model.bin",
    ]
    with pytest.raises(StagingError, match=r"^the snapshot has no config\.json at its top"):
        select_files(["model.safetensors"])
    with pytest.raises(StagingError, match=r"^the snapshot has no \.safetensors"):
        select_files(["config.json", "tf_model.h5", "sub/model.safetensors"])


class _FakeHub:
    """Stands in for huggingface_hub.snapshot_download online: it lists, then 'downloads' from a folder."""

    def __init__(self, snapshot: Path) -> None:
        self.snapshot = snapshot
        self.calls: list[dict[str, Any]] = []
        self.hf_token_in_env: list[str | None] = []

    def __call__(self, repo_id: str, **kwargs: Any) -> Any:
        self.calls.append({"repo_id": repo_id, **kwargs})
        self.hf_token_in_env.append(os.environ.get("HF_TOKEN"))
        if kwargs.get("dry_run"):
            return [
                huggingface_hub.DryRunFileInfo(
                    commit_hash=COMMIT,
                    file_size=len(content),
                    filename=name,
                    local_path="",
                    is_cached=False,
                    will_download=True,
                )
                for name, content in TINY_FILES.items()
                if name != ".gitattributes"
            ]
        return str(self.snapshot)


def test_online_download_lists_first_pins_the_commit_and_passes_the_secret_token_only_to_the_hub(
    tmp_path: Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    fake = _FakeHub(_write_cached_model(tmp_path / "cache", TINY_FILES))
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    secrets = aws_client("secretsmanager")
    stub = Stubber(secrets)
    stub.add_response(
        "get_secret_value",
        {"SecretString": json.dumps({"HF_TOKEN": FAKE_HF_TOKEN})},
        {"SecretId": "hf/token"},
    )
    stub.activate()
    session = StubbedSession(secretsmanager=secrets, s3=s3)
    out, err = io.StringIO(), io.StringIO()
    ctx = CliContext(stdout=out, stderr=err, session_factory=lambda _p: session)

    secret = ["--hf-token-secret", "hf/token"]
    code = run(["stage-weights", MODEL, DESTINATION, "--revision", "main", *secret], ctx)

    assert code == 0, err.getvalue()
    listing, download = fake.calls
    assert (listing["revision"], listing["dry_run"], listing["token"]) == ("main", True, FAKE_HF_TOKEN)
    assert download["revision"] == COMMIT
    assert download["token"] == FAKE_HF_TOKEN
    assert download["allow_patterns"] == STAGED
    assert fake.hf_token_in_env == [None, None]
    assert FAKE_HF_TOKEN not in out.getvalue() + err.getvalue()
    manifest = s3.get_object(Bucket=BUCKET, Key=f"models/tiny/{MANIFEST_NAME}")["Body"].read().decode()
    assert FAKE_HF_TOKEN not in manifest
    assert json.loads(manifest)["revision"] == "main"


@pytest.mark.parametrize(
    ("secret", "token"),
    [(FAKE_HF_TOKEN + "\n", FAKE_HF_TOKEN), (json.dumps({"token": FAKE_HF_TOKEN}), FAKE_HF_TOKEN)],
)
def test_the_secret_holds_the_token_as_text_or_json(secret: str, token: str) -> None:
    client = aws_client("secretsmanager")
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", {"SecretString": secret})
        assert staging_hub.hub_token("hf", StubbedSession(secretsmanager=client)) == token


def test_a_json_secret_without_a_token_key_is_refused() -> None:
    client = aws_client("secretsmanager")
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", {"SecretString": '{"password": "x"}'})
        with pytest.raises(StagingError) as refused:
            staging_hub.hub_token("hf", StubbedSession(secretsmanager=client))
    assert str(refused.value) == (
        "--hf-token-secret hf: a JSON secret needs an HF_TOKEN key; or store the token as plain text"
    )


def test_without_a_secret_the_token_is_hf_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_HF_TOKEN)
    assert staging_hub.hub_token(None, StubbedSession()) == FAKE_HF_TOKEN
    monkeypatch.delenv("HF_TOKEN")
    assert staging_hub.hub_token(None, StubbedSession()) is None


def test_an_unexpected_hub_error_never_prints_the_token(
    offline_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(repo_id: str, **kwargs: Any) -> Any:
        raise RuntimeError(f"proxy refused GET with Authorization: Bearer {kwargs['token']}")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", failing)
    monkeypatch.setenv("HF_TOKEN", FAKE_HF_TOKEN)
    code, out, err = _stage(offline_cache, debug=True)
    assert code == 1
    assert FAKE_HF_TOKEN not in out + err
    assert "Authorization: Bearer hf_<redacted>" in err
