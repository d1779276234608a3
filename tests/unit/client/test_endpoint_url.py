"""AWS_ENDPOINT_URL[_SAGEMAKER_RUNTIME] re-aims the runtime URLs of stack outputs, as the AWS SDKs do."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_openai.client.endpoint_url import configured_runtime_endpoint, with_endpoint
from sagemaker_openai.client.errors import StackOutputsError
from sagemaker_openai.client.stack_outputs import StackOutputs

from .helpers import write_outputs_file

RUNTIME = "https://runtime.sagemaker.eu-west-1.amazonaws.com"
IC_URL = f"{RUNTIME}/endpoints/demo-ep/inference-components/demo-qwen/openai/v1"


def _individual_outputs_file(tmp_path: Path) -> Path:
    # No Region output: the region must come from the original runtime host, before the rewrite.
    return write_outputs_file(
        tmp_path / "outputs.json",
        {"Demo": {"OpenAIBaseUrlQwen": IC_URL, "EndpointName": "demo-ep"}},
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080"),
        (
            {
                "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://[::1]:2",
            },
            "http://[::1]:2",
        ),
        ({"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "", "AWS_ENDPOINT_URL": "https://h"}, "https://h"),
        (
            {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://a", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"},
            None,
        ),
        (
            {
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://a",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
            },
            "http://a",
        ),
    ],
)
def test_configured_endpoint_follows_the_sdk_precedence(
    environ: dict[str, str], expected: str | None
) -> None:
    assert configured_runtime_endpoint(environ) == expected


@pytest.mark.parametrize("value", ["127.0.0.1:8080", "ftp://host", "https://", "https://h/?x=1"])
def test_a_malformed_endpoint_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(StackOutputsError) as caught:
        configured_runtime_endpoint({"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": value})
    assert str(caught.value) == (
        f"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME {value!r} is not an http(s) endpoint URL such as "
        "https://HOST[:PORT]; fix it, unset it, or set AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"
    )


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (None, IC_URL),
        (
            "http://127.0.0.1:9000",
            "http://127.0.0.1:9000/endpoints/demo-ep/inference-components/demo-qwen/openai/v1",
        ),
        (
            "https://vpce-0abc.runtime.sagemaker.eu-west-1.vpce.amazonaws.com/",
            "https://vpce-0abc.runtime.sagemaker.eu-west-1.vpce.amazonaws.com"
            "/endpoints/demo-ep/inference-components/demo-qwen/openai/v1",
        ),
        (
            "http://gw.internal/sm",
            "http://gw.internal/sm/endpoints/demo-ep/inference-components/demo-qwen/openai/v1",
        ),
    ],
)
def test_the_endpoint_replaces_scheme_and_host_and_keeps_the_path(
    endpoint: str | None, expected: str
) -> None:
    assert with_endpoint(IC_URL, endpoint) == expected


def test_stack_outputs_follow_the_endpoint_and_keep_the_original_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _individual_outputs_file(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    stack = StackOutputs.from_file(path)
    assert stack.region == "eu-west-1"
    assert stack.target().base_url == (
        "http://127.0.0.1:9000/endpoints/demo-ep/inference-components/demo-qwen/openai/v1"
    )
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert StackOutputs.from_file(path).target().base_url == IC_URL


def test_an_explicit_base_url_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker_openai.client.factories import openai_client

    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9000")
    with openai_client(IC_URL) as client:
        assert str(client.base_url) == f"{IC_URL}/"


def test_a_re_aimed_url_that_may_not_get_a_token_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagemaker_openai.client import UntrustedHostError

    path = _individual_outputs_file(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://gw.internal/sm")
    with pytest.raises(UntrustedHostError) as caught:
        StackOutputs.from_file(path)
    assert str(caught.value) == (
        f"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME (or AWS_ENDPOINT_URL) re-aims {path}, stack Demo: "
        "refusing to send a SageMaker bearer token to http://gw.internal: tokens go only over HTTPS to a "
        "SageMaker runtime host (runtime.sagemaker.REGION.amazonaws.com, its FIPS, dual-stack or VPC "
        "endpoint names) or to a loopback host; fix the URL, or name a proxy's host in allowed_hosts="
    )
