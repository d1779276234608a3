"""What both servers, the proxy and local-runtime, hold every connection to (servers.serving):
a silent or slow head is closed and a slow body answered 408 at the read deadline, a request past the
limit is refused at once, hundreds of idle or half-sent connections do not keep a normal request waiting,
and running out of file descriptors is said once on stderr. Loopback only, with short deadlines and
bounded loops."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events
import pytest
from botocore.credentials import Credentials
from starlette.types import Receive, Scope, Send

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.servers import serving
from sagemaker_openai.servers.local_runtime import EndpointLayout, LocalRuntimeServer, RuntimeSettings
from sagemaker_openai.servers.proxy.app import ProxySettings, build_app
from sagemaker_openai.servers.proxy.routes import ModelRoutes, Route
from sagemaker_openai.servers.proxy.server import ProxyServer
from sagemaker_openai.servers.serving import AppServer, ConnectionRules

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION, closed_within

DEADLINE = 0.4
API_KEY = "proxy-key"
_RUNTIME_CHAT = "/endpoints/ep/openai/v1/chat/completions"
_SAGEMAKER = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1/chat/completions"


@dataclass(frozen=True)
class Served:
    """A running server, and the requests that reach it."""

    name: str
    port: int
    ping: bytes  # a complete request its app answers 200 without a body or a token
    chat_path: str
    authorization: str  # what the chat path accepts

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    @property
    def chat_head(self) -> bytes:
        """A chat completion's head, authorized, announcing a 1000-byte body."""
        return _head(self.port, self.chat_path, self.authorization)


def _head(port: int, path: str, authorization: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {authorization}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()


@contextmanager
def _proxy(max_connections: int) -> Iterator[Served]:
    auth = BearerTokenAuth(REGION, credentials=Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY))
    routes = ModelRoutes({"m": Route("m", _SAGEMAKER, "served")})
    settings = ProxySettings(routes=routes, auth=auth, api_key=API_KEY)
    server = ProxyServer(
        build_app(settings), host="127.0.0.1", port=0, read_timeout=DEADLINE, max_connections=max_connections
    )
    port = int(server.origin.rsplit(":", 1)[1])
    with server.running():
        yield Served(
            "proxy",
            port,
            f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(),
            "/v1/chat/completions",
            f"Bearer {API_KEY}",
        )


@contextmanager
def _local_runtime(max_connections: int) -> Iterator[Served]:
    # Without token checks (the deadline is the serving layer's, before and around the app).
    settings = RuntimeSettings(
        layout=EndpointLayout("ep"), verifier=None, read_timeout=DEADLINE, max_connections=max_connections
    )
    with LocalRuntimeServer(settings).running() as server:
        yield Served(
            "local-runtime",
            server.port,
            f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode(),
            _RUNTIME_CHAT,
            "Bearer unused",
        )


ServerFactory = Callable[[int], AbstractContextManager[Served]]
SERVERS = [pytest.param(_proxy, id="proxy"), pytest.param(_local_runtime, id="local-runtime")]


def _closed_at_the_deadline(sock: socket.socket, started: float) -> None:
    """The server closes the connection, without a word, about DEADLINE after `started` (a reset counts:
    the server closing with a byte of ours unread)."""
    with contextlib.suppress(ConnectionResetError):
        assert closed_within(sock, 5) == b""
    assert DEADLINE / 2 < time.monotonic() - started < DEADLINE + 2


def _trickle_for(sock: socket.socket, seconds: float) -> None:
    """A byte every `seconds` / 4, each well inside the deadline, for `seconds` in all (or until answered).
    Then nothing: a byte sent after the server closed would draw a reset that discards its answer."""
    started = time.monotonic()
    while time.monotonic() - started < seconds and not select.select([sock], [], [], seconds / 4)[0]:
        sock.sendall(b" ")


def _status_and_headers(received: bytes) -> tuple[int, dict[str, str]]:
    head = received.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])}
    return int(head[0].split()[1]), headers


def _whole_answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of one answer framed by its Content-Length, the connection left open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    status, headers = _status_and_headers(received)
    body = received.partition(b"\r\n\r\n")[2]
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return status, body


def _answered(served: Served, seconds: float) -> int:
    """The status of a normal request on a new connection, which must come within `seconds`."""
    started = time.monotonic()
    with served.connect() as sock:
        sock.sendall(served.ping)
        sock.settimeout(seconds)
        status = int(sock.recv(65536).split(b" ", 2)[1])
    assert time.monotonic() - started < seconds
    return status


@pytest.mark.parametrize("serve", SERVERS)
def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(serve: ServerFactory) -> None:
    with serve(64) as served, served.connect() as sock:
        _closed_at_the_deadline(sock, started=time.monotonic())


@pytest.mark.parametrize("serve", SERVERS)
def test_a_head_trickled_slowly_is_closed_at_the_deadline(serve: ServerFactory) -> None:
    with serve(64) as served, served.connect() as sock:
        sock.sendall(served.chat_head[:20])
        started = time.monotonic()
        closed_at = None
        # A byte every DEADLINE / 3 for up to 3 deadlines: a timer that each byte restarted would never fire.
        while closed_at is None and time.monotonic() - started < 3 * DEADLINE:
            try:
                if select.select([sock], [], [], DEADLINE / 3)[0]:
                    assert sock.recv(65536) == b""
                    closed_at = time.monotonic()
                else:
                    sock.sendall(b" ")
            except ConnectionResetError:
                closed_at = time.monotonic()
        assert closed_at is not None, "the trickled head was never closed"
        assert closed_at - started > DEADLINE / 2


@pytest.mark.parametrize("serve", SERVERS)
def test_a_kept_alive_connection_left_idle_is_closed_at_the_deadline(serve: ServerFactory) -> None:
    with serve(64) as served, served.connect() as sock:
        sock.sendall(served.ping)
        assert _whole_answer(sock)[0] == 200
        _closed_at_the_deadline(sock, started=time.monotonic())


@pytest.mark.parametrize("serve", SERVERS)
def test_a_body_trickled_slowly_is_answered_408_at_the_deadline(serve: ServerFactory) -> None:
    with serve(64) as served, served.connect() as sock:
        sock.sendall(served.chat_head + b'{"messages": [')
        started = time.monotonic()
        _trickle_for(sock, 0.75 * DEADLINE)
        received = closed_within(sock, 5)
        assert DEADLINE / 2 < time.monotonic() - started < DEADLINE + 2
    status, headers = _status_and_headers(received)
    assert (status, headers["connection"], headers["content-type"]) == (408, "close", "application/json")
    body = json.loads(received.partition(b"\r\n\r\n")[2])
    assert body["error"]["message"] == "The request did not arrive within the read timeout."


def test_the_proxy_refuses_a_half_sent_request_without_its_key_at_once_and_closes() -> None:
    with _proxy(64) as served, served.connect() as sock:
        sock.sendall(_head(served.port, "/v1/chat/completions", "Bearer wrong") + b"{")
        started = time.monotonic()
        received = closed_within(sock, 5)
        assert time.monotonic() - started < 1.0
    assert _status_and_headers(received)[0] == 401
    assert _status_and_headers(received)[1]["connection"] == "close"


def _refused_once_both_are_read(served: Served) -> bytes:
    """A ping's answer once the held requests are in the app (a 200 before then is retried); the server
    closes the connection within a second of each ping (at once after a refusal, at the idle deadline
    after a 200)."""
    deadline = time.monotonic() + 5
    while True:
        with served.connect() as sock:
            sock.sendall(served.ping)
            started = time.monotonic()
            received = closed_within(sock, 5)
            assert time.monotonic() - started < 1.0
        if _status_and_headers(received)[0] != 200 or time.monotonic() > deadline:
            return received
        time.sleep(0.05)


@pytest.mark.parametrize("serve", SERVERS)
def test_a_request_past_the_limit_is_refused_at_once(serve: ServerFactory) -> None:
    with serve(2) as served, ExitStack() as held:
        for _ in range(2):  # two requests in the app, waiting for the rest of their bodies
            held.enter_context(served.connect()).sendall(served.chat_head + b'{"mess')
        received = _refused_once_both_are_read(served)
        status, headers = _status_and_headers(received)
        assert (status, headers["connection"], headers["content-type"]) == (503, "close", "application/json")
        body = json.loads(received.partition(b"\r\n\r\n")[2])
        assert body["error"]["message"] == (
            "The server is at its limit of requests served at once; retry shortly."
        )
    with serve(2) as served:
        assert _answered(served, 2.0) == 200


@pytest.mark.parametrize("serve", SERVERS)
def test_connections_that_have_not_sent_a_whole_head_take_no_place_under_the_limit(
    serve: ServerFactory,
) -> None:
    with serve(2) as served, ExitStack() as held:
        for index in range(4):
            sock = held.enter_context(served.connect())
            if index % 2:
                sock.sendall(served.chat_head[:20])
        time.sleep(0.1)  # all accepted
        assert _answered(served, 2.0) == 200


@pytest.mark.parametrize("serve", SERVERS)
def test_300_idle_or_half_sent_connections_do_not_keep_a_request_waiting(
    serve: ServerFactory,
) -> None:
    with serve(1000) as served, ExitStack() as held:
        for index in range(300):
            sock = held.enter_context(served.connect())
            if index % 3 == 1:
                sock.sendall(served.chat_head[:30])  # half a head
            elif index % 3 == 2:
                sock.sendall(served.chat_head + b'{"mess')  # a head and half a body
        assert _answered(served, 2.0) == 200


@pytest.mark.parametrize("serve", SERVERS)
def test_a_websocket_upgrade_is_refused(serve: ServerFactory) -> None:
    with serve(64) as served, served.connect() as sock:
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        status, headers = _status_and_headers(closed_within(sock, 5))
    assert (status, headers["connection"]) == (403, "close")


def _h2_client() -> h2.connection.H2Connection:
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    return connection


# A known gap, documented in docs/proxy.md: strict, so that a Hypercorn that closes the gap fails this
# test and the documentation is brought up to date.
@pytest.mark.xfail(
    strict=True,
    raises=TimeoutError,
    reason="Hypercorn 0.18 stops its idle timer on the preface's request line (protocol/h11.py) and the "
    "HTTP/2 protocol restarts it only when a stream closes",
)
@pytest.mark.parametrize("serve", SERVERS)
def test_http2_over_cleartext_without_a_request_is_closed_at_the_deadline(serve: ServerFactory) -> None:
    client = _h2_client()
    with serve(64) as served, served.connect() as sock:
        sock.sendall(client.data_to_send())  # the HTTP/2 preface and settings, then nothing
        started = time.monotonic()
        received = closed_within(sock, DEADLINE + 2)
        assert DEADLINE / 2 < time.monotonic() - started < DEADLINE + 2
    # It was answered in HTTP/2: the server's settings, then its goodbye.
    events = client.receive_data(received)
    assert isinstance(events[0], h2.events.RemoteSettingsChanged)
    assert isinstance(events[-1], h2.events.ConnectionTerminated)


@pytest.mark.parametrize("length", [pytest.param("1000", id="content-length"), pytest.param(None, id="none")])
@pytest.mark.parametrize("serve", SERVERS)
def test_http2_over_cleartext_gets_the_same_408_for_a_slow_body(
    serve: ServerFactory, length: str | None
) -> None:
    client = _h2_client()
    with serve(64) as served, served.connect() as sock:
        head = [
            (":method", "POST"),
            (":path", served.chat_path),
            (":scheme", "http"),
            (":authority", f"127.0.0.1:{served.port}"),
            ("authorization", served.authorization),
            ("content-type", "application/json"),
        ]
        # An HTTP/2 body needs no Content-Length: without one it is still held to the deadline.
        client.send_headers(1, head + ([("content-length", length)] if length else []))
        client.send_data(1, b'{"mess')
        sock.sendall(client.data_to_send())
        sock.settimeout(5)
        status = None
        while status is None and (data := sock.recv(65536)):
            for event in client.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers)[b":status"]
    # local-runtime refuses a body without a length at once (411), as over HTTP/1.1.
    assert status == (b"411" if length is None and serve is _local_runtime else b"408")


async def _endless_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers every request with a stream that never ends."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while True:
        await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})


def test_a_client_that_stops_reading_cannot_hold_the_stop_past_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One cancel does not end Hypercorn's connection task while its close waits for this client.
    monkeypatch.setattr(serving, "SHUTDOWN_GRACE", 0.5)
    rules = ConnectionRules("endless", lambda status, message: ([], b"{}"), read_timeout=5, max_connections=8)
    server = AppServer(_endless_stream, host="127.0.0.1", port=0, rules=rules)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.serve()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.5)  # the buffers fill; nothing is read
        started = time.monotonic()
        server.stop()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert time.monotonic() - started < 0.5 + 1.0 + 2.0
    assert errors == []


_OUT_OF_DESCRIPTORS = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (48, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from tests.unit.client.test_serving_limits import _local_runtime, _proxy
with {serve}(1000) as served:
    print(served.port, flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("serve", ["_proxy", "_local_runtime"])
def test_running_out_of_file_descriptors_is_said_once_on_stderr(serve: str) -> None:
    script = _OUT_OF_DESCRIPTORS.format(serve=serve)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stdin is not None
        port = int(process.stdout.readline())
        with ExitStack() as held:
            for _ in range(80):  # past the 48 descriptors: the rest wait in the backlog
                held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            time.sleep(2.2)  # the loop retries accepting every second
        process.stdin.write("\n")
        process.stdin.flush()
        _, stderr = process.communicate(timeout=20)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("out of file descriptors ([Errno 24] Too many open files)")
