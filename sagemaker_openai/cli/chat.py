"""`sagemaker-openai chat`: send one prompt and stream the answer."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._targets import (
    UsageError,
    add_target_arguments,
    add_wait_for_capacity_argument,
    check_ready,
    connection_pool,
    resolve_targets,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam


def add_call_arguments(parser: argparse.ArgumentParser, *, max_tokens: int) -> None:
    parser.add_argument("--max-tokens", type=int, default=max_tokens, help=f"default {max_tokens}")
    parser.add_argument(
        "--timeout", type=float, default=70.0, metavar="SECONDS", help="per-read timeout (default 70)"
    )
    parser.add_argument(
        "--max-retries", type=int, default=3, help="retries of 429, 5xx and dropped connections (default 3)"
    )
    add_wait_for_capacity_argument(parser)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="send one prompt and stream the answer",
        description="Send one prompt to a model and stream its answer to stdout.",
    )
    add_target_arguments(parser)
    parser.add_argument("prompt", help="the user message")
    parser.add_argument("--system", help="a system message to send first")
    add_call_arguments(parser, max_tokens=512)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from sagemaker_openai.client.factories import openai_client  # noqa: PLC0415 - the SDK loads slowly

    targets = resolve_targets(args, ctx)
    if len(targets.models) != 1:
        keys = ", ".join(model.key for model in targets.models)
        raise UsageError(f"the stack serves several models ({keys}); pick one with --model-key")
    model = targets.models[0]
    messages: list[ChatCompletionMessageParam] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    pool = connection_pool(targets, ctx, timeout=args.timeout, wait_for_capacity=args.wait_for_capacity)
    with openai_client(
        model.base_url, http_client=pool, timeout=args.timeout, max_retries=args.max_retries
    ) as client:
        check_ready(targets, ctx)
        stream = client.chat.completions.create(
            model=model.served_model_name, messages=messages, max_tokens=args.max_tokens, stream=True
        )
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    ctx.stdout.write(chunk.choices[0].delta.content)
                    ctx.stdout.flush()
        ctx.stdout.write("\n")
    return 0
