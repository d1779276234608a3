"""`sagemaker-openai outputs`: the OpenAI base URLs of a deployed stack."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._targets import add_stack_arguments, load_stack


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "outputs",
        help="print the OpenAI base URLs of a deployed stack",
        description="Print the endpoint and the OpenAI base URL of each model of a deployed stack.",
    )
    add_stack_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the outputs as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    stack, _ = load_stack(args, ctx)
    if args.json:
        print(json.dumps(dataclasses.asdict(stack), indent=2), file=ctx.stdout)
        return 0
    print(
        f"stack {stack.stack_name}: endpoint {stack.endpoint_name} in {stack.region} ({stack.mode})",
        file=ctx.stdout,
    )
    for model in stack.models.values():
        details = [f"model name {model.served_model_name!r}"]
        if model.inference_component_name is not None:
            details.insert(0, f"inference component {model.inference_component_name}")
        print(f"{model.key}: {model.base_url} ({', '.join(details)})", file=ctx.stdout)
    if stack.invoker_policy_arn is not None:
        print(f"invoker policy: {stack.invoker_policy_arn}", file=ctx.stdout)
    if stack.invoker_role_arn is not None:
        print(f"invoker role: {stack.invoker_role_arn}", file=ctx.stdout)
    return 0
