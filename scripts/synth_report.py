"""After `make synth`: print what the stack creates and bills per hour, then run cfn-lint and checkov."""

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sagemaker_openai.naming.intrinsics import render_intrinsics
from scripts.validate_templates import run_cfn_lint, run_checkov, template_regions


def _placeholder(name: str) -> str:
    return "${" + name + "}"


def summarize(assembly: Path) -> tuple[list[str], list[tuple[Path, tuple[str, ...]]]]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    lines: list[str] = []
    templates: list[tuple[Path, tuple[str, ...]]] = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        path = assembly / artifact["properties"]["templateFile"]
        template = json.loads(path.read_text())
        templates.append((path, template_regions(assembly, name)))
        counts = Counter(
            r["Type"] for r in template["Resources"].values() if r["Type"] != "AWS::CDK::Metadata"
        )
        lines.append(f"Stack {name} ({artifact['environment']}): {sum(counts.values())} resources")
        lines += [f"  {count} x {kind}" for kind, count in sorted(counts.items())]
        for key, output in template.get("Outputs", {}).items():
            if key.startswith(("OpenAIBaseUrl", "InferenceComponentName", "EndpointName")):
                lines.append(f"  {key}: {render_intrinsics(output['Value'], lambda name: '${' + name + '}')}")
    return lines, templates


def cost_lines(config_path: str) -> list[str]:
    from sagemaker_openai.catalog.cost import describe_cost
    from sagemaker_openai.config import load_config

    return describe_cost(load_config(config_path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assembly", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--config", help="the deployment config, for the instance-hours per hour")
    args = parser.parse_args(argv)
    lines, templates = summarize(args.assembly)
    if args.config is not None:
        lines += cost_lines(args.config)
    print("\n".join(lines))
    print("==> cfn-lint")
    lint = run_cfn_lint(templates)
    print("\n".join(lint) if lint else "  no errors or warnings")
    print("==> checkov (CloudFormation checks)")
    checkov = run_checkov([path for path, _ in templates])
    skipped = sorted(set(checkov.skipped))
    print(f"  {checkov.passed} passed, {len(checkov.failed)} failed, skipped with a reason: {skipped}")
    for finding in checkov.failed:
        print(f"  FAILED {finding}")
    return 1 if lint or checkov.failed else 0


if __name__ == "__main__":
    sys.exit(main())
