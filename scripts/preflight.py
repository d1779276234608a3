"""`make preflight` (and the first step of `make deploy` / `make destroy`): check CONFIG against the account.

Prints one line per check and every problem at once; exit 1 if any problem, or if no check can run
(bad config, no region, no credentials). `--credentials-only` (for `make destroy`) stops after the
credentials, so that a deleted bucket or subnet never blocks a teardown. `--assembly DIR` (for
`make deploy`, which deploys that assembly) also checks the synthesized template itself: its expiry.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3


def main(argv: Sequence[str] | None = None, session: "boto3.Session | None" = None) -> int:
    """Exit status for `make`: 0 when the deploy may go on; `session` is for tests (default: the caller's)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--stack-name")
    parser.add_argument("--credentials-only", action="store_true", help="check only the credentials")
    parser.add_argument("--assembly", type=Path, help="the synthesized cloud assembly about to be deployed")
    # The name `make destroy` used before the checks grew; same meaning.
    parser.add_argument(
        "--no-bootstrap-check", dest="credentials_only", action="store_true", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    from sagemaker_openai.config import load_config
    from sagemaker_openai.errors import ConfigError
    from sagemaker_openai.preflight import Fatal, Report, identify, run_checks

    try:
        config = load_config(args.config, stack_name=args.stack_name)
        template = _template(args.assembly, config.name) if args.assembly else None
        ctx = identify(config, session)
        ctx.template = template
    except (ConfigError, Fatal) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    header = f"Stack {config.name}: account {ctx.account}, region {ctx.region} ({args.config})"
    if args.credentials_only:
        print(header)
        return 0
    report = Report(header, run_checks(ctx))
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


def _template(assembly: Path, stack_name: str) -> dict[str, Any]:
    from sagemaker_openai.preflight import Fatal

    path = assembly / f"{stack_name}.template.json"
    try:
        template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Fatal(
            f"no readable template of stack {stack_name} in {assembly} ({exc}); run `make synth`"
        ) from None
    return template


if __name__ == "__main__":
    sys.exit(main())
