"""`sagemaker-openai token`: print a bearer token for curl and other tools."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any, TextIO

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._targets import UsageError, add_target_arguments, resolve_targets
from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.client.token_format import MAX_TOKEN_LIFETIME, decode_token

DEFAULT_TOKEN_SECONDS = 900
CURL_EXAMPLE = (
    'curl -H @- "$BASE_URL/chat/completions" ... <<<"Authorization: Bearer $(sagemaker-openai token ...)"'
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="print a bearer token (a credential) for curl",
        description=(
            f"Print a SageMaker bearer token on stdout, for a pipe: {CURL_EXAMPLE} "
            "(curl reads the header from standard input, so the token stays out of the process list). "
            "The token is a credential: do not log, share or store it. It is not printed to a terminal "
            "unless --force is given."
        ),
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--expiry",
        type=int,
        default=DEFAULT_TOKEN_SECONDS,
        metavar="SECONDS",
        help=f"token lifetime (default {DEFAULT_TOKEN_SECONDS}, at most 43200)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="print the token even when stdout is a terminal (it stays in the scrollback)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not 1 <= args.expiry <= MAX_TOKEN_LIFETIME.total_seconds():
        raise UsageError("--expiry must be between 1 and 43200 seconds")
    if not args.force and _is_terminal(ctx.stdout):
        raise UsageError(
            "refusing to print a bearer token to a terminal, where it stays in the scrollback; pipe it, "
            f"as in {CURL_EXAMPLE}, or pass --force"
        )
    if args.base_url is None and args.outputs_file is None and args.stack is None:
        session = ctx.session_factory(args.profile)
        region = resolve_region(args.region, session=session)
    else:
        targets = resolve_targets(args, ctx)
        region, session = targets.region, targets.session
    auth = BearerTokenAuth(
        region, expiry=timedelta(seconds=args.expiry), session=session, token_factory=ctx.token_factory
    )
    token = auth.token()
    expires_at = decode_token(token).expires_at
    print(
        f"Warning: this token is a credential: whoever holds it can call what your AWS credentials may call "
        f"through SageMaker until {expires_at:%Y-%m-%d %H:%M:%S} UTC (or until those credentials expire). "
        "Do not log, share or store it.",
        file=ctx.stderr,
        flush=True,
    )
    print(token, file=ctx.stdout)
    return 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False
