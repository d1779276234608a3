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


def resolve(value: Any, refs: dict[str, str]) -> str:
    """Evaluate Ref, Fn::GetAtt and Fn::Join with stand-in values, to check what an output becomes."""
    return render_intrinsics(value, refs.__getitem__)
