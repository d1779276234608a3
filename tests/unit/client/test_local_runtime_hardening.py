"""local-runtime against bad input, over HTTP only: a malformed request gets a 400 (Hypercorn's plain one
when the HTTP parser cannot read it), slow bodies and idle kept-alive connections are released by the read
timeout, the Host header must name the listener, the token is checked before the body is read, and
connections are bounded. (What both servers share is also tested in test_serving_limits.py.)"""

from __future__ import annotations

import base64
import io
import json
import select
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import httpx
import openai
import pytest
from botocore.credentials import CredentialProvider, Credentials

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli.main import run
from sagemaker_openai.client import openai_client
from sagemaker_openai.client.auth import BearerTokenAuth, sagemaker_generate_token
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.servers.local_runtime import LocalRuntimeServer, TokenVerifier
from sagemaker_openai.servers.local_runtime.upstream import Upstream

from .conftest import RuntimeFactory
from .helpers import REGION, closed_within

CHAT_PATH = "/endpoints/ep/openai/v1/chat/completions"
TIMEOUT = 0.3


@pytest.fixture
def token() -> str:
    return BearerTokenAuth(REGION).token()


@pytest.fixture
def server(local_runtime: RuntimeFactory) -> LocalRuntimeServer:
    return local_runtime("ep", read_timeout=TIMEOUT)


@pytest.fixture
def connection(server: LocalRuntimeServer) -> Iterator[socket.socket]:
    """A connection whose read deadline runs from now: tests that need a token ask for it first."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        yield sock


def _raw_post(server: LocalRuntimeServer, *, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {CHAT_PATH} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, object]]:
    """Read one response: status, headers, JSON body."""
    return _parse_answer(sock.makefile("rb"))


def _parse_answer(reader: BinaryIO) -> tuple[int, dict[str, str], dict[str, object]]:
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline().decode("latin-1").strip()) != "":
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    body = json.loads(reader.read(int(headers["content-length"])))
    return status, headers, body


def _openai_error(status: int, headers: dict[str, str], body: dict[str, object]) -> tuple[int, str, str]:
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == status
    assert headers["x-amzn-errortype"] == error["type"]
    return status, str(error["type"]), str(error["message"])


def _with_signature(token: str, signature: str) -> str:
    url = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    head = url.partition("X-Amz-Signature=")[0]
    encoded = base64.b64encode(f"{head}X-Amz-Signature={signature}&Version=1".encode())
    return "sagemaker-api-key-" + encoded.decode()


# --- malformed requests: 400, never a dropped connection -------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [pytest.param("z" * 64, id="non-hex"), pytest.param("é" * 64, id="non-ascii")],
)
def test_a_malformed_signature_gets_400(server: LocalRuntimeServer, token: str, signature: str) -> None:
    response = httpx.post(
        f"{server.origin}{CHAT_PATH}",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {_with_signature(token, signature)}"},
    )
    assert _openai_error(response.status_code, dict(response.headers), response.json()) == (
        400,
        "ValidationError",
        "Malformed bearer token: the token's X-Amz-Signature is not 64 lowercase hex digits.",
    )


def test_a_non_ascii_authorization_header_gets_400(
    server: LocalRuntimeServer, connection: socket.socket
) -> None:
    connection.sendall(
        _raw_post(
            server,
            headers={"Authorization": "Bearer sagemaker-api-key-\xe9\xe9", "Content-Length": "2"},
            body=b"{}",
        )
    )
    status, headers, body = _answer(connection)
    assert _openai_error(status, headers, body)[:2] == (400, "ValidationError")


@pytest.mark.parametrize("length", ["\xb2", "1\xb9", "-1", "0x10", " "])
def test_a_content_length_that_is_not_ascii_digits_gets_400_and_a_close(
    token: str, server: LocalRuntimeServer, connection: socket.socket, length: str
) -> None:
    connection.sendall(
        _raw_post(server, headers={"Authorization": f"Bearer {token}", "Content-Length": length}, body=b"{}")
    )
    _assert_plain_400(closed_within(connection, 5))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "Invalid chat completion request: JSON nested too deeply."),
        (
            json.dumps(
                {
                    "messages": [{"role": "user", "content": "hi"}],
                    "tools": [{"type": "function", "function": {"name": "f"}}],
                    "tool_choice": "f",
                }
            ).encode(),
            "Invalid chat completion request: 'tool_choice' must be 'none', 'auto', 'required' or "
            "{'type': 'function', 'function': {'name': ...}}",
        ),
        (
            json.dumps(
                {
                    "messages": [{"role": "user", "content": "hi"}],
                    "tools": [{"type": "function", "function": {"name": "f"}}],
                    "tool_choice": {"type": "function", "function": "f"},
                }
            ).encode(),
            "Invalid chat completion request: 'tool_choice' must be 'none', 'auto', 'required' or "
            "{'type': 'function', 'function': {'name': ...}}",
        ),
        (b"\xff\xfe", "Invalid chat completion request: "),
    ],
)
def test_malformed_bodies_get_400(server: LocalRuntimeServer, token: str, body: bytes, message: str) -> None:
    response = httpx.post(
        f"{server.origin}{CHAT_PATH}",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    status, kind, text = _openai_error(response.status_code, dict(response.headers), response.json())
    assert (status, kind) == (400, "BadRequestError")
    assert text.startswith(message)


def _assert_plain_400(received: bytes) -> None:
    """Hypercorn's own answer to a request its HTTP parser cannot read: an empty 400, then a close."""
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    assert status_line.split(" ")[:2] == ["HTTP/1.1", "400"]
    assert (headers["content-length"], headers["connection"]) == ("0", "close")
    assert body == b""


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"NOT A REQUEST LINE AT ALL\r\n\r\n", id="request-line"),
        # https:// to this http:// port: a TLS ClientHello.
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", id="tls"),
        pytest.param(b"GET /ping HTTP/1.1\r\nBad Header: x\r\n\r\n", id="header-token"),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", id="two-lengths"),
    ],
)
def test_a_request_the_http_parser_cannot_read_gets_hypercorns_400_and_a_close(
    connection: socket.socket, request_bytes: bytes
) -> None:
    connection.sendall(request_bytes)
    _assert_plain_400(closed_within(connection, 5))


# --- read timeout ----------------------------------------------------------------------------------------


def test_an_idle_kept_alive_connection_is_released_by_the_timeout(
    server: LocalRuntimeServer, connection: socket.socket
) -> None:
    connection.sendall(f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    assert _answer(connection)[0] == 200
    started = time.monotonic()
    assert closed_within(connection, 5) == b""
    assert TIMEOUT / 2 < time.monotonic() - started < TIMEOUT + 1.5


def test_a_half_sent_body_gets_408_and_is_released(
    token: str, server: LocalRuntimeServer, connection: socket.socket
) -> None:
    connection.sendall(
        _raw_post(
            server, headers={"Authorization": f"Bearer {token}", "Content-Length": "100"}, body=b'{"mess'
        )
    )
    started = time.monotonic()
    received = closed_within(connection, 5)
    assert time.monotonic() - started < TIMEOUT + 1.5
    status, headers, body = _parse_answer(io.BytesIO(received))
    assert _openai_error(status, headers, body) == (
        408,
        "RequestTimeout",
        "The request did not arrive within the read timeout.",
    )


def _trickle_until_answered(sock: socket.socket, seconds: float) -> bytes:
    """Send one byte every TIMEOUT / 6 for most of the deadline (a byte sent after the server closed would
    draw a reset that discards its answer), then wait; return all the server sends before closing, which
    must be within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < 0.75 * TIMEOUT and not select.select([sock], [], [], TIMEOUT / 6)[0]:
        sock.sendall(b"x")
    received = closed_within(sock, seconds)
    assert time.monotonic() - started < seconds, "still open past the deadline"
    return received


def test_a_body_trickled_byte_by_byte_gets_408_at_the_deadline(
    token: str, server: LocalRuntimeServer, connection: socket.socket
) -> None:
    connection.sendall(
        _raw_post(server, headers={"Authorization": f"Bearer {token}", "Content-Length": "1000"}, body=b"{")
    )
    started = time.monotonic()
    received = _trickle_until_answered(connection, TIMEOUT + 1.5)
    assert TIMEOUT / 2 < time.monotonic() - started < TIMEOUT + 1.5
    status, headers, body = _parse_answer(io.BytesIO(received))
    assert _openai_error(status, headers, body) == (
        408,
        "RequestTimeout",
        "The request did not arrive within the read timeout.",
    )
    assert headers["connection"] == "close"


def test_each_request_on_a_kept_alive_connection_has_its_own_deadline(
    token: str, server: LocalRuntimeServer, connection: socket.socket
) -> None:
    ping = f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    reader = connection.makefile("rb")
    for _ in range(3):  # more than one deadline's worth in all, each request well inside its own
        time.sleep(TIMEOUT / 3)
        connection.sendall(ping)
        status, _, body = _parse_answer(reader)
        assert (status, body) == (200, {"status": "Healthy"})
    connection.sendall(
        _raw_post(server, headers={"Authorization": f"Bearer {token}", "Content-Length": "1000"}, body=b"{")
    )
    received = _trickle_until_answered(connection, TIMEOUT + 1.5)
    assert _parse_answer(io.BytesIO(received))[0] == 408


# --- Host header, token before body, connection bound -----------------------------------------------------


def test_a_request_without_a_host_header_gets_hypercorns_400_and_a_close(connection: socket.socket) -> None:
    # HTTP/1.1 requires the header (RFC 9112, section 3.2); h11 refuses the request before the app sees it.
    connection.sendall(b"GET /ping HTTP/1.1\r\n\r\n")
    _assert_plain_400(closed_within(connection, 5))


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.1"])
def test_a_foreign_host_header_is_refused(
    server: LocalRuntimeServer, connection: socket.socket, host: str
) -> None:
    connection.sendall(f"GET /ping HTTP/1.1\r\nHost: {host.format(port=server.port)}\r\n\r\n".encode())
    assert _openai_error(*_answer(connection)) == (
        400,
        "BadRequestError",
        f"The Host header must be 127.0.0.1:{server.port}, where this listens.",
    )


def test_the_listeners_own_names_are_accepted(server: LocalRuntimeServer) -> None:
    assert httpx.get(f"{server.origin}/ping").json() == {"status": "Healthy"}
    assert httpx.get(f"http://localhost:{server.port}/ping").status_code == 200


def test_the_token_is_checked_before_the_body_is_read(
    server: LocalRuntimeServer, connection: socket.socket
) -> None:
    # Headers announce 5 MB that never come: the refusal must not wait for them.
    connection.sendall(_raw_post(server, headers={"Content-Length": str(5_000_000)}, body=b""))
    started = time.monotonic()
    status, headers, body = _answer(connection)
    assert time.monotonic() - started < TIMEOUT
    assert _openai_error(status, headers, body)[:2] == (401, "UnauthorizedError")
    assert headers["connection"] == "close"


def test_a_refusal_before_the_body_closes_the_connection(
    server: LocalRuntimeServer, token: str, connection: socket.socket
) -> None:
    # Its body unread, the connection cannot carry another request: closed after the answer.
    connection.sendall(_raw_post(server, headers={"Content-Length": "2"}, body=b"{}"))
    received = closed_within(connection, 5)
    status, headers, _ = _parse_answer(io.BytesIO(received))
    assert (status, headers["connection"]) == (401, "close")
    with httpx.Client() as client:  # a client reconnects for the next
        url = f"{server.origin}{CHAT_PATH}"
        chat = {"messages": [{"role": "user", "content": "hi"}]}
        assert client.post(url, json=chat).status_code == 401
        assert client.post(url, json=chat, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_request_over_the_bound_gets_503_at_once_and_a_close(
    local_runtime: RuntimeFactory, token: str
) -> None:
    server = local_runtime("ep", max_connections=2, read_timeout=5.0)
    ping = f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    chat = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Length": str(len(chat))}
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
    try:
        for sock in held:  # two requests in the app, their bodies half sent
            sock.sendall(_raw_post(server, headers=headers, body=chat[:5]))
        deadline = time.monotonic() + 5
        while True:  # until both held requests are in the app (a ping answered 200 before then)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as third:
                third.sendall(ping)
                started = time.monotonic()
                status, answer_headers, body = _answer(third)
                assert time.monotonic() - started < 1.0
                if status != 200 or time.monotonic() > deadline:
                    assert closed_within(third, 5) == b""
                    break
            time.sleep(0.05)
        assert _openai_error(status, answer_headers, body) == (
            503,
            "ServiceUnavailable",
            "The server is at its limit of requests served at once; retry shortly.",
        )
        assert answer_headers["connection"] == "close"
        # The held requests are still answered once their bodies are in.
        held[0].sendall(chat[5:])
        assert _answer(held[0])[0] == 200
    finally:
        for sock in held:
            sock.close()
    # The slots come back once the server sees the closed connections.
    deadline = time.monotonic() + 5
    while httpx.get(f"{server.origin}/ping").status_code != 200:
        assert time.monotonic() < deadline, "the slots were never released"
        time.sleep(0.05)
    assert server.connections_accepted >= 3


# --- refusal status and client renewal ---------------------------------------------------------------------


class ShortThenLongTokens:
    """The real generator: a 60-second token first (expired in the server's eyes), then what is asked."""

    def __init__(self) -> None:
        self.expiries: list[timedelta] = []

    def __call__(
        self, *, region: str, aws_credentials_provider: CredentialProvider, expiry: timedelta
    ) -> str:
        expiry = timedelta(seconds=60) if not self.expiries else expiry
        self.expiries.append(expiry)
        return sagemaker_generate_token(
            region=region, aws_credentials_provider=aws_credentials_provider, expiry=expiry
        )


@pytest.mark.parametrize("status", [401, 403, 400])
def test_each_refusal_status_makes_the_client_renew_once(local_runtime: RuntimeFactory, status: int) -> None:
    later = TokenVerifier(
        SessionCredentials(), region=REGION, now=lambda: datetime.now(UTC) + timedelta(minutes=2)
    )
    server = local_runtime("ep", verifier=later, refusal_status=status)
    factory = ShortThenLongTokens()
    url = f"{server.origin}{CHAT_PATH}"
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(auth=BearerTokenAuth(REGION, token_factory=factory)) as client:
        answer = client.post(url, json=chat)
    assert answer.status_code == 200
    assert [refused.status_code for refused in answer.history] == [status]
    assert factory.expiries == [timedelta(seconds=60), timedelta(hours=1)]


@pytest.mark.parametrize("status", [401, 403, 400])
def test_refusal_status_applies_to_every_refusal(local_runtime: RuntimeFactory, status: int) -> None:
    server = local_runtime("ep", refusal_status=status)
    response = httpx.post(f"{server.origin}{CHAT_PATH}", json={"messages": []})
    assert _openai_error(response.status_code, dict(response.headers), response.json())[0] == status


# --- upstream ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "http://user:hunter2@example.net/v1",
            "--upstream http://example.net/v1 is plain http:// to a host that is not loopback",
        ),
        (
            "http://10.0.0.5:8000/v1?api-key=hunter2",
            "--upstream http://10.0.0.5:8000/v1 is plain http:// to a host that is not loopback",
        ),
        ("ftp://127.0.0.1/v1", "--upstream value is not an http(s) URL such as https://HOST/v1"),
        ("user:hunter2@example.net", "--upstream value is not an http(s) URL such as https://HOST/v1"),
    ],
)
def test_upstream_must_be_https_or_loopback_and_is_never_echoed_with_credentials(
    url: str, error: str
) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(
        ["local-runtime", "--endpoint", "ep", "--no-auth", "--upstream", url],
        CliContext(stdout=stdout, stderr=stderr),
    )
    assert code == 1
    suffix = " (127.0.0.1, localhost, ::1)" if "plain http" in error else ""
    assert (
        stderr.getvalue() == f"Error: {error}{suffix}; use https://, or http:// to a server on this machine\n"
    )
    assert "hunter2" not in stderr.getvalue()


def test_upstream_credentials_are_used_but_never_shown(local_runtime: RuntimeFactory, token: str) -> None:
    upstream = Upstream("http://user:hunter2@127.0.0.1:1/v1?key=hunter2")
    assert upstream.base_url == "http://127.0.0.1:1/v1"
    assert "hunter2" not in repr(upstream)
    server = local_runtime("ep", upstream=upstream)
    response = httpx.post(
        f"{server.origin}{CHAT_PATH}",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 502
    assert "hunter2" not in response.text


def test_openai_client_renews_on_a_refusal_and_reports_a_second_one(local_runtime: RuntimeFactory) -> None:
    later = TokenVerifier(
        SessionCredentials(), region=REGION, now=lambda: datetime.now(UTC) + timedelta(minutes=2)
    )
    server = local_runtime("ep", verifier=later, refusal_status=403)
    base_url = f"{server.origin}/endpoints/ep/openai/v1"
    factory = ShortThenLongTokens()
    client = openai_client(base_url, auth=BearerTokenAuth(REGION, token_factory=factory), max_retries=0)
    reply = client.chat.completions.create(model="", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "local-runtime ep: hi"
    assert len(factory.expiries) == 2
    # Signed by other keys: refused twice, and the second refusal reaches the caller as it came.
    stranger = BearerTokenAuth(
        REGION, credentials=Credentials("AKIAOTHEREXAMPLE0000", "other-secret"), renewal_timeout=5
    )
    with pytest.raises(openai.PermissionDeniedError) as raised:
        openai_client(base_url, auth=stranger, max_retries=0).chat.completions.create(
            model="", messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.status_code == 403
    assert raised.value.body == {
        "message": "The bearer token was signed with credentials this runtime does not accept.",
        "type": "AccessDeniedException",
        "code": 403,
    }


def test_a_refusal_does_not_wait_for_a_withheld_small_body(
    server: LocalRuntimeServer, connection: socket.socket
) -> None:
    connection.sendall(_raw_post(server, headers={"Content-Length": "100"}, body=b""))
    started = time.monotonic()
    assert _answer(connection)[0] == 401
    assert time.monotonic() - started < 1.5


def test_a_client_gone_mid_body_leaves_the_server_serving(server: LocalRuntimeServer, token: str) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            _raw_post(
                server, headers={"Authorization": f"Bearer {token}", "Content-Length": "100"}, body=b"{"
            )
        )
    assert httpx.get(f"{server.origin}/ping").status_code == 200
