"""`sagemaker-openai proxy`: one local OpenAI base URL, with a renewed token, for every model of a stack."""

from __future__ import annotations

import argparse
import os
from typing import Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._server_limits import add_server_limit_arguments
from sagemaker_openai.cli._targets import (
    UsageError,
    add_stack_arguments,
    add_wait_for_capacity_argument,
    load_stack,
)
from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.destinations import is_loopback
from sagemaker_openai.client.errors import SageMakerOpenAIError, server_libraries_missing
from sagemaker_openai.servers.proxy.routes import ModelRoutes
from sagemaker_openai.servers.serving_limits import (
    check_limits,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="serve one local OpenAI base URL for every model of a stack",
        description=(
            "Serve the OpenAI API at http://HOST:PORT/v1 for any OpenAI client (Node, Go, gateways): "
            "POST /v1/chat/completions goes to the model its `model` names (the stack's model key), with "
            "a bearer token minted and renewed here; GET /v1/models lists the models. The first line "
            "printed is 'proxy listening on http://HOST:PORT/v1'. Stop it with Ctrl-C or SIGTERM."
        ),
    )
    add_stack_arguments(parser)
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port (0 picks a free one; default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; any other needs --api-key-env)",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="environment variable holding the API key callers must send (default: none, loopback only)",
    )
    add_wait_for_capacity_argument(parser)
    parser.add_argument(
        "--timeout",
        type=float,
        default=70.0,
        metavar="SECONDS",
        help="per-read timeout towards SageMaker (default 70)",
    )
    add_server_limit_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port; use 0 to 65535 (0 picks a free one)")
    if args.wait_for_capacity < 0 or args.timeout <= 0:
        raise UsageError("--wait-for-capacity must be 0 or more and --timeout more than 0 seconds")
    try:
        check_limits(args.read_timeout, args.max_connections)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    api_key = _api_key(args.api_key_env)
    if api_key is None and not is_loopback(args.host):
        raise UsageError(
            f"--host {args.host} would let other machines call your models with your AWS identity; "
            "pass --api-key-env VAR as well (callers then send that key), or keep the default 127.0.0.1"
        )
    stack, session = load_stack(args, ctx)
    try:
        from sagemaker_openai.servers.proxy.app import ProxySettings, build_app  # noqa: PLC0415
        from sagemaker_openai.servers.proxy.server import ProxyServer  # noqa: PLC0415
    except ImportError as exc:
        raise server_libraries_missing("the proxy", exc) from None
    auth = BearerTokenAuth(stack.region, session=session, token_factory=ctx.token_factory)
    # Mint now: credential problems surface here, not as 502s to the first callers.
    auth.token()
    routes = ModelRoutes.from_stack(stack)
    settings = ProxySettings(
        routes=routes,
        auth=auth,
        api_key=api_key,
        api_key_source=f"the key in ${args.api_key_env}",
        check_host=is_loopback(args.host),
        timeout=args.timeout,
        wait_for_capacity=args.wait_for_capacity,
        notify=ctx.note,
    )
    try:
        server = ProxyServer(
            build_app(settings),
            host=args.host,
            port=args.port,
            read_timeout=args.read_timeout,
            max_connections=args.max_connections,
        )
    except OSError as exc:
        raise SageMakerOpenAIError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); "
            "pick another --port (0 picks a free one) or --host"
        ) from None
    print(f"proxy listening on {server.base_url}", file=ctx.stdout)
    for name, model in stack.models.items():
        sent_as = f"model {model.served_model_name!r}" if model.served_model_name else "an empty model"
        print(f"  model {name!r}: {model.base_url} (sent with {sent_as})", file=ctx.stdout)
    print(
        f"  API key: {'required (from $' + args.api_key_env + ')' if api_key else 'none (loopback only)'}; "
        f"tokens for {stack.region}, renewed in this process",
        file=ctx.stdout,
    )
    ctx.stdout.flush()
    server.serve()
    return 0


def _api_key(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable, "")
    if not value.strip():
        raise UsageError(
            f"environment variable {variable} (--api-key-env) is not set or empty; set it to the key"
        )
    return value.strip()
