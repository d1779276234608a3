"""The outputs contract end to end: what each example stack outputs is what the client reads and calls.

Each example config is synthesized, its Outputs are resolved as CloudFormation would resolve them in a
commercial and a China region, written the way `cdk deploy --outputs-file` writes them, read back by
StackOutputs, and every model is called through openai_client. The calls reach a local runtime laid out
like the synthesized endpoint (its name and its components' names come from the template), which checks
the bearer token for the stack's region.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sagemaker_openai.client import StackOutputs, openai_client
from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.client.factories import connection_pool
from sagemaker_openai.servers.local_runtime import TokenVerifier
from tests.conftest import (
    CHINA,
    COMMERCIAL,
    EXAMPLE_CONFIGS,
    DeployTarget,
    Synthesized,
    cloudformation_outputs,
    load_yaml,
)

from .conftest import RuntimeFactory

Synth = Callable[[dict[str, Any]], Synthesized]


class _ToLocalRuntime(httpx.BaseTransport):
    """Sends each request to the local runtime instead, after checking it was meant for `host` over https."""

    def __init__(self, origin: str, host: str) -> None:
        self._origin = httpx.URL(origin)
        self._host = host
        self._inner = httpx.HTTPTransport()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert (request.url.scheme, request.url.host) == ("https", self._host)
        self.paths.append(request.url.path)
        request.url = request.url.copy_with(scheme="http", host=self._origin.host, port=self._origin.port)
        request.headers["Host"] = self._origin.netloc.decode()  # local-runtime checks its Host header
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _layout(s: Synthesized) -> tuple[str, tuple[str, ...]]:
    (endpoint,) = s.resources("AWS::SageMaker::Endpoint").values()
    components = s.resources("AWS::SageMaker::InferenceComponent").values()
    return endpoint["Properties"]["EndpointName"], tuple(
        c["Properties"]["InferenceComponentName"] for c in components
    )


@pytest.mark.parametrize("target", [COMMERCIAL, CHINA], ids=lambda t: t.region)
@pytest.mark.parametrize("config", EXAMPLE_CONFIGS, ids=lambda p: p.name)
def test_each_example_stack_is_callable_from_its_outputs_file(
    synth: Synth, local_runtime: RuntimeFactory, tmp_path: Path, config: Path, target: DeployTarget
) -> None:
    synthesized = synth(load_yaml(config))
    outputs_file = tmp_path / "cdk-outputs.json"
    outputs_file.write_text(
        json.dumps({synthesized.stack_name: cloudformation_outputs(synthesized, target)}, indent=2)
    )

    stack = StackOutputs.from_file(outputs_file)
    endpoint_name, components = _layout(synthesized)
    assert (stack.stack_name, stack.region, stack.endpoint_name) == (
        synthesized.stack_name,
        target.region,
        endpoint_name,
    )
    assert stack.endpoint_arn == (
        f"arn:{target.partition}:sagemaker:{target.region}:{target.account}:endpoint/{endpoint_name}"
    )
    server = local_runtime(
        endpoint_name,
        components,
        verifier=TokenVerifier(SessionCredentials(), region=target.region),
    )
    host = f"runtime.sagemaker.{target.region}.{target.url_suffix}"
    answered = []
    for key, model in stack.models.items():
        transport = _ToLocalRuntime(server.origin, host)
        pool = connection_pool(auth=BearerTokenAuth(stack.region), transport=transport)
        with openai_client(stack=stack, model_key=key, http_client=pool, max_retries=0) as client:
            reply = client.chat.completions.create(
                model=model.served_model_name, messages=[{"role": "user", "content": "hi"}]
            )
        served = model.inference_component_name or endpoint_name
        assert reply.choices[0].message.content == f"local-runtime {served}: hi"
        suffix = f"/inference-components/{served}" if model.inference_component_name else ""
        assert transport.paths == [f"/endpoints/{endpoint_name}{suffix}/openai/v1/chat/completions"]
        answered.append(served)
    assert sorted(answered) == sorted(components or (endpoint_name,))
