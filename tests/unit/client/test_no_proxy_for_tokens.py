"""A token never crosses a forward proxy in clear: with HTTP_PROXY and ALL_PROXY pointing at a listener, the
kit's clients, CLI commands and local-runtime's upstream reach a plain-HTTP loopback server directly, and
the listener sees no connection at all."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from sagemaker_openai.client import BearerTokenAuth, async_openai_client, openai_client
from sagemaker_openai.client.factories import connection_pool
from sagemaker_openai.servers.local_runtime.upstream import Upstream

from .conftest import RuntimeFactory
from .helpers import REGION

_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_HI = [{"role": "user", "content": "hi"}]


class ForwardProxy:
    """A TCP listener standing in for a forward proxy: records what each connection sends, then hangs up."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1.0)
                try:
                    self.received.append(connection.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def forward_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    """HTTP_PROXY and ALL_PROXY (both spellings) name a listening proxy; nothing is exempt from it."""
    proxy = ForwardProxy()
    for name in _PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield proxy
    finally:
        proxy.close()


def _base_url(local_runtime: RuntimeFactory) -> str:
    return f"{local_runtime('ep').origin}/endpoints/ep/openai/v1"


def test_the_environment_would_send_plain_http_through_the_proxy(
    forward_proxy: ForwardProxy, local_runtime: RuntimeFactory
) -> None:
    """The trap works: a plain httpx client follows HTTP_PROXY to the listener, Authorization and all."""
    with pytest.raises(httpx.TransportError), httpx.Client() as plain:
        plain.get(f"{_base_url(local_runtime)}/models", headers={"Authorization": "Bearer visible"})
    assert len(forward_proxy.received) == 1
    assert b"Authorization: Bearer visible" in forward_proxy.received[0]


@pytest.mark.parametrize("wait_for_capacity", [0.0, 5.0])
def test_openai_client_reaches_loopback_directly(
    forward_proxy: ForwardProxy, local_runtime: RuntimeFactory, wait_for_capacity: float
) -> None:
    url = _base_url(local_runtime)
    with openai_client(
        url, auth=BearerTokenAuth(REGION), max_retries=0, wait_for_capacity=wait_for_capacity
    ) as client:
        answer = client.chat.completions.create(model="", messages=_HI)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "local-runtime ep: hi"
    assert forward_proxy.received == []


def test_async_openai_client_reaches_loopback_directly(
    forward_proxy: ForwardProxy, local_runtime: RuntimeFactory
) -> None:
    url = _base_url(local_runtime)

    async def ask() -> str | None:
        async with async_openai_client(url, auth=BearerTokenAuth(REGION), max_retries=0) as client:
            answer = await client.chat.completions.create(model="", messages=_HI)  # type: ignore[arg-type]
            return answer.choices[0].message.content

    assert asyncio.run(ask()) == "local-runtime ep: hi"
    assert forward_proxy.received == []


def test_a_shared_pool_reaches_loopback_directly(
    forward_proxy: ForwardProxy, local_runtime: RuntimeFactory
) -> None:
    url = _base_url(local_runtime)
    with connection_pool(auth=BearerTokenAuth(REGION)) as pool:
        answer = pool.post(f"{url}/chat/completions", json={"model": "", "messages": _HI})
    assert answer.json()["choices"][0]["message"]["content"] == "local-runtime ep: hi"
    assert forward_proxy.received == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["chat", "hi"], "local-runtime ep: hi\n"),
        (["smoke"], "smoke: 1 of 1 models answered\n"),
    ],
)
def test_cli_commands_that_send_a_token_reach_loopback_directly(
    forward_proxy: ForwardProxy, local_runtime: RuntimeFactory, command: list[str], expected: str
) -> None:
    arguments = [command[0], "--base-url", _base_url(local_runtime), "--region", REGION, *command[1:]]
    completed = subprocess.run(
        [sys.executable, "-m", "sagemaker_openai.cli", *arguments],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.endswith(expected)
    assert forward_proxy.received == []


class _RecordingUpstream(BaseHTTPRequestHandler):
    """A loopback OpenAI-compatible server that records the Authorization header it was sent."""

    protocol_version = "HTTP/1.1"
    authorizations: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).authorizations.append(self.headers.get("Authorization"))
        payload = json.dumps({"choices": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_local_runtime_sends_its_upstream_key_directly(forward_proxy: ForwardProxy) -> None:
    _RecordingUpstream.authorizations = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingUpstream)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    upstream = Upstream(f"http://127.0.0.1:{server.server_address[1]}/v1", api_key="upstream-key")

    async def relay() -> int:
        try:
            async with upstream.chat_completion(b'{"model": "m"}') as response:
                await response.aread()
                return response.status_code
        finally:
            await upstream.aclose()

    try:
        assert asyncio.run(relay()) == 200
    finally:
        server.shutdown()
        server.server_close()
    assert _RecordingUpstream.authorizations == ["Bearer upstream-key"]
    assert forward_proxy.received == []
