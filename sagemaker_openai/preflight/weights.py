"""The weights in S3: in the stack's region, with config.json and weights at the top, and readable."""

from __future__ import annotations

from botocore.exceptions import ClientError

from sagemaker_openai.config import ModelSpec
from sagemaker_openai.operations.staging import MANIFEST_NAME, Manifest
from sagemaker_openai.preflight.report import (
    Context,
    Finding,
    Skipped,
    Status,
    error_code,
    needs,
    ok,
    problem,
    skipped,
)

_WEIGHT_SUFFIXES = (".safetensors", ".bin")


def _bucket_region(ctx: Context, bucket: str) -> str:
    with needs("s3:GetBucketLocation"):
        location = ctx.client("s3").get_bucket_location(Bucket=bucket).get("LocationConstraint")
    # S3 answers None for us-east-1 and "EU" for the oldest eu-west-1 buckets.
    return str({None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location))


def _check_model(ctx: Context, where: str, model: ModelSpec) -> list[Finding]:
    location = model.s3_location()
    assert location is not None
    bucket, prefix = location
    name = f"weights {where}"
    s3 = ctx.client("s3")
    try:
        region = _bucket_region(ctx, bucket)
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return [problem(name, f"bucket {bucket} does not exist; check {where}.s3_uri")]
        raise
    if region != ctx.region:
        return [
            problem(
                name,
                f"bucket {bucket} is in {region} but the endpoint is in {ctx.region}; SageMaker reads model "
                "data from its own region: stage the weights to a bucket there (sagemaker-openai "
                "stage-weights)",
            )
        ]
    with needs("s3:ListBucket"):
        sizes = {
            o["Key"][len(prefix) :]: int(o["Size"])
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        }
    top = {key for key in sizes if "/" not in key}
    missing = [
        what
        for what, present in (
            ("config.json", "config.json" in top),
            ("weights (*.safetensors)", any(k.endswith(_WEIGHT_SUFFIXES) for k in top)),
        )
        if not present
    ]
    if missing:
        return [
            problem(
                name,
                f"{model.s3_uri} has no {' and no '.join(missing)} at its top; stage the model with "
                f"`sagemaker-openai stage-weights HF_MODEL_ID {model.s3_uri}`",
            )
        ]
    findings = _check_readable(ctx, name, where, model, bucket=bucket, prefix=prefix)
    if MANIFEST_NAME in top:
        findings += _check_manifest(ctx, name, bucket, prefix, sizes)
    if not any(f.status is Status.PROBLEM for f in findings):
        findings.insert(0, ok(name, f"{model.s3_uri}: config.json and {len(top)} files at the top"))
    return findings


def _check_readable(
    ctx: Context, name: str, where: str, model: ModelSpec, *, bucket: str, prefix: str
) -> list[Finding]:
    try:
        with needs("s3:GetObject"):
            head = ctx.client("s3").head_object(Bucket=bucket, Key=f"{prefix}config.json")
    except Skipped:
        return [skipped(name, "reading config.json skipped: needs s3:GetObject")]
    key_id = head.get("SSEKMSKeyId") if head.get("ServerSideEncryption") == "aws:kms" else None
    if key_id is None:
        return []
    configured = {model.s3_kms_key_arn, ctx.config.kms.key_arn if ctx.config.kms else None}
    if key_id in configured or (ctx.config.kms is not None and ctx.config.kms.create):
        return []
    with needs("kms:DescribeKey"):
        metadata = ctx.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    if metadata.get("KeyManager") != "CUSTOMER":
        return []
    return [
        problem(
            name,
            f"the weights are encrypted with customer managed key {metadata.get('Arn', key_id)}; set "
            f"{where}.s3_kms_key_arn to it so the execution role may decrypt them",
        )
    ]


def _check_manifest(
    ctx: Context, name: str, bucket: str, prefix: str, sizes: dict[str, int]
) -> list[Finding]:
    with needs("s3:GetObject"):
        body = ctx.client("s3").get_object(Bucket=bucket, Key=prefix + MANIFEST_NAME)["Body"].read()
    manifest = Manifest.from_json(body.decode())
    wrong = [f.path for f in manifest.files if sizes.get(f.path) != f.size]
    if wrong:
        return [
            problem(
                name,
                f"{len(wrong)} file(s) of {MANIFEST_NAME} are missing or of another size (e.g. {wrong[0]}); "
                "run stage-weights again to finish the copy",
            )
        ]
    return []


def check_weights(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for where, model in ctx.config.model_specs():
        if model.s3_uri is None:
            continue
        try:
            findings += _check_model(ctx, where, model)
        except Skipped as denied:
            findings.append(skipped(f"weights {where}", f"skipped: needs {denied.action}"))
    return findings
