"""Run cfn-lint and checkov on synthesized templates; used by `make synth` and by the tests."""

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# checkov pins an old boto3 that conflicts with sagemaker-core, so it has its own environment.
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


@dataclass
class CheckovResult:
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


# Environment-agnostic templates are linted for a spread of the regions the image is published in.
DEFAULT_LINT_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")


def template_regions(cloud_assembly: Path, stack_name: str) -> tuple[str, ...]:
    """The stack's own region from the assembly manifest, or the default spread when it has none."""
    manifest = json.loads((cloud_assembly / "manifest.json").read_text())
    region = manifest["artifacts"][stack_name]["environment"].rsplit("/", 1)[-1]
    return DEFAULT_LINT_REGIONS if region == "unknown-region" else (region,)


def run_cfn_lint(templates: Sequence[tuple[Path, Sequence[str]]]) -> list[str]:
    """cfn-lint errors and warnings (what its command line reports by default) for (template, regions)."""
    from cfnlint.api import ManualArgs, lint

    findings: list[str] = []
    for template, regions in templates:
        for match in lint(template.read_text(), config=ManualArgs(regions=list(regions))):
            if match.rule.id[0] not in "EW":
                continue
            findings.append(f"{template.name}: {match.rule.id} {match.message}")
    return findings


def run_checkov(templates: Sequence[Path]) -> CheckovResult:
    """checkov's CloudFormation checks on these templates only (not on whatever else a directory holds)."""
    total = CheckovResult()
    for result in run_checkov_per_template(templates).values():
        total.passed += result.passed
        total.failed += result.failed
        total.skipped += result.skipped
    return total


def run_checkov_per_template(templates: Sequence[Path]) -> dict[Path, CheckovResult]:
    """One checkov run over all the templates (its start-up costs seconds), with each template's result."""
    files = [argument for template in templates for argument in ("--file", str(template))]
    proc = subprocess.run(
        [
            str(CHECKOV),
            *files,
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    results = {Path(template).resolve(): CheckovResult() for template in templates}
    for report in reports:
        checks = report.get("results", {})
        for outcome in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in checks.get(outcome, []):
                result = results[Path(check["file_abs_path"]).resolve()]
                if outcome == "passed_checks":
                    result.passed += 1
                elif outcome == "failed_checks":
                    result.failed.append(f"{check['check_id']} {check['resource']} ({check['file_path']})")
                else:
                    result.skipped.append(check["check_id"])
    return results
