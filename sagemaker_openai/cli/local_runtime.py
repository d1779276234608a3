"""`sagemaker-openai local-runtime`: a local stand-in for the SageMaker runtime's OpenAI routes."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._server_limits import add_server_limit_arguments
from sagemaker_openai.cli._targets import UsageError, add_aws_arguments
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.client.errors import SageMakerOpenAIError, server_libraries_missing
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.servers.local_runtime.routes import EndpointLayout
from sagemaker_openai.servers.local_runtime.settings import RuntimeSettings
from sagemaker_openai.servers.local_runtime.token_verifier import TokenVerifier
from sagemaker_openai.servers.serving_limits import check_limits

if TYPE_CHECKING:
    from sagemaker_openai.servers.local_runtime.upstream import Upstream


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "local-runtime",
        help="serve a local stand-in for the SageMaker runtime's OpenAI routes",
        description=(
            "Serve /endpoints/NAME/openai/v1/chat/completions (or, with --inference-component, "
            "/endpoints/NAME/inference-components/IC/openai/v1/chat/completions) on 127.0.0.1, accepting "
            "bearer tokens signed by this environment's AWS credentials. The first line printed is "
            "'local-runtime listening on http://127.0.0.1:PORT'. Stop it with Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0 picks a free one; default 8080)")
    parser.add_argument("--endpoint", required=True, metavar="NAME", help="the endpoint name to serve")
    parser.add_argument(
        "--inference-component",
        action="append",
        default=[],
        dest="inference_components",
        metavar="NAME",
        help="serve this inference component (repeat for several); without it the endpoint is single-model",
    )
    add_aws_arguments(parser)
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a token")
    parser.add_argument(
        "--upstream",
        metavar="URL",
        help="forward completions to this OpenAI-compatible base URL (e.g. vLLM's)",
    )
    parser.add_argument(
        "--upstream-api-key-env",
        metavar="VAR",
        help="environment variable holding the upstream's API key (the caller's token is never forwarded)",
    )
    parser.add_argument(
        "--refusal-status",
        type=int,
        choices=(401, 403, 400),
        help="answer every token refusal with this status (default: 401, or 403 for a token not accepted); "
        "AWS documents none for this route, so clients should handle each",
    )
    add_server_limit_arguments(parser)
    parser.add_argument(
        "--served-model-name",
        metavar="NAME",
        help=(
            "the model name served: answered when a request sends none, and a request naming another "
            "gets a 404 as from vLLM (default: any name accepted, 'local-runtime' answered)"
        ),
    )
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="send streamed chunks this many seconds apart, the first after one, like a model generating "
        "tokens (for benchmarks; default 0)",
    )
    parser.add_argument(
        "--first-token-delay",
        type=float,
        metavar="SECONDS",
        help="send a streamed answer's first token this long after its turn comes, and each later token "
        "--token-delay after the one before (for benchmarks; default: every chunk --token-delay apart)",
    )
    parser.add_argument(
        "--max-num-seqs",
        type=int,
        metavar="N",
        help="generate at most N streamed answers at once; the rest queue in arrival order, as beyond "
        "vLLM's --max-num-seqs, and the wait adds to their time to first token (default: no limit)",
    )
    parser.add_argument(
        "--no-stream-usage",
        action="store_true",
        help="leave the usage chunk out of streams even when stream_options.include_usage asks for it, "
        "as a server without it would (to test clients' fallbacks)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    layout = _layout(args)
    try:
        check_limits(args.read_timeout, args.max_connections)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 0 <= args.token_delay <= 60:
        raise UsageError("--token-delay must be between 0 and 60 seconds")
    if args.first_token_delay is not None and not 0 <= args.first_token_delay <= 60:
        raise UsageError("--first-token-delay must be between 0 and 60 seconds")
    if args.max_num_seqs is not None and args.max_num_seqs < 1:
        raise UsageError("--max-num-seqs must be at least 1 (or left out for no limit)")
    verifier = None
    if not args.no_auth:
        session = ctx.session_factory(args.profile)
        region = resolve_region(args.region, session=session)
        credentials = SessionCredentials(session=session)
        access_key = credentials.snapshot().access_key  # fails now when there are none
        verifier = TokenVerifier(credentials, region=region)
    upstream = _upstream(args)
    try:
        from sagemaker_openai.servers.local_runtime.server import LocalRuntimeServer  # noqa: PLC0415
    except ImportError as exc:
        raise server_libraries_missing("local-runtime", exc) from None
    settings = RuntimeSettings(
        layout=layout,
        verifier=verifier,
        served_model_name=args.served_model_name,
        upstream=upstream,
        refusal_status=args.refusal_status,
        read_timeout=args.read_timeout,
        max_connections=args.max_connections,
        token_delay=args.token_delay,
        first_token_delay=args.first_token_delay,
        max_num_seqs=args.max_num_seqs,
        stream_usage=not args.no_stream_usage,
    )
    try:
        server = LocalRuntimeServer(settings, port=args.port)
    except OSError as exc:
        raise SageMakerOpenAIError(
            f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); "
            "pick another --port (0 picks a free one)"
        ) from None
    print(f"local-runtime listening on {server.origin}", file=ctx.stdout)
    for url in server.base_urls():
        print(f"  base URL {url}", file=ctx.stdout)
    if verifier is None:
        print("  authentication off (--no-auth)", file=ctx.stdout)
    else:
        print(
            f"  accepting tokens for {region} signed by {access_key[:4]}...{access_key[-4:]}", file=ctx.stdout
        )
    if settings.upstream is not None:
        print(f"  forwarding to {settings.upstream.base_url}/chat/completions", file=ctx.stdout)
    ctx.stdout.flush()
    server.serve()
    return 0


def _layout(args: argparse.Namespace) -> EndpointLayout:
    names = [args.endpoint, *args.inference_components]
    if any(not name or "/" in name for name in names):
        raise UsageError("endpoint and inference component names must be non-empty and contain no '/'")
    if len(set(args.inference_components)) != len(args.inference_components):
        raise UsageError("each --inference-component may be given once")
    return EndpointLayout(args.endpoint, tuple(args.inference_components))


def _upstream(args: argparse.Namespace) -> Upstream | None:
    if args.upstream is None:
        if args.upstream_api_key_env is not None:
            raise UsageError("--upstream-api-key-env needs --upstream")
        return None
    from sagemaker_openai.servers.local_runtime.upstream import (  # noqa: PLC0415 - imports httpx
        Upstream,
        UpstreamURLError,
        check_upstream_url,
    )

    try:
        check_upstream_url(args.upstream)
    except UpstreamURLError as exc:
        raise UsageError(f"--upstream {exc}; use https://, or http:// to a server on this machine") from None
    api_key = None
    if args.upstream_api_key_env is not None:
        api_key = os.environ.get(args.upstream_api_key_env)
        if not api_key:
            raise UsageError(
                f"environment variable {args.upstream_api_key_env} (--upstream-api-key-env) is not set"
            )
    return Upstream(args.upstream, api_key=api_key)
