"""Shared fixtures: synthesize a deployment config once per session, with the nag packs on."""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.intrinsics import render_intrinsics

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE_CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))


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
