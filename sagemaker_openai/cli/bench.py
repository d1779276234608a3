"""`sagemaker-openai bench`: TTFT, ITL, throughput and cost per output token of one model, level by level.

The flags are defined here; the work (sagemaker_openai.operations.bench.command) loads when the command runs,
so the other commands start no slower for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._targets import add_target_arguments


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure TTFT, ITL, throughput and cost per token of a model, level by level",
        description=(
            "Stream chat completions to one model at each load level in turn (a concurrency sweep, or "
            "Poisson arrivals at a rate), after an uncounted warm-up, and report per level: time to "
            "first token, inter-token latency and time per output token (p50/p90/p99/mean), end-to-end "
            "latency, request and token throughput, errors by status, goodput against --slo, dollars per "
            "million output tokens, and the client's own CPU. Token counts come from the answers' usage "
            "(stream_options.include_usage). See docs/bench.md."
        ),
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--model", dest="model_key", metavar="KEY", help="the stack's model to bench (= --model-key)"
    )
    parser.add_argument(
        "--auth",
        choices=("auto", "token", "none"),
        default="auto",
        help="auto (default): a self-renewing SageMaker bearer token, none for a loopback --base-url",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="send this environment variable's value as the API key (a proxy's)",
    )
    load = parser.add_argument_group("load")
    load.add_argument(
        "--concurrency", metavar="N,N,...", help="closed-loop streams per level (default 1,4,16,64)"
    )
    load.add_argument("--rate", metavar="R,R,...", help="Poisson arrivals per second per level, instead")
    load.add_argument("--duration", type=float, metavar="SECONDS", help="length of each level (default 60)")
    load.add_argument("--requests", type=int, metavar="N", help="requests per level, instead of --duration")
    load.add_argument(
        "--warmup",
        type=int,
        metavar="N",
        help="uncounted requests before each level (default: one per stream, or one second of arrivals)",
    )
    prompts = parser.add_argument_group("requests")
    prompts.add_argument(
        "--input-tokens",
        default="512",
        metavar="MEAN[:SPREAD]",
        help="prompt length, uniform ± spread (default 512)",
    )
    prompts.add_argument(
        "--output-tokens",
        metavar="MEAN[:SPREAD]",
        help="max_tokens asked for (default 128; a file's own otherwise)",
    )
    prompts.add_argument(
        "--shared-prefix-tokens",
        type=int,
        default=0,
        metavar="N",
        help="words every prompt starts with, before its own --input-tokens (prefix caching and routing)",
    )
    prompts.add_argument(
        "--prompts-file", type=Path, metavar="FILE.jsonl", help="chat requests, one JSON object per line"
    )
    prompts.add_argument(
        "--no-ignore-eos",
        dest="ignore_eos",
        action="store_false",
        help="let the model stop early (default: send vLLM's ignore_eos so answers are max_tokens long)",
    )
    prompts.add_argument("--seed", type=int, default=0, help="seed of prompts and arrivals (default 0)")
    prompts.add_argument(
        "--timeout", type=float, default=70.0, metavar="SECONDS", help="per-read timeout (default 70)"
    )
    judged = parser.add_argument_group("service-level objective and cost")
    judged.add_argument(
        "--slo",
        metavar="KEY=SECONDS,...",
        help="per-request limits of ttft, itl (the request's mean gap), tpot, e2e; e.g. ttft=0.5,itl=50ms",
    )
    judged.add_argument(
        "--slo-attainment",
        type=float,
        default=90.0,
        metavar="PERCENT",
        help="share of a level's requests that must meet --slo for it to count (default 90)",
    )
    judged.add_argument(
        "--price-per-hour", metavar="USD", help="price per instance-hour (default: Price List API)"
    )
    judged.add_argument(
        "--instance-type", metavar="TYPE", help="the instance type, when the endpoint cannot be described"
    )
    judged.add_argument(
        "--instance-count", type=int, metavar="N", help="instances billed (default: the endpoint's)"
    )
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--json", type=Path, metavar="FILE", help="write every figure and setting as JSON")
    outputs.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw latency and throughput (needs [bench])"
    )
    outputs.add_argument("--markdown", type=Path, metavar="FILE", help="write a markdown summary (for CI)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from sagemaker_openai.operations.bench.command import run_bench  # noqa: PLC0415 - loaded when it runs

    return run_bench(args, ctx)
