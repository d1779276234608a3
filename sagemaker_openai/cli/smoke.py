"""`sagemaker-openai smoke`: a short chat completion on every model of a stack, for CI."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._errors import describe_error
from sagemaker_openai.cli._targets import (
    add_target_arguments,
    check_ready,
    connection_pool,
    resolve_targets,
)
from sagemaker_openai.cli.chat import add_call_arguments
from sagemaker_openai.client.redaction import redact
from sagemaker_openai.client.stack_outputs import ModelTarget

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletion

DEFAULT_PROMPT = "Reply with one short sentence: are you up?"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "smoke",
        help="check every model of a stack answers (for CI)",
        description=(
            "Send a short chat completion to every model of a stack (or one URL), check an answer came back, "
            "and print latency and tokens per second. Exits 1 if any model fails."
        ),
    )
    add_target_arguments(parser)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="the user message to send")
    add_call_arguments(parser, max_tokens=64)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from sagemaker_openai.client.factories import openai_client  # noqa: PLC0415 - the SDK loads slowly

    targets = resolve_targets(args, ctx)
    waiting = _WaitClock(ctx)
    failures = 0
    with connection_pool(
        targets, ctx, timeout=args.timeout, wait_for_capacity=args.wait_for_capacity, sleep=waiting.sleep
    ) as pool:
        check_ready(targets, ctx)
        for model in targets.models:
            client = openai_client(
                model.base_url, http_client=pool, timeout=args.timeout, max_retries=args.max_retries
            )
            if not _smoke_one(client, model, args, ctx, waiting):
                failures += 1
    passed = len(targets.models) - failures
    print(f"smoke: {passed} of {len(targets.models)} models answered", file=ctx.stdout)
    return 1 if failures else 0


class _WaitClock:
    """Counts the time spent waiting for capacity, so latency measures the answer, not the wake-up."""

    def __init__(self, ctx: CliContext) -> None:
        self._ctx = ctx
        self.waited = 0.0

    def sleep(self, seconds: float) -> None:
        self.waited += seconds
        self._ctx.sleep(seconds)


def _smoke_one(
    client: OpenAI, model: ModelTarget, args: argparse.Namespace, ctx: CliContext, waiting: _WaitClock
) -> bool:
    started, waited_before = ctx.clock(), waiting.waited
    try:
        completion = client.chat.completions.create(
            model=model.served_model_name,
            messages=[{"role": "user", "content": args.prompt}],
            max_tokens=args.max_tokens,
        )
    except Exception as exc:
        print(f"Error: {model.key}: {redact(describe_error(exc))}", file=ctx.stderr)
        return False
    latency = ctx.clock() - started - (waiting.waited - waited_before)
    if not _has_answer(completion):
        print(
            f"Error: {model.key}: no answer came back from {model.base_url} (empty message); "
            "see the endpoint's CloudWatch logs",
            file=ctx.stderr,
        )
        return False
    tokens = completion.usage.completion_tokens if completion.usage is not None else None
    rate = f"{tokens / latency:.1f} tokens/s" if tokens and latency > 0 else "tokens/s unknown"
    count = "?" if tokens is None else str(tokens)
    print(f"ok {model.key}: {latency:.2f} s, {count} tokens, {rate}, {model.base_url}", file=ctx.stdout)
    return True


def _has_answer(completion: ChatCompletion) -> bool:
    if not completion.choices:
        return False
    message = completion.choices[0].message
    # vLLM's reasoning parsers move thinking out of `content`; a short answer may be all reasoning.
    extra = message.model_extra or {}
    reasoning = extra.get("reasoning_content") or extra.get("reasoning")
    return bool(message.content or reasoning or message.tool_calls)
