"""`sagemaker-openai stage-weights`: copy a Hugging Face model to S3 for `model.s3_uri`."""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._targets import UsageError
from sagemaker_openai.operations.staging import Manifest, S3Prefix, StagedFile
from sagemaker_openai.operations.staging.layout import DEFAULT_WORKERS, MIB
from sagemaker_openai.operations.staging.manifest import MANIFEST_NAME, sha256_of

_HASH_WORKERS = 4


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "stage-weights",
        help="copy a Hugging Face model into an S3 prefix for model.s3_uri",
        description=(
            "Download HF_MODEL_ID from the Hugging Face Hub and upload it, uncompressed, to the S3 prefix "
            "(config.json and the safetensors at the top, as the vLLM DLC reads them), with a manifest of "
            f"sizes and SHA-256 sums ({MANIFEST_NAME}). Files already there with the same SHA-256 are "
            "skipped, so a second run resumes an interrupted one. Prints the s3_uri line for the config. "
            "A token for gated models comes from HF_TOKEN or --hf-token-secret; it is used for the "
            "download only."
        ),
    )
    parser.add_argument("hf_model_id", metavar="HF_MODEL_ID", help="e.g. Qwen/Qwen3-4B")
    parser.add_argument("destination", metavar="s3://BUCKET/PREFIX/", help="the S3 prefix (ends with /)")
    parser.add_argument("--revision", metavar="REV", help="branch, tag or commit (default: main)")
    parser.add_argument(
        "--hf-token-secret",
        metavar="NAME",
        help="Secrets Manager secret (name or ARN) that holds the Hugging Face token (default: HF_TOKEN)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="Hugging Face cache (default: HF_HUB_CACHE or ~/.cache)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"parallel upload threads (default {DEFAULT_WORKERS})",
    )
    parser.add_argument("--region", help="AWS region of the Secrets Manager secret (default: the profile's)")
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default chain)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    # huggingface_hub and the S3 transfer manager load only for this command.
    from sagemaker_openai.operations.staging import hub, s3  # noqa: PLC0415

    destination = S3Prefix.parse(args.destination)
    if not 1 <= args.workers <= 64:
        raise UsageError("--workers must be between 1 and 64")
    session = ctx.session_factory(args.profile)
    token = hub.hub_token(args.hf_token_secret, session, args.region)

    ctx.note(f"downloading {args.hf_model_id} ({args.revision or 'main'}) from the Hugging Face Hub")
    snapshot = hub.download(args.hf_model_id, revision=args.revision, token=token, cache_dir=args.cache_dir)
    ctx.note(f"hashing {len(snapshot.files)} files (SHA-256)")
    with ThreadPoolExecutor(_HASH_WORKERS) as pool:
        staged = list(pool.map(lambda p: _staged_file(snapshot.folder, p), snapshot.files))

    client = session.client("s3")
    remote = {f.path: s3.head(client, destination, f.path) for f in staged}
    todo = [f for f in staged if not s3.is_staged(remote[f.path], f)]
    for f in staged:
        if f not in todo:
            print(f"  same SHA-256, skipped: {f.path}", file=ctx.stderr)
    if todo:
        total = sum(f.size for f in todo)
        ctx.note(f"uploading {len(todo)} files ({total / MIB:,.1f} MiB) to {destination.uri}")
        s3.upload(
            client, destination, snapshot.folder, todo, s3.Progress(total, ctx.stderr), workers=args.workers
        )
    manifest = Manifest(
        hf_model_id=args.hf_model_id, revision=args.revision, commit=snapshot.commit, files=tuple(staged)
    )
    s3.write_manifest(client, destination, manifest)

    others = s3.other_objects(client, destination, [f.path for f in staged])
    if others:
        print(
            f"Warning: {destination.uri} also holds {len(others)} object(s) this model does not have "
            f"(e.g. {others[0]}); SageMaker copies the whole prefix to /opt/ml/model, where vLLM may load "
            "them: delete them or stage to an empty prefix",
            file=ctx.stderr,
        )
    kms_key = next((r.kms_key_id for r in remote.values() if r is not None and r.kms_key_id), None)
    if kms_key is None and todo:
        uploaded = s3.head(client, destination, todo[0].path)
        kms_key = uploaded.kms_key_id if uploaded is not None else None
    if kms_key is not None:
        ctx.note(
            f"the objects are encrypted with KMS key {kms_key}; if it is a customer managed key, set "
            "model.s3_kms_key_arn to it so the endpoint may decrypt them"
        )
    ctx.note(f"staged {len(staged)} files ({manifest.total_bytes / MIB:,.1f} MiB); in the config's model:")
    print(f"s3_uri: {destination.uri}", file=ctx.stdout)
    return 0


def _staged_file(folder: Path, path: str) -> StagedFile:
    local = folder / path
    return StagedFile(path=path, size=local.stat().st_size, sha256=sha256_of(local))
