"""`sagemaker-openai token`: print a bearer token for curl and other tools."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.commands._context import CliContext
from sagemaker_openai.client.commands._targets import UsageError, add_target_arguments, resolve_targets
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.client.token_format import MAX_TOKEN_LIFETIME, decode_token

DEFAULT_TOKEN_SECONDS = 900


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="print a bearer token (a credential) for curl",
        description=(
            "Print a SageMaker bearer token on stdout, for example: "
            'curl -H "Authorization: Bearer $(sagemaker-openai token --region us-east-1)" ... '
            "The token is a credential: do not log, share or store it."
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not 1 <= args.expiry <= MAX_TOKEN_LIFETIME.total_seconds():
        raise UsageError("--expiry must be between 1 and 43200 seconds")
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
