"""Tokens go only over HTTPS to SageMaker runtime hosts, to loopback hosts, or to hosts the caller names."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import botocore.loaders
import httpx
import pytest

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli.main import run
from sagemaker_openai.client import StackOutputs, openai_client
from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.destinations import (
    UntrustedHostError,
    check_token_destination,
    runtime_host_region,
)
from sagemaker_openai.client.factories import async_openai_client, connection_pool

from .conftest import RuntimeFactory
from .helpers import REGION, CountingTokenFactory, write_outputs_file


def _refusal(shown: str) -> str:
    return (
        f"refusing to send a SageMaker bearer token to {shown}: tokens go only over HTTPS to a SageMaker "
        "runtime host (runtime.sagemaker.REGION.amazonaws.com, its FIPS, dual-stack or VPC endpoint names) "
        "or to a loopback host; fix the URL, or name a proxy's host in allowed_hosts="
    )


def _recording_auth(**kwargs: object) -> tuple[BearerTokenAuth, CountingTokenFactory]:
    factory = CountingTokenFactory()
    return BearerTokenAuth(REGION, token_factory=factory, **kwargs), factory  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1/x",
            "http://runtime.sagemaker.us-east-1.amazonaws.com",
        ),
        ("http://example.net/v1/chat/completions", "http://example.net"),
        ("https://example.net:8443/v1", "https://example.net:8443"),
        (
            "https://runtime.sagemaker.us-east-1.amazonaws.com.example.net/v1",
            "https://runtime.sagemaker.us-east-1.amazonaws.com.example.net",
        ),
        ("https://user:secret@example.net/v1", "https://example.net"),
    ],
)
def test_no_token_leaves_for_a_refused_url(url: str, shown: str) -> None:
    auth, factory = _recording_auth()
    sent: list[httpx.Request] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(401)

    transport = httpx.MockTransport(runtime)
    with httpx.Client(auth=auth, transport=transport) as client, pytest.raises(UntrustedHostError) as raised:
        client.post(url)
    assert str(raised.value) == _refusal(shown)
    assert "secret" not in str(raised.value)
    assert sent == []
    assert factory.calls == []  # not even minted: a refused host never gets a token, fresh or renewed


def test_async_flow_refuses_too() -> None:
    auth, factory = _recording_auth()

    async def main() -> None:
        async with httpx.AsyncClient(
            auth=auth, transport=httpx.MockTransport(lambda r: httpx.Response(200))
        ) as c:
            await c.get("http://example.net/")

    with pytest.raises(UntrustedHostError, match=re.escape("to http://example.net:")):
        asyncio.run(main())
    assert factory.calls == []


def test_a_loopback_url_over_http_gets_a_token(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep")
    with httpx.Client(auth=BearerTokenAuth(REGION)) as client:
        answer = client.post(
            f"{server.origin}/endpoints/ep/openai/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "https://127.0.0.1/x",
        "http://127.8.9.10/x",
        "http://localhost:8080/x",
        "http://[::1]:8080/x",
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1",
        "https://runtime-fips.sagemaker.us-east-1.amazonaws.com/x",
        "https://runtime.sagemaker-fips.us-east-1.amazonaws.com/x",
        "https://runtime.sagemaker.us-east-1.api.aws/x",
        "https://vpce-0a1b2c3d4e5f-abcdefgh.runtime.sagemaker.us-east-1.vpce.amazonaws.com/x",
        "https://vpce-0a1b2c3d4e5f-abcdefgh-us-east-1a.runtime.sagemaker.us-east-1.vpce.amazonaws.com/x",
    ],
)
def test_allowed_destinations(url: str) -> None:
    check_token_destination(url)


def test_every_botocore_partition_has_its_runtime_host_allowed() -> None:
    partitions = botocore.loaders.create_loader().load_data("partitions")["partitions"]
    assert len(partitions) >= 4
    for partition in partitions:
        region = partition["outputs"]["implicitGlobalRegion"]
        suffix = partition["outputs"]["dnsSuffix"]
        assert runtime_host_region(f"runtime.sagemaker.{region}.{suffix}") == region
        assert runtime_host_region(f"vpce-0abc.runtime.sagemaker.{region}.vpce.{suffix}") == region
    # A region of one partition under another partition's suffix is not a SageMaker host.
    assert runtime_host_region("runtime.sagemaker.cn-north-1.amazonaws.com") is None
    assert runtime_host_region("runtime.sagemaker.cn-north-1.amazonaws.com.cn") == "cn-north-1"
    assert runtime_host_region("vpce-1.runtime.sagemaker.us-east-1.amazonaws.com") is None


def test_allowed_hosts_open_named_https_hosts_only() -> None:
    auth, factory = _recording_auth(allowed_hosts=["Proxy.Example.com"])
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(answer)) as client:
        client.get("https://proxy.example.com/v1/chat/completions")
        with pytest.raises(UntrustedHostError, match=re.escape("to http://proxy.example.com:")):
            client.get("http://proxy.example.com/v1/chat/completions")
        with pytest.raises(UntrustedHostError, match=re.escape("to https://other.example.com:")):
            client.get("https://other.example.com/")
    assert seen == [f"Bearer {factory.issued[0]}"]


@pytest.mark.parametrize(
    "entry", ["https://proxy.example.com", "proxy.example.com:8443", "*.example.com", ""]
)
def test_allowed_hosts_entries_must_be_host_names(entry: str) -> None:
    with pytest.raises(ValueError, match=r"^allowed_hosts entry ") as raised:
        BearerTokenAuth(REGION, allowed_hosts=[entry])
    assert str(raised.value) == (
        f"allowed_hosts entry {entry!r} is not a host name; give names such as 'proxy.example.com' "
        "(no scheme, port, path or wildcard)"
    )


def test_factories_refuse_up_front() -> None:
    with pytest.raises(UntrustedHostError) as raised:
        openai_client("http://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1")
    assert str(raised.value) == _refusal("http://runtime.sagemaker.us-east-1.amazonaws.com")
    with pytest.raises(UntrustedHostError, match=re.escape("to http://example.net:")):
        async_openai_client("http://example.net/v1", region=REGION)
    # The auth of a caller's pool decides, with its allowed hosts.
    pool = connection_pool(auth=BearerTokenAuth(REGION, allowed_hosts=["proxy.example.com"]))
    with pool:
        assert (
            openai_client("https://proxy.example.com/v1", http_client=pool).base_url.host
            == "proxy.example.com"
        )
        with pytest.raises(UntrustedHostError, match=re.escape("to https://example.net:")):
            openai_client("https://example.net/v1", http_client=pool)


def test_outputs_files_and_stack_outputs_refuse_up_front(tmp_path: Path) -> None:
    path = write_outputs_file(
        tmp_path / "outputs.json",
        {
            "Demo": {
                "OpenAIBaseUrl": "http://example.net/endpoints/ep/openai/v1",
                "EndpointName": "ep",
                "Region": REGION,
            }
        },
    )
    with pytest.raises(UntrustedHostError) as raised:
        StackOutputs.from_file(path)
    assert str(raised.value) == f"{path}, stack Demo: {_refusal('http://example.net')}"


def test_cli_base_url_refuses_up_front() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(
        ["token", "--base-url", "http://example.net/endpoints/ep/openai/v1"],
        CliContext(stdout=stdout, stderr=stderr),
    )
    assert (code, stdout.getvalue(), stderr.getvalue()) == (
        1,
        "",
        f"Error: {_refusal('http://example.net')}\n",
    )
