"""Real AWS: deploy a config, smoke-test every URL with a bearer token, destroy. Opt-in only.

Run with credentials for an account that is CDK-bootstrapped, and a region:
    SAGEMAKER_OPENAI_AWS_TESTS=1 AWS_REGION=us-east-1 .venv/bin/pytest tests/aws -m aws
SAGEMAKER_OPENAI_AWS_CONFIG picks the config (default config/qwen3-4b.yaml). The endpoint bills while it
exists; the stack is destroyed whatever the outcome.
"""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.aws


def _make(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *args], cwd=ROOT, env={**os.environ, "CI": "true"}, text=True, timeout=timeout, check=False
    )


def test_deploy_smoke_destroy(tmp_path: Path) -> None:
    config = os.environ.get("SAGEMAKER_OPENAI_AWS_CONFIG", "config/qwen3-4b.yaml")
    stack_name = f"sm-openai-it-{uuid.uuid4().hex[:8]}"
    outputs = tmp_path / "outputs.json"
    common = [f"CONFIG={config}", f"STACK_NAME={stack_name}"]
    try:
        deployed = _make("deploy", *common, f"OUTPUTS={outputs}", timeout=5400)
        assert deployed.returncode == 0, "make deploy failed"
        smoke = subprocess.run(
            [str(ROOT / ".venv/bin/sagemaker-openai"), "smoke", "--outputs-file", str(outputs)],
            cwd=ROOT,
            text=True,
            timeout=1800,
            check=False,
        )
        assert smoke.returncode == 0, "the smoke test got no answer from every URL"
    finally:
        destroyed = _make("destroy", *common, timeout=3600)
        assert destroyed.returncode == 0, f"make destroy failed: delete stack {stack_name} by hand"
