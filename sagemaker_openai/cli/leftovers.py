"""`sagemaker-openai leftovers`: what the kit left in an account (exit 1 when anything is listed, 2 when the
check could not run to the end, so that a pipeline never takes a failed check for a clean account)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli._errors import describe_error
from sagemaker_openai.cli._targets import add_aws_arguments
from sagemaker_openai.client.redaction import redact
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.operations.leftovers import find_leftovers

FOUND = 1
FAILED = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "leftovers",
        help="list what the kit left in an account and region (exit 1 if anything, 2 on an error)",
        description=(
            "List stacks past their expiry or in DELETE_FAILED or ROLLBACK_FAILED, and endpoints, endpoint "
            "configs, models, inference components, log groups and roles carrying the kit's tag whose stack "
            "no longer exists (each confirmed to exist). Read-only; exits 1 when anything is listed, so that "
            "a pipeline can fail on it, and 2 when the check could not run (an AWS error or a denied read)."
        ),
    )
    add_aws_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        session = ctx.session_factory(args.profile)
        region = resolve_region(args.region, session=session)
        found = find_leftovers(session, region)
    except Exception as exc:  # the check did not finish: never report a clean account
        print(f"Error: {redact(describe_error(exc))}; the leftover check did not finish", file=ctx.stderr)
        return FAILED
    if args.json:
        document = {"region": region, "leftovers": [dataclasses.asdict(item) for item in found]}
        print(json.dumps(document, indent=2), file=ctx.stdout)
    elif not found:
        print(f"leftovers: nothing in {region}", file=ctx.stdout)
    else:
        rows = [("KIND", "NAME", "STACK", "WHY"), *((i.kind, i.name, i.stack, i.reason) for i in found)]
        widths = [max(len(row[col]) for row in rows) for col in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            print("  ".join([*cells, row[3]]), file=ctx.stdout)
        print(f"leftovers: {len(found)} in {region}", file=ctx.stdout)
    return FOUND if found else 0
