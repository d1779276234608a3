"""cdk-nag, cfn-lint and checkov on every example config and test fixture: zero unacknowledged findings."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_CONFIGS, FIXTURES, ROOT, Synthesized, load_yaml

Synth = Callable[[dict[str, Any]], Synthesized]
ALL_CONFIGS = [*EXAMPLE_CONFIGS, *sorted(FIXTURES.glob("*.yaml"))]
PACKS = {"AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "SageMakerOpenAI"}
# The only findings the kit acknowledges, each with the AWS fact behind it (see the constructs).
ACKNOWLEDGED_RULES = {
    "AwsSolutions-IAM5[Resource::*]",
    "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
    "HIPAA.Security-CloudWatchLogGroupEncrypted",
    "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
    "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
    "NIST.800.53.R5-CloudWatchAlarmAction",
    "HIPAA.Security-CloudWatchAlarmAction",
    "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
    "HIPAA.Security-VPCDefaultSecurityGroupClosed",
    "AwsSolutions-SNS2",
    "NIST.800.53.R5-SNSEncryptedKMS",
    "HIPAA.Security-SNSEncryptedKMS",
    "SageMakerOpenAI-NetworkIsolationForS3Weights",
}


def _rule_family(rule: str) -> str:
    """IAM5 findings on a log-stream, S3-prefix or network-interface wildcard fold into their own families."""
    if ":log-stream:*]" in rule:
        return "AwsSolutions-IAM5[log-stream]"
    if rule.endswith(":network-interface/*]"):
        return "AwsSolutions-IAM5[network-interface]"
    if rule.startswith("AwsSolutions-IAM5[Resource::arn:") and ":s3:::" in rule:
        return "AwsSolutions-IAM5[s3-prefix]"
    return rule


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: p.name)
def test_nag_packs_pass_with_only_reasoned_acknowledgments(synth: Synth, path: Path) -> None:
    report = synth(load_yaml(path)).report
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    # The report lists a pack only when it has a finding or an acknowledgment; the kit's pack often has none.
    assert PACKS - {"SageMakerOpenAI"} <= set(plugins) <= PACKS
    for name, plugin in plugins.items():
        assert plugin["conclusion"] == "success", name
        assert plugin["violations"] == [], name
        for finding in plugin.get("suppressedViolations", []):
            assert len(finding["reason"]) > 60, finding["ruleName"]
            assert _rule_family(finding["ruleName"]) in ACKNOWLEDGED_RULES | {
                "AwsSolutions-IAM5[log-stream]",
                "AwsSolutions-IAM5[s3-prefix]",
                "AwsSolutions-IAM5[network-interface]",
            }, finding["ruleName"]


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from stacks import add_nag_packs

    app = cdk.App(outdir=str(tmp_path))
    add_nag_packs(app)
    stack = cdk.Stack(app, "Wide")
    iam.ManagedPolicy(
        stack, "Wide", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    with pytest.raises(RuntimeError, match="AwsSolutions-IAM5"):
        app.synth()


@pytest.fixture(scope="module")
def templates(synth: Synth) -> list[tuple[Path, tuple[str, ...]]]:
    from scripts.validate_templates import template_regions

    found = []
    for config in ALL_CONFIGS:
        synthesized = synth(load_yaml(config))
        path = synthesized.outdir / f"{synthesized.stack_name}.template.json"
        found.append((path, template_regions(synthesized.outdir, synthesized.stack_name)))
    return found


def test_cfn_lint_reports_nothing(templates: list[tuple[Path, tuple[str, ...]]]) -> None:
    from scripts.validate_templates import run_cfn_lint

    assert {regions for _, regions in templates} >= {
        ("cn-north-1",),
        ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"),
    }
    assert run_cfn_lint(templates) == []


def test_checkov_reports_nothing(templates: list[tuple[Path, tuple[str, ...]]], tmp_path: Path) -> None:
    from scripts.validate_templates import CHECKOV, run_checkov

    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make setup`")
    for template, _ in templates:
        (tmp_path / template.name).write_text(template.read_text())
    result = run_checkov(tmp_path)
    assert result.failed == [], result.failed
    assert result.passed > 20, "checkov ran its CloudFormation checks"
    assert set(result.skipped) <= {"CKV_AWS_370", "CKV_AWS_158", "CKV_AWS_26"}, result.skipped


def test_app_py_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: qwen\ninstance_type: ml.t2.medium\n")
    context = json.dumps({"config": str(bad)})
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "app.py"],
        cwd=ROOT,
        env={"CDK_CONTEXT_JSON": context, "PATH": str(ROOT / "node_modules/.bin") + ":/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        f"Error: {bad}: instance_type 'ml.t2.medium' is not in the kit's instance table; use one of "
        + lines[0].split("use one of ", 1)[1]
    ]
    assert "Traceback" not in proc.stderr
    assert not (ROOT / "cdk.out" / "bad").exists()
