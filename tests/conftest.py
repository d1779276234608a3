"""Shared fixtures: a stack is synthesized once per test process, and each scanner runs once per suite.

`make test` runs the suite on two processes (pytest-xdist, ``-n 2``); a session fixture is built once in
each process that needs it. What a new test should reuse rather than build again:

- ``synth(config_data)``: the synthesized deployment stack of a config dict (nag packs on), cached by
  content, so every test of every file that asks for the same config shares one synth.
- ``ci_access``: the CI access stack for ``github_repo=acme/llm-app``.
- ``expiring``: the default config with an expiry six hours after ``EXPIRY_NOW``.
- ``scans``: cfn-lint and checkov, each run once for the whole suite (the first xdist process to ask
  runs them, the others read its results) over the templates of every example config and test fixture
  plus ``ci_access`` and ``expiring``; ``scans.cfn_lint(s)``, ``scans.regions(s)`` and
  ``scans.checkov(s)`` give one stack's part. To scan another stack, add it to ``scanned_stacks``.

Tests stay independent of order and of one another: ``tmp_path``/``tmp_path_factory`` for files, port 0
for servers, nothing written into the checkout.
"""

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sagemaker_openai.naming.intrinsics import render_intrinsics

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE_CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
FIXTURE_CONFIGS = sorted(FIXTURES.glob("*.yaml"))
# The clock of the `expiring` stack: it expires six hours later, at 2026-12-01T13:30:15Z.
EXPIRY_NOW = datetime(2026, 12, 1, 7, 30, 15, 987654, tzinfo=UTC)
CI_ACCESS_CONTEXT = {"github_repo": "acme/llm-app"}

if TYPE_CHECKING:
    from scripts.validate_templates import CheckovResult


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `aws` deploy real, billable resources: they run only when asked for."""
    if os.environ.get("SAGEMAKER_OPENAI_AWS_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="real AWS test: set SAGEMAKER_OPENAI_AWS_TESTS=1 to run it")
    for item in items:
        if "aws" in item.keywords:
            item.add_marker(skip)


def cdk_json_context() -> dict[str, Any]:
    """The feature flags from cdk.json, so that tests synthesize what `cdk synth` does."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass
class Synthesized:
    template: dict[str, Any]
    report: dict[str, Any]
    outdir: Path
    stack_name: str

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}

    def described(self, resource_type: str, description_prefix: str) -> tuple[str, dict[str, Any]]:
        """The one resource of a type whose Description starts with the prefix, and its logical ID."""
        found = [
            (logical_id, resource)
            for logical_id, resource in self.resources(resource_type).items()
            if resource["Properties"]["Description"].startswith(description_prefix)
        ]
        assert len(found) == 1, f"expected one {resource_type} described {description_prefix!r}"
        return found[0]

    def policy_statements(self, description_prefix: str) -> list[dict[str, Any]]:
        _, policy = self.described("AWS::IAM::ManagedPolicy", description_prefix)
        statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
        return statements

    def one(self, resource_type: str) -> dict[str, Any]:
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.values()))


def synthesize(
    config_data: dict[str, Any], outdir: Path, *, expires_at: datetime | None = None
) -> Synthesized:
    import aws_cdk as cdk

    from sagemaker_openai.config import parse_config
    from stacks import build_app

    config = parse_config(config_data)
    app = build_app(
        config, app=cdk.App(outdir=str(outdir), context=cdk_json_context()), expires_at=expires_at
    )
    template = app.synth().get_stack_by_name(config.name).template
    report = json.loads((outdir / "validation-report.json").read_text())
    return Synthesized(template=template, report=report, outdir=outdir, stack_name=config.name)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, Any]], Synthesized]:
    cache: dict[str, Synthesized] = {}

    def _synth(config_data: dict[str, Any]) -> Synthesized:
        key = json.dumps(config_data, sort_keys=True)
        if key not in cache:
            cache[key] = synthesize(config_data, tmp_path_factory.mktemp("cdk.out"))
        return cache[key]

    return _synth


def synthesize_ci_access(context: dict[str, Any], outdir: Path) -> Synthesized:
    """The CI access stack (`ci_access_app.py`) for these context values, as `cdk synth` builds it."""
    import aws_cdk as cdk

    from stacks.ci_access_stack import build_ci_access_app, ci_access_props

    props = ci_access_props(context)
    app = build_ci_access_app(props, app=cdk.App(outdir=str(outdir), context=cdk_json_context()))
    template = app.synth().get_stack_by_name(props.stack_name).template
    report = json.loads((outdir / "validation-report.json").read_text())
    return Synthesized(template=template, report=report, outdir=outdir, stack_name=props.stack_name)


@pytest.fixture(scope="session")
def ci_access(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize_ci_access(CI_ACCESS_CONTEXT, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from sagemaker_openai.constructs.expiry import expires_at

    at = expires_at(6, clock=lambda: EXPIRY_NOW)
    default = load_yaml(CONFIG_DIR / "qwen3-4b.yaml")
    return synthesize(default, tmp_path_factory.mktemp("cdk.out"), expires_at=at)


def template_path(s: Synthesized) -> Path:
    return s.outdir / f"{s.stack_name}.template.json"


def template_digest(s: Synthesized) -> str:
    """What scan results are keyed by: the template's bytes (a synth is deterministic, so every xdist
    process that synthesizes the same stack gets the same key)."""
    return hashlib.sha256(template_path(s).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Scans:
    """cfn-lint's findings (errors and warnings), the regions it checked, and checkov's result, per
    template (by `template_digest`)."""

    lint_findings: dict[str, list[str]]
    lint_regions: dict[str, list[str]]
    checkov_results: dict[str, dict[str, Any]]

    def cfn_lint(self, s: Synthesized) -> list[str]:
        return self.lint_findings[template_digest(s)]

    def regions(self, s: Synthesized) -> tuple[str, ...]:
        return tuple(self.lint_regions[template_digest(s)])

    def checkov(self, s: Synthesized) -> "CheckovResult":
        from scripts.validate_templates import CheckovResult

        return CheckovResult(**self.checkov_results[template_digest(s)])


@pytest.fixture(scope="session")
def scanned_stacks(
    synth: Callable[[dict[str, Any]], Synthesized], ci_access: Synthesized, expiring: Synthesized
) -> list[tuple[Synthesized, tuple[str, ...]]]:
    """Every stack the scanner tests check, with the regions cfn-lint checks it for."""
    from scripts.validate_templates import DEFAULT_LINT_REGIONS, template_regions

    stacks = [synth(load_yaml(path)) for path in [*EXAMPLE_CONFIGS, *FIXTURE_CONFIGS]]
    return [(s, template_regions(s.outdir, s.stack_name)) for s in stacks] + [
        (ci_access, DEFAULT_LINT_REGIONS),
        (expiring, DEFAULT_LINT_REGIONS),
    ]


def _scan(stacks: list[tuple[Synthesized, tuple[str, ...]]]) -> Scans:
    """checkov once (a subprocess, started first) and cfn-lint on each template meanwhile."""
    from scripts.validate_templates import CHECKOV, run_cfn_lint, run_checkov_per_template

    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make setup`")
    paths = {template_digest(s): template_path(s).resolve() for s, _ in stacks}
    regions = {template_digest(s): list(r) for s, r in stacks}
    with ThreadPoolExecutor(max_workers=1) as background:
        checkov = background.submit(run_checkov_per_template, list(paths.values()))
        lint = {digest: run_cfn_lint([(paths[digest], regions[digest])]) for digest in paths}
        by_path = checkov.result()
    return Scans(
        lint_findings=lint,
        lint_regions=regions,
        checkov_results={digest: asdict(by_path[path]) for digest, path in paths.items()},
    )


@pytest.fixture(scope="session")
def scans(
    scanned_stacks: list[tuple[Synthesized, tuple[str, ...]]], tmp_path_factory: pytest.TempPathFactory
) -> Scans:
    """The scanners' results; under xdist the first process to ask runs them and the others read them
    (the xdist-documented pattern: a file under the shared base temp directory, behind a lock)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return _scan(scanned_stacks)
    shared = tmp_path_factory.getbasetemp().parent / "scans.json"
    with (shared.with_suffix(".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shared.exists():
            shared.write_text(json.dumps(asdict(_scan(scanned_stacks))))
        return Scans(**json.loads(shared.read_text()))


def load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def resolve(value: Any, refs: dict[str, str], mappings: dict[str, Any] | None = None) -> str:
    """Evaluate Ref, Fn::GetAtt, Fn::Join and Fn::FindInMap with stand-in values, as an output becomes."""
    return render_intrinsics(value, refs.__getitem__, mappings)


@dataclass(frozen=True)
class DeployTarget:
    """Where CloudFormation would deploy a template: the values of its pseudo parameters."""

    region: str
    partition: str
    url_suffix: str
    account: str = "123456789012"


COMMERCIAL = DeployTarget("us-east-1", "aws", "amazonaws.com")
CHINA = DeployTarget("cn-north-1", "aws-cn", "amazonaws.com.cn")


def cloudformation_values(s: Synthesized, target: DeployTarget) -> dict[str, str]:
    """What each Ref and Fn::GetAtt of the template becomes once CloudFormation has created the stack.

    Physical names follow CloudFormation's ``<stack>-<LogicalId>-<suffix>`` for generated IAM names;
    SageMaker names come from the resources' own properties, lowercased in ARNs as SageMaker reports them.
    """
    arn = f"arn:{target.partition}"
    values = {
        "AWS::Region": target.region,
        "AWS::Partition": target.partition,
        "AWS::URLSuffix": target.url_suffix,
        "AWS::AccountId": target.account,
        "AWS::StackName": s.stack_name,
    }
    sagemaker = f"{arn}:sagemaker:{target.region}:{target.account}"
    for logical_id, resource in s.template["Resources"].items():
        props = resource.get("Properties", {})
        generated = f"{s.stack_name}-{logical_id}-ABCDEF123456"
        if resource["Type"] == "AWS::IAM::Role":
            values[f"{logical_id}.Arn"] = f"{arn}:iam::{target.account}:role/{generated}"
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            values[logical_id] = f"{arn}:iam::{target.account}:policy/{generated}"
        elif resource["Type"] == "AWS::SageMaker::Endpoint":
            name = props["EndpointName"]
            values[f"{logical_id}.EndpointName"] = name
            values[f"{logical_id}.EndpointArn"] = f"{sagemaker}:endpoint/{name.lower()}"
        elif resource["Type"] == "AWS::SageMaker::InferenceComponent":
            name = props["InferenceComponentName"]
            values[f"{logical_id}.InferenceComponentName"] = name
            values[f"{logical_id}.InferenceComponentArn"] = f"{sagemaker}:inference-component/{name.lower()}"
        elif resource["Type"] == "AWS::SNS::Topic":
            values[logical_id] = f"{arn}:sns:{target.region}:{target.account}:{generated}"
        elif resource["Type"] == "AWS::CloudWatch::Dashboard":
            values[logical_id] = props.get("DashboardName", generated)
    return values


def cloudformation_outputs(s: Synthesized, target: DeployTarget) -> dict[str, str]:
    """The stack's outputs as ``cdk deploy --outputs-file`` writes them (OutputKey -> OutputValue)."""
    values = cloudformation_values(s, target)
    mappings = s.template.get("Mappings", {})
    return {key: resolve(output["Value"], values, mappings) for key, output in s.template["Outputs"].items()}


def arn_join(service: str, resource: str, *, region: Any = None, account: Any = None) -> dict[str, Any]:
    """The ``Fn::Join`` that ``Stack.format_arn`` synthesizes: ``arn:<partition>:<service>:...``."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":{service}:",
                region if region is not None else {"Ref": "AWS::Region"},
                ":",
                account if account is not None else {"Ref": "AWS::AccountId"},
                resource,
            ],
        ]
    }


def references(template: dict[str, Any], logical_id: str) -> set[str]:
    """Every resource that ``logical_id`` waits for: its Ref, Fn::GetAtt and DependsOn, transitively."""
    resources = template["Resources"]
    found: set[str] = set()
    pending = [logical_id]
    while pending:
        resource = resources[pending.pop()]
        direct = set(resource.get("DependsOn", []))
        _collect_references(resource.get("Properties", {}), direct)
        for name in direct & set(resources) - found:
            found.add(name)
            pending.append(name)
    return found


def _collect_references(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        if "Ref" in value:
            into.add(str(value["Ref"]))
        if "Fn::GetAtt" in value:
            into.add(str(value["Fn::GetAtt"][0]))
        for item in value.values():
            _collect_references(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect_references(item, into)
