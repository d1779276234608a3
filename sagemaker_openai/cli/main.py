"""`sagemaker-openai`: outputs, token, chat, smoke, bench, local-runtime, proxy, stage-weights, leftovers."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from sagemaker_openai.cli import (
    bench,
    chat,
    leftovers,
    local_runtime,
    outputs,
    proxy,
    smoke,
    stage_weights,
    token,
)
from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._errors import describe_error
from sagemaker_openai.cli._targets import UsageError
from sagemaker_openai.client.log_safety import protect_library_loggers
from sagemaker_openai.client.redaction import redact

_COMMANDS = (outputs, token, chat, smoke, bench, local_runtime, proxy, stage_weights, leftovers)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="sagemaker-openai",
        description="Call OpenAI-compatible SageMaker AI endpoints with bearer tokens.",
    )
    parser.add_argument("--debug", action="store_true", help="log debug messages and show tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if "--debug" in arguments else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # --debug shows botocore's and httpx's debug records, with signatures and session tokens redacted.
    protect_library_loggers()
    return run(arguments, CliContext())


def run(argv: Sequence[str], ctx: CliContext) -> int:
    """Parse `argv` and run the subcommand; user errors print one "Error: ..." line and return 1."""
    try:
        args = build_parser().parse_args(list(argv))
    except UsageError as exc:
        print(f"Error: {exc}", file=ctx.stderr)
        return 1
    try:
        return int(args.handler(args, ctx))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"Error: {redact(describe_error(exc))}", file=ctx.stderr)
        if args.debug:
            print(redact(traceback.format_exc()), file=ctx.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
