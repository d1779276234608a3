"""The job summary of `.github/workflows/endpoint.yml`: the URLs, the time to InService, the instance hours.

Reads the run directory the workflow fills (outputs.json from `cdk deploy --outputs-file`, and the epoch
seconds in deploy-started, in-service and destroyed) and the deployment config for the instance count.
Prints Markdown; a part whose file is missing (a deploy that failed) says so instead of failing.
Usage: python -m scripts.ci_summary --config PATH --run-dir DIR >> "$GITHUB_STEP_SUMMARY"
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _stamp(run_dir: Path, name: str) -> int | None:
    path = run_dir / name
    return int(path.read_text().strip()) if path.is_file() else None


def summary(config_path: str, run_dir: Path) -> str:
    from sagemaker_openai.client.stack_outputs import StackOutputs
    from sagemaker_openai.config import load_config

    config = load_config(config_path)
    started, in_service, destroyed = (
        _stamp(run_dir, n) for n in ("deploy-started", "in-service", "destroyed")
    )
    outputs_file = run_dir / "outputs.json"
    lines = [f"## sagemaker-openai: {config_path}", ""]
    if outputs_file.is_file():
        stack = StackOutputs.from_file(outputs_file)
        raw = json.loads(outputs_file.read_text())[stack.stack_name]
        lines += [f"Stack `{stack.stack_name}`, endpoint `{stack.endpoint_name}` in {stack.region}", ""]
        lines += ["| model | OpenAI base URL |", "|---|---|"]
        lines += [f"| {m.key} | {m.base_url} |" for m in stack.models.values()]
        if "ExpiresAt" in raw:
            lines += ["", f"Deletes itself at {raw['ExpiresAt']} if the teardown did not run."]
    else:
        lines.append("No outputs: the deploy did not finish.")
    lines.append("")
    if started is not None and in_service is not None:
        lines.append(f"- Time to InService: {(in_service - started) / 60:.1f} min (the deploy step)")
    else:
        lines.append("- Time to InService: not reached")
    if started is not None and destroyed is not None:
        hours = (destroyed - started) / 3600 * config.instance_count
        lines.append(
            f"- Instance hours: {hours:.2f} ({config.instance_count} x {config.instance_type}, from the "
            "deploy's start to the end of the teardown: an upper bound of what bills)"
        )
    else:
        lines.append(
            "- Instance hours: unknown (the teardown did not finish; check `sagemaker-openai leftovers`)"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--run-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    print(summary(args.config, args.run_dir), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
