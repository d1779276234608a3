"""The work of `sagemaker-openai bench`: flags to a plan, the target and its price, the run, the outputs."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
from collections import Counter
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._targets import Targets, UsageError, check_ready, resolve_targets
from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.destinations import is_loopback
from sagemaker_openai.client.errors import SageMakerOpenAIError
from sagemaker_openai.client.stack_outputs import SINGLE_MODEL_KEY, ModelTarget
from sagemaker_openai.client.urls import parse_runtime_url
from sagemaker_openai.operations.bench.cost import Deployment, describe_deployment, list_price
from sagemaker_openai.operations.bench.measure import LevelResult
from sagemaker_openai.operations.bench.progress import LiveProgress
from sagemaker_openai.operations.bench.prompts import JsonlRequests, RequestSpec, SyntheticPrompts
from sagemaker_openai.operations.bench.report import (
    BenchRun,
    conclusions,
    markdown_summary,
    table,
    write_json,
)
from sagemaker_openai.operations.bench.runner import Plan, run_plan
from sagemaker_openai.operations.bench.settings import BenchSettingsError, Slo, Spread, Stop, parse_levels

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx


def run_bench(args: argparse.Namespace, ctx: CliContext) -> int:
    """Run the command: the levels in turn, then the table, the conclusions and the files asked for."""
    plan, requests, workload = _plan(args)
    target, targets = _target(args, ctx)
    deployment = _deployment(args, target, targets)
    usd_per_hour, price_source = _price(args, deployment, targets, ctx)
    plan = replace(plan, usd_per_hour=usd_per_hour)
    settings = {
        "kit_version": _kit_version(),
        "base_url": target.base_url,
        "stack": args.stack or (str(args.outputs_file) if args.outputs_file else None),
        "model": target.served_model_name,
        "instance_type": deployment.instance_type,
        "instance_count": _instances(args, deployment),
        "vllm_flags": deployment.vllm_flags,
        "price": None
        if usd_per_hour is None
        else {"usd_per_hour": str(usd_per_hour), "source": price_source},
        "workload": workload,
        "stop": plan.stop.describe(),
        "warmup": args.warmup,
        "ignore_eos": args.ignore_eos,
        "slo": plan.slo.as_dict(),
        "seed": args.seed,
    }
    if targets is not None:
        check_ready(targets, ctx)
    levels = asyncio.run(_measure(args, ctx, target=target, targets=targets, plan=plan, requests=requests))
    result = BenchRun(settings, levels, args.slo_attainment / 100, notes=list(deployment.notes))
    print(table(result), file=ctx.stdout)
    for line in conclusions(result):
        print(line, file=ctx.stdout)
    _write_outputs(args, result, ctx)
    return 0


def _plan(args: argparse.Namespace) -> tuple[Plan, Iterable[RequestSpec], str]:
    try:
        levels = parse_levels(args.concurrency, args.rate)
        stop = Stop.from_flags(args.requests, args.duration)
        slo = Slo.parse(args.slo) if args.slo else Slo()
        output = Spread.parse(args.output_tokens, "--output-tokens") if args.output_tokens else None
        if args.warmup is not None and args.warmup < 0:
            raise BenchSettingsError("--warmup must be 0 or more requests")
        if not 0 < args.slo_attainment <= 100:
            raise BenchSettingsError("--slo-attainment is a percentage above 0 and up to 100; e.g. 90")
        if args.timeout <= 0:
            raise BenchSettingsError("--timeout must be a positive number of seconds")
        _check_outputs(args)
        if args.prompts_file is not None:
            if args.shared_prefix_tokens:
                raise BenchSettingsError("Provide either --prompts-file or --shared-prefix-tokens, not both.")
            requests: Iterable[RequestSpec] = JsonlRequests(
                args.prompts_file, max_tokens=output, seed=args.seed
            )
            workload = f"requests from {args.prompts_file}"
        else:
            if args.shared_prefix_tokens < 0:
                raise BenchSettingsError("--shared-prefix-tokens must be 0 or more")
            inputs = Spread.parse(args.input_tokens, "--input-tokens")
            output = output or Spread(128)
            requests = SyntheticPrompts(
                input_tokens=inputs,
                output_tokens=output,
                shared_prefix_tokens=args.shared_prefix_tokens,
                seed=args.seed,
            )
            prefix = f" after a shared {args.shared_prefix_tokens}" if args.shared_prefix_tokens else ""
            workload = f"synthetic prompts of {inputs} tokens{prefix}, {output} output tokens"
    except BenchSettingsError as exc:
        raise UsageError(str(exc)) from None
    return Plan(levels, stop, slo, args.warmup, seed=args.seed), requests, workload


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output that cannot be written before the run, not after it."""
    for flag, path in (("--json", args.json), ("--plot", args.plot), ("--markdown", args.markdown)):
        if path is not None and not path.parent.is_dir():
            raise BenchSettingsError(
                f"{flag} {path}: directory {path.parent} does not exist; create it first"
            )
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        raise BenchSettingsError("--plot needs matplotlib: pip install 'sagemaker-openai[bench]'")


def _target(args: argparse.Namespace, ctx: CliContext) -> tuple[ModelTarget, Targets | None]:
    """The model to bench; Targets (region, session) unless it is a loopback URL called without a token."""
    local = args.base_url is not None and is_loopback(urlsplit(args.base_url).hostname or "")
    keyed = args.api_key_env is not None
    if keyed and args.auth == "token":
        raise UsageError("Provide either --auth token or --api-key-env, not both.")
    if keyed and args.base_url is None:
        raise UsageError("--api-key-env sends a proxy's API key: give the proxy's --base-url")
    if args.auth == "none" and not local:
        raise UsageError("--auth none is for a loopback --base-url only; SageMaker needs a token")
    if keyed or (local and args.auth != "token"):
        if args.model_key is not None:
            raise UsageError("--model picks a model of a stack; drop it with --base-url")
        return ModelTarget(SINGLE_MODEL_KEY, args.base_url, None, args.model_name or ""), None
    targets = resolve_targets(args, ctx)
    if len(targets.models) != 1:
        keys = ", ".join(model.key for model in targets.models)
        raise UsageError(f"the stack serves several models ({keys}); pick one with --model KEY")
    return targets.models[0], targets


def _deployment(args: argparse.Namespace, target: ModelTarget, targets: Targets | None) -> Deployment:
    runtime = parse_runtime_url(target.base_url)
    if targets is None or runtime is None or args.instance_type is not None:
        return Deployment(instance_type=args.instance_type, instance_count=args.instance_count)
    component = target.inference_component_name or runtime.inference_component_name
    return describe_deployment(targets.session, targets.region, runtime.endpoint_name, component)


def _instances(args: argparse.Namespace, deployment: Deployment) -> int:
    return int(args.instance_count or deployment.instance_count or 1)


def _price(
    args: argparse.Namespace, deployment: Deployment, targets: Targets | None, ctx: CliContext
) -> tuple[Decimal | None, str | None]:
    """The deployment's price per hour (all its instances) and where it came from."""
    if args.instance_count is not None and args.instance_count < 1:
        raise UsageError("--instance-count must be at least 1")
    count = _instances(args, deployment)
    if args.price_per_hour is not None:
        try:
            price = Decimal(args.price_per_hour)
        except InvalidOperation:
            price = Decimal(-1)
        if not price.is_finite() or price <= 0:
            raise UsageError(
                f"--price-per-hour {args.price_per_hour!r} must be a positive USD amount; e.g. 1.21"
            )
        return price * count, f"--price-per-hour {args.price_per_hour} x {count} instance(s)"
    if deployment.instance_type is None or targets is None:
        return None, None
    listed, note = list_price(targets.session, deployment.instance_type, targets.region)
    if listed is None:
        ctx.note(note or "no price found; pass --price-per-hour")
        return None, None
    return listed.usd_per_instance_hour * count, f"{listed.source} x {count} instance(s)"


async def _measure(
    args: argparse.Namespace,
    ctx: CliContext,
    *,
    target: ModelTarget,
    targets: Targets | None,
    plan: Plan,
    requests: Iterable[RequestSpec],
) -> list[LevelResult]:
    from sagemaker_openai.client.factories import async_connection_pool, async_openai_client  # noqa: PLC0415
    from sagemaker_openai.operations.bench.stream import StreamSender  # noqa: PLC0415 - loads the SDK

    headers: dict[str, str] = {}
    auth: httpx.Auth | None = None
    if args.api_key_env is not None:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise UsageError(f"environment variable {args.api_key_env} (--api-key-env) is not set")
        headers["Authorization"] = f"Bearer {key}"
    elif targets is not None:
        token_auth = BearerTokenAuth(targets.region, session=targets.session, token_factory=ctx.token_factory)
        token_auth.token()  # credential problems surface now, not as the first level's errors
        auth = token_auth
    pool = async_connection_pool(auth=auth, timeout=args.timeout)
    # No SDK retries: each 429 or 5xx is counted as it happened.
    client = async_openai_client(
        target.base_url,
        http_client=pool,
        timeout=args.timeout,
        max_retries=0,
        default_headers=headers or None,
    )
    progress = LiveProgress(ctx.stdout, plan.levels)
    async with client:
        sender = progress.counting(StreamSender(client, target.served_model_name, ignore_eos=args.ignore_eos))
        with progress.ticking():
            return await run_plan(plan, sender, requests, on_level=progress.level_ended)


def _write_outputs(args: argparse.Namespace, result: BenchRun, ctx: CliContext) -> None:
    """The files asked for; a run in which nothing succeeded fails once the figures are written."""
    if args.json is not None:
        write_json(result, args.json)
        print(f"JSON written to {args.json}", file=ctx.stdout)
    if args.markdown is not None:
        args.markdown.write_text(markdown_summary(result), encoding="utf-8")
        print(f"Markdown summary written to {args.markdown}", file=ctx.stdout)
    failed = Counter[str]()
    for level in result.levels:
        failed.update(level.errors)
    if not any(level.completed for level in result.levels):
        summary = ", ".join(f"{status}: {count}" for status, count in sorted(failed.items())) or "none sent"
        raise SageMakerOpenAIError(
            f"no request succeeded at any level ({summary}); "
            "check the URL, the model name and the credentials"
        )
    if args.plot is not None:
        from sagemaker_openai.operations.bench.plot import plot_run  # noqa: PLC0415 - matplotlib, only for --plot

        plot_run(result, args.plot)
        print(f"Plot written to {args.plot}", file=ctx.stdout)


def _kit_version() -> str:
    try:
        return version("sagemaker-openai")
    except PackageNotFoundError:
        return "unknown"
