"""Options that pick what to call: a base URL, or a stack from an outputs file or from CloudFormation."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.destinations import check_token_destination
from sagemaker_openai.client.errors import SageMakerOpenAIError
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.client.stack_outputs import SINGLE_MODEL_KEY, ModelTarget, StackOutputs
from sagemaker_openai.client.urls import parse_runtime_url
from sagemaker_openai.operations.control_plane import check_endpoint_ready, read_stack_outputs

if TYPE_CHECKING:
    import boto3
    import httpx


class UsageError(SageMakerOpenAIError):
    """Options that do not fit together (reported like an argparse error)."""


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region", help="AWS region (default: from the URL or stack, else AWS_DEFAULT_REGION)"
    )
    parser.add_argument(
        "--profile", help="AWS profile to sign with (default: AWS_PROFILE or the default chain)"
    )


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--outputs-file", metavar="FILE", help="JSON written by `cdk deploy --outputs-file FILE`"
    )
    parser.add_argument(
        "--stack", metavar="NAME", help="stack name (read from CloudFormation unless --outputs-file is given)"
    )
    add_aws_arguments(parser)


def add_wait_for_capacity_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait-for-capacity",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep retrying a scaled-to-zero model's 400 'no capacity' for up to this long (default 0)",
    )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", metavar="URL", help="an OpenAI base URL (.../openai/v1) instead of a stack"
    )
    add_stack_arguments(parser)
    parser.add_argument("--model-key", metavar="KEY", help="the stack's model to call (default: every model)")
    parser.add_argument(
        "--model-name",
        metavar="NAME",
        help="the `model` field to send (default: the stack's served model name)",
    )


@dataclass(frozen=True)
class Targets:
    region: str
    session: boto3.Session
    models: list[ModelTarget]


def load_stack(args: argparse.Namespace, ctx: CliContext) -> tuple[StackOutputs, boto3.Session]:
    """The stack named by --outputs-file/--stack, and the session for its region."""
    session = ctx.session_factory(args.profile)
    if args.outputs_file is not None:
        stack = StackOutputs.from_file(args.outputs_file, args.stack)
    elif args.stack is not None:
        region = resolve_region(args.region, session=session)
        stack = read_stack_outputs(args.stack, session=session, region=region)
    else:
        raise UsageError("pass --outputs-file FILE (written by `cdk deploy --outputs-file`) or --stack NAME")
    if args.region is not None and args.region != stack.region:
        raise UsageError(
            f"--region {args.region} does not match stack {stack.stack_name}'s region {stack.region}"
        )
    return stack, session


def resolve_targets(args: argparse.Namespace, ctx: CliContext) -> Targets:
    """The models to call, the region to sign for, and the AWS session to sign with."""
    if args.base_url is not None:
        if args.outputs_file is not None or args.stack is not None:
            raise UsageError("Provide either --base-url or --outputs-file/--stack, not both.")
        if args.model_key is not None:
            raise UsageError("--model-key picks a model of a stack; drop it with --base-url")
        check_token_destination(args.base_url)
        session = ctx.session_factory(args.profile)
        region = resolve_region(args.region, base_url=args.base_url, session=session)
        return Targets(region, session, [_url_target(args.base_url, args.model_name)])
    stack, session = load_stack(args, ctx)
    models = [stack.target(args.model_key)] if args.model_key is not None else list(stack.models.values())
    if args.model_name is not None:
        models = [replace(model, served_model_name=args.model_name) for model in models]
    return Targets(stack.region, session, models)


def check_ready(targets: Targets, ctx: CliContext) -> None:
    """Refuse endpoints that are not InService; skipped for URLs without a runtime host (local-runtime)."""
    for model in targets.models:
        runtime = parse_runtime_url(model.base_url)
        if runtime is None or runtime.region is None:
            continue
        note = check_endpoint_ready(runtime, session=targets.session, region=targets.region)
        if note is not None:
            ctx.note(note.message)


def connection_pool(
    targets: Targets,
    ctx: CliContext,
    *,
    timeout: float,
    wait_for_capacity: float,
    sleep: Callable[[float], None] | None = None,
) -> httpx.Client:
    """One pool and one token for every model, as an application would share them."""
    from sagemaker_openai.client import factories  # noqa: PLC0415 - the SDK loads slowly; only callers need it

    auth = BearerTokenAuth(targets.region, session=targets.session, token_factory=ctx.token_factory)
    # Mint now: credential problems then surface at once, not after the SDK's connection retries.
    auth.token()
    return factories.connection_pool(
        auth=auth,
        timeout=timeout,
        wait_for_capacity=wait_for_capacity,
        transport=ctx.transport,
        notify=ctx.note,
        sleep=sleep or ctx.sleep,
        clock=ctx.clock,
    )


def _url_target(base_url: str, model_name: str | None) -> ModelTarget:
    runtime = parse_runtime_url(base_url)
    if runtime is None:
        key = SINGLE_MODEL_KEY
        component = None
    else:
        component = runtime.inference_component_name
        key = component or runtime.endpoint_name
    return ModelTarget(
        key=key, base_url=base_url, inference_component_name=component, served_model_name=model_name or ""
    )
