"""cdk-nag, cfn-lint and checkov on every example config and test fixture: zero unacknowledged findings."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIG_DIR, EXAMPLE_CONFIGS, FIXTURE_CONFIGS, ROOT, Scans, Synthesized, load_yaml

Synth = Callable[[dict[str, Any]], Synthesized]
ALL_CONFIGS = [*EXAMPLE_CONFIGS, *FIXTURE_CONFIGS]
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


def acknowledgment_problems(s: Synthesized) -> list[str]:
    """Every acknowledgment must sit on the resource it covers (or the L2 construct whose default child that
    resource is), name that finding's exact rule, and cover a finding; a stack-wide, parent-wide or stale
    acknowledgment is a problem."""
    metadata = json.loads((s.outdir / f"{s.stack_name}.metadata.json").read_text())
    declared = {
        (path.lstrip("/"), ack_id)
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for ack_id in entry["data"]
        # aws-cdk-lib acknowledges some CloudFormation-Validate rules itself (ec2.Vpc: W3010, literal AZs)
        if ack_id.partition("::")[0] in PACKS
    }
    problems: list[str] = []
    used: set[tuple[str, str]] = set()
    for plugin in s.report["pluginReports"]:
        for finding in plugin.get("suppressedViolations", []):
            at, ack_id, rule = finding["acknowledgedAt"], finding["acknowledgedId"], finding["ruleName"]
            used.add((at, ack_id))
            if ack_id != f"{plugin['pluginName']}::{rule}":
                problems.append(f"{at}: {ack_id} is not the exact rule {rule}")
            for violating in finding["violatingConstructs"]:
                if violating["constructPath"] not in {at, f"{at}/Resource"}:
                    problems.append(f"{at}: acknowledges {rule} of {violating['constructPath']}, not its own")
    problems += [f"{at}: {ack_id} acknowledges no finding" for at, ack_id in sorted(declared - used)]
    return problems


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: p.name)
def test_nag_packs_pass_with_only_reasoned_acknowledgments(synth: Synth, path: Path) -> None:
    synthesized = synth(load_yaml(path))
    plugins = {p["pluginName"]: p for p in synthesized.report["pluginReports"]}
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
    assert acknowledgment_problems(synthesized) == []


def test_each_acknowledgment_of_the_default_stack_is_on_its_resource(synth: Synth) -> None:
    default = synth(load_yaml(CONFIG_DIR / "qwen3-4b.yaml"))
    found = {
        (finding["acknowledgedAt"], finding["ruleName"])
        for plugin in default.report["pluginReports"]
        for finding in plugin.get("suppressedViolations", [])
    }
    streams = (
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/qwen3-4b"
    )
    assert found == {
        ("qwen3-4b/Llm/LogGroup", "NIST.800.53.R5-CloudWatchLogGroupEncrypted"),
        ("qwen3-4b/Llm/LogGroup", "HIPAA.Security-CloudWatchLogGroupEncrypted"),
        ("qwen3-4b/Llm/EndpointConfig", "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured"),
        ("qwen3-4b/Llm/EndpointConfig", "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured"),
        ("qwen3-4b/Llm/ExecutionRole/Policy", "AwsSolutions-IAM5[Resource::*]"),
        ("qwen3-4b/Llm/ExecutionRole/Policy", f"AwsSolutions-IAM5[Resource::{streams}:log-stream:*]"),
        ("qwen3-4b/Llm/InvokerPolicy/Resource", "AwsSolutions-IAM5[Resource::*]"),
    } | {
        # Alarms are on by default and notify nobody until monitoring names or creates a topic.
        (f"qwen3-4b/Monitoring/{alarm}", f"{pack}-CloudWatchAlarmAction")
        for alarm in ("EndpointErrorRate5xx", "EndpointLatencyP99", "EndpointDiskUtilization")
        for pack in ("NIST.800.53.R5", "HIPAA.Security")
    }


def _tiny_app(outdir: Path) -> tuple[Any, Any]:
    import aws_cdk as cdk

    from stacks import add_nag_packs

    app = cdk.App(outdir=str(outdir))
    add_nag_packs(app)
    return app, cdk.Stack(app, "Tiny")


def test_a_stack_wide_or_stale_acknowledgment_is_a_problem(tmp_path: Path) -> None:
    from aws_cdk import aws_iam as iam

    from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, HIPAA, acknowledge

    app, stack = _tiny_app(tmp_path)
    policy = iam.ManagedPolicy(
        stack, "Wide", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    acknowledge(stack, "IAM5[Resource::*]", "a reason for every policy of the stack", packs=(AWS_SOLUTIONS,))
    acknowledge(stack, "IAMNoInlinePolicy", "nothing here has an inline policy", packs=(HIPAA,))
    # cdk-nag v3 matches acknowledgments by exact ID: a rule family or a pattern suppresses nothing.
    acknowledge(policy, "IAM5", "every wildcard of this policy", packs=(AWS_SOLUTIONS,))
    app.synth()
    tiny = Synthesized(
        template={},
        report=json.loads((tmp_path / "validation-report.json").read_text()),
        outdir=tmp_path,
        stack_name="Tiny",
    )
    assert acknowledgment_problems(tiny) == [
        "Tiny: acknowledges AwsSolutions-IAM5[Resource::*] of Tiny/Wide/Resource, not its own",
        "Tiny: HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy acknowledges no finding",
        "Tiny/Wide: AwsSolutions::AwsSolutions-IAM5 acknowledges no finding",
    ]


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    from aws_cdk import aws_iam as iam

    app, stack = _tiny_app(tmp_path)
    iam.ManagedPolicy(
        stack, "Wide", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    with pytest.raises(RuntimeError, match="AwsSolutions-IAM5"):
        app.synth()


@pytest.mark.parametrize(
    ("failing", "acknowledged"), [("NIST.800.53.R5", "HIPAA.Security"), ("HIPAA.Security", "NIST.800.53.R5")]
)
def test_nist_and_hipaa_each_fail_the_synth_on_their_own_finding(
    tmp_path: Path, failing: str, acknowledged: str
) -> None:
    """A log group without a customer key is a finding of both packs; with one pack's acknowledged, the
    other pack alone stops the synth."""
    from aws_cdk import aws_logs as logs

    from sagemaker_openai.constructs._nag import acknowledge

    app, stack = _tiny_app(tmp_path)
    group = logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.ONE_MONTH)
    acknowledge(group, "CloudWatchLogGroupEncrypted", "the other pack's finding", packs=(acknowledged,))
    with pytest.raises(RuntimeError) as caught:
        app.synth()
    assert f"Acknowledge with '{failing}::{failing}-CloudWatchLogGroupEncrypted'" in str(caught.value)
    assert f"{acknowledged}-CloudWatchLogGroupEncrypted" not in str(caught.value)


def test_cfn_lint_reports_nothing(scans: Scans, synth: Synth) -> None:
    stacks = [synth(load_yaml(config)) for config in ALL_CONFIGS]
    assert {scans.regions(s) for s in stacks} >= {
        ("cn-north-1",),
        ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"),
    }
    assert [finding for s in stacks for finding in scans.cfn_lint(s)] == []


def test_checkov_reports_nothing(scans: Scans, synth: Synth) -> None:
    results = [scans.checkov(synth(load_yaml(config))) for config in ALL_CONFIGS]
    failed = [check for result in results for check in result.failed]
    assert failed == [], failed
    assert sum(result.passed for result in results) > 20, "checkov ran its CloudFormation checks"
    skipped = {check for result in results for check in result.skipped}
    assert skipped <= {"CKV_AWS_370", "CKV_AWS_158", "CKV_AWS_26"}, skipped


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
