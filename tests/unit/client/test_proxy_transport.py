"""The proxy's aiohttp transport against scripted asyncio servers: answers, keep-alive, the error mapping
(timeouts 504, everything else 502 at the proxy), TLS, cookies and the environment's HTTP proxy. Each server
writes raw HTTP, so what the transport sees and sends is exactly what the test says."""

from __future__ import annotations

import asyncio
import datetime
import re
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sagemaker_openai.servers.proxy.transport import AiohttpTransport, environment_proxy, proxy_transport

T = TypeVar("T")
OK_EMPTY = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
OK_HELLO = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
# A body announced at 100 bytes of which only the first 5 are sent.
PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)


class Peer:
    """One connection the scripted server accepted."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.requests: list[bytes] = []
        self.eof = asyncio.Event()

    async def read_request(self) -> bytes | None:
        """The next request as sent (head and body), or None once the client closed the connection."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eof.set()
            return None
        if _CHUNKED.search(head):
            body = await self._chunked_body()
        else:
            length = _CONTENT_LENGTH.search(head)
            body = await self.reader.readexactly(int(length.group(1))) if length else b""
        self.requests.append(head + body)
        return head + body

    async def _chunked_body(self) -> bytes:
        raw = b""
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.strip(), 16)
            raw += size_line + await self.reader.readexactly(size + 2)
            if size == 0:
                return raw

    async def until_eof(self) -> None:
        """Reads (and keeps) requests until the client closes the connection."""
        while await self.read_request() is not None:
            pass

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


Handler = Callable[[Peer], Awaitable[None]]


class ScriptedServer:
    """An asyncio server on 127.0.0.1 (port 0) running `handler` for each connection it accepts."""

    def __init__(self, handler: Handler, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._handler = handler
        self._ssl_context = ssl_context
        self._tasks: set[asyncio.Task[None]] = set()
        self.peers: list[Peer] = []
        self.port = 0

    def url(self, path: str = "/", *, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self._ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for peer in self.peers:
            peer.writer.close()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The handler runs in a task of the server's own, so that the test's end can cancel it quietly.
        peer = Peer(reader, writer)
        self.peers.append(peer)
        self._tasks.add(asyncio.create_task(self._serve(peer)))

    async def _serve(self, peer: Peer) -> None:
        try:
            await self._handler(peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            peer.eof.set()


def answering(*answers: bytes) -> Handler:
    """Answers each request on a connection with the next of `answers` (the last one repeats), and keeps
    the connection open until the client closes it."""

    async def handle(peer: Peer) -> None:
        sent = 0
        while await peer.read_request() is not None:
            peer.write(answers[min(sent, len(answers) - 1)])
            sent += 1

    return handle


def by_connection(*handlers: Handler) -> Handler:
    """The first connection gets the first handler, the second the second; later ones the last."""
    accepted = 0

    async def handle(peer: Peer) -> None:
        nonlocal accepted
        handler = handlers[min(accepted, len(handlers) - 1)]
        accepted += 1
        await handler(peer)

    return handle


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs a test's coroutine in a fresh loop; a hang fails the test after 5 s instead of blocking."""

    async def bounded() -> T:
        async with asyncio.timeout(5):
            return await main

    return asyncio.run(bounded())


def relay_client(
    *,
    limits: httpx.Limits | None = None,
    timeout: httpx.Timeout | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    transport = AiohttpTransport(
        limits=limits or httpx.Limits(max_connections=10, max_keepalive_connections=10),
        ssl_context=ssl_context,
    )
    return httpx.AsyncClient(transport=transport, timeout=timeout or httpx.Timeout(2.0))


def header_lines(raw_request: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """Request line, headers (name, value) as sent, body."""
    head, body = raw_request.split(b"\r\n\r\n", 1)
    request_line, *lines = head.split(b"\r\n")
    headers = [(name, value) for name, _, value in (line.partition(b": ") for line in lines)]
    return request_line, headers, body


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def tls_server(localhost_cert: tuple[Path, Path], handler: Handler) -> ScriptedServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*localhost_cert)
    return ScriptedServer(handler, ssl_context=context)


# Answers


def test_content_length_answer_gives_status_headers_and_body() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client() as client:
            answer = await client.post(server.url("/v1/x?a=%2F"), content=b'{"k": 1}')
        assert (answer.status_code, answer.headers["content-type"], answer.content) == (
            200,
            "text/plain",
            b"hello",
        )
        request_line, headers, body = header_lines(server.peers[0].requests[0])
        assert request_line == b"POST /v1/x?a=%2F HTTP/1.1"
        assert (b"host", f"127.0.0.1:{server.port}".encode()) in headers
        assert body == b'{"k": 1}'

    run(main())


def test_a_chunked_answer_is_relayed_as_each_chunk_arrives() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def handle(peer: Peer) -> None:
            await peer.read_request()
            peer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            await gate.wait()  # the second chunk only once the first was received
            peer.write(b"6\r\nsecond\r\n0\r\n\r\n")
            await peer.until_eof()

        received: list[bytes] = []
        async with (
            ScriptedServer(handle) as server,
            relay_client() as client,
            client.stream("GET", server.url()) as answer,
        ):
            async for chunk in answer.aiter_raw():
                received.append(chunk)
                gate.set()
        assert received == [b"first", b"second"]

    run(main())


def test_sequential_requests_share_one_connection() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client() as client:
            for _ in range(3):
                assert (await client.get(server.url())).content == b"hello"
        assert len(server.peers) == 1

    run(main())


def test_an_abandoned_body_closes_its_connection() -> None:
    async def main() -> None:
        handler = by_connection(answering(PARTIAL), answering(OK_HELLO))
        async with ScriptedServer(handler) as server, relay_client() as client:
            async with client.stream("GET", server.url()) as answer:
                async for _ in answer.aiter_raw():
                    break
            await server.peers[0].eof.wait()
            assert (await client.get(server.url())).content == b"hello"
        assert len(server.peers) == 2

    run(main())


def test_no_cookie_an_answer_sets_is_sent_again() -> None:
    # The transport alone (the proxy's httpx client refuses cookies as well: test_proxy_app).
    set_cookie = b"HTTP/1.1 200 OK\r\nSet-Cookie: session=caller-a; Path=/\r\nContent-Length: 0\r\n\r\n"

    async def main() -> None:
        transport = AiohttpTransport(limits=httpx.Limits())
        async with ScriptedServer(answering(set_cookie)) as server:
            for _ in range(2):
                answer = await transport.handle_async_request(httpx.Request("GET", server.url()))
                await answer.aread()
                await answer.aclose()
            await transport.aclose()
        assert len(server.peers[0].requests) == 2
        assert b"caller-a" not in server.peers[0].requests[1]

    run(main())


# Errors: a timeout is httpx's TimeoutException (504 at the proxy); anything else another HTTPError (502)


def test_a_refused_connection_is_a_connect_error() -> None:
    async def main() -> None:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        async with relay_client() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")

    run(main())


async def _close_at_once(peer: Peer) -> None:
    await peer.read_request()
    await peer.close()


async def _garbage(peer: Peer) -> None:
    await peer.read_request()
    peer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await peer.until_eof()


@pytest.mark.parametrize("handler", [_close_at_once, _garbage], ids=["server-disconnects", "not-http"])
def test_a_server_that_fails_before_its_answer_is_a_protocol_error_not_a_timeout(handler: Handler) -> None:
    async def main() -> None:
        async with ScriptedServer(handler) as server, relay_client() as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(server.url())

    run(main())

    run(main())


def test_a_reset_mid_stream_is_an_error_not_its_end() -> None:
    first_piece_read = asyncio.Event()

    async def answer_then_reset(peer: Peer) -> None:
        await peer.read_request()
        # Chunked, as SageMaker streams. (aiohttp takes a reset that ends an answer framed by the
        # connection's end for that end.)
        peer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nthe beginning\r\n")
        await first_piece_read.wait()
        # SO_LINGER 0: closing sends a reset, as a crashed or killed server's host would.
        peer.writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        peer.writer.transport.abort()

    async def main() -> None:
        async with (
            ScriptedServer(answer_then_reset) as server,
            relay_client() as client,
            client.stream("GET", server.url()) as response,
        ):
            pieces = response.aiter_raw()
            assert await anext(pieces) == b"the beginning"
            first_piece_read.set()
            with pytest.raises(httpx.TransportError) as raised:
                await anext(pieces)
            assert not isinstance(raised.value, httpx.TimeoutException)

    run(main())


async def _silent(peer: Peer) -> None:
    await peer.read_request()
    await peer.until_eof()


async def _stall_mid_body(peer: Peer) -> None:
    await peer.read_request()
    peer.write(PARTIAL)
    await peer.until_eof()


def test_no_head_before_the_read_timeout_is_a_read_timeout() -> None:
    async def main() -> None:
        async with ScriptedServer(_silent) as server, relay_client(timeout=httpx.Timeout(0.2)) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url())

    run(main())


def test_a_stall_mid_body_is_a_read_timeout() -> None:
    async def main() -> None:
        async with (
            ScriptedServer(_stall_mid_body) as server,
            relay_client(timeout=httpx.Timeout(0.2)) as client,
            client.stream("GET", server.url()) as answer,
        ):
            with pytest.raises(httpx.ReadTimeout):
                await answer.aread()

    run(main())


def test_the_read_timeout_bounds_each_gap_not_the_whole_answer() -> None:
    async def trickle(peer: Peer) -> None:
        await peer.read_request()
        peer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(4):
            await asyncio.sleep(0.1)
            peer.write(b"1\r\nx\r\n")
        peer.write(b"0\r\n\r\n")
        await peer.until_eof()

    async def main() -> None:
        async with ScriptedServer(trickle) as server, relay_client(timeout=httpx.Timeout(0.25)) as client:
            assert (await client.get(server.url())).content == b"xxxx"

    run(main())


def test_aclose_closes_idle_and_streaming_connections() -> None:
    async def main() -> None:
        handler = by_connection(answering(PARTIAL), answering(OK_HELLO))
        async with ScriptedServer(handler) as server:
            client = relay_client()
            async with client.stream("GET", server.url()):
                await client.get(server.url())  # a second connection, idle afterwards
                await client.aclose()
                await asyncio.gather(*(peer.eof.wait() for peer in server.peers))
        assert len(server.peers) == 2

    run(main())


# TLS


def test_https_trusts_the_certificates_ssl_cert_file_names(
    localhost_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(localhost_cert[0]))

    async def main() -> None:
        async with tls_server(localhost_cert, answering(OK_HELLO)) as server, relay_client() as client:
            url = server.url(host="localhost", scheme="https")
            assert (await client.get(url)).content == b"hello"
            assert (await client.get(url)).content == b"hello"
        assert len(server.peers) == 1

    run(main())


@pytest.mark.parametrize(
    ("host", "trust"), [("127.0.0.1", True), ("localhost", False)], ids=["wrong-hostname", "untrusted"]
)
def test_a_refused_certificate_is_a_connect_error(
    localhost_cert: tuple[Path, Path], host: str, trust: bool
) -> None:
    async def main() -> None:
        # Without a context of its own, the transport trusts what httpx trusts (certifi): not this cert.
        context = ssl.create_default_context(cafile=str(localhost_cert[0])) if trust else None
        async with (
            tls_server(localhost_cert, answering(OK_HELLO)) as server,
            relay_client(ssl_context=context) as client,
        ):
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await client.get(server.url(host=host, scheme="https"))

    run(main())


# The environment's HTTP proxy

_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
SAGEMAKER_URL = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/openai/v1/chat/completions"


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_the_environments_proxy_for_the_runtime_host_is_used(
    no_proxy_environment: pytest.MonkeyPatch, variable: str
) -> None:
    no_proxy_environment.setenv(variable, "http://user:secret@proxy.example:3128")
    transport = proxy_transport(httpx.Limits(max_connections=5), [SAGEMAKER_URL])
    assert transport.proxy == "http://proxy.example:3128"


@pytest.mark.parametrize(
    ("variable", "no_proxy"),
    [("HTTP_PROXY", None), ("HTTPS_PROXY", "amazonaws.com"), ("HTTPS_PROXY", ".us-east-1.amazonaws.com")],
)
def test_a_proxy_not_for_the_runtime_host_is_not_used(
    no_proxy_environment: pytest.MonkeyPatch, variable: str, no_proxy: str | None
) -> None:
    # HTTP_PROXY is for http URLs only; NO_PROXY exempts the runtime's host.
    no_proxy_environment.setenv(variable, "http://proxy.example:3128")
    if no_proxy is not None:
        no_proxy_environment.setenv("NO_PROXY", no_proxy)
    assert environment_proxy([SAGEMAKER_URL]) is None


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_an_http_loopback_url_never_goes_through_a_proxy(
    no_proxy_environment: pytest.MonkeyPatch, variable: str, host: str
) -> None:
    no_proxy_environment.setenv(variable, "http://proxy.example:3128")
    assert environment_proxy([f"http://{host}:8080/endpoints/e/openai/v1/chat/completions"]) is None


def test_a_forward_proxy_receives_nothing_for_an_http_loopback_url(
    no_proxy_environment: pytest.MonkeyPatch,
) -> None:
    async def main() -> None:
        async with (
            ScriptedServer(answering(OK_HELLO)) as forward,
            ScriptedServer(answering(OK_HELLO)) as model,
        ):
            for variable in ("HTTP_PROXY", "ALL_PROXY"):
                no_proxy_environment.setenv(variable, forward.url(""))
            target = model.url("/endpoints/e/openai/v1/chat/completions")
            async with httpx.AsyncClient(transport=proxy_transport(httpx.Limits(), [target])) as client:
                answer = await client.post(target, content=b"{}", headers={"Authorization": "Bearer t0ken"})
            assert answer.text == "hello"
            assert b"t0ken" in model.peers[0].requests[0]
            assert forward.peers == []

    run(main())


def test_requests_go_through_the_environments_proxy(no_proxy_environment: pytest.MonkeyPatch) -> None:
    # An http URL of another host through HTTP_PROXY: the proxy receives the request in absolute form,
    # with the credentials its URL holds.
    target = "http://runtime.example/endpoints/e/openai/v1/chat/completions"

    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as proxy:
            no_proxy_environment.setenv("HTTP_PROXY", f"http://user:secret@127.0.0.1:{proxy.port}")
            transport = proxy_transport(httpx.Limits(max_connections=5), [target])
            async with httpx.AsyncClient(transport=transport) as client:
                answer = await client.post(target, content=b"{}")
            assert answer.text == "hello"
            request_line, headers, _ = header_lines(proxy.peers[0].requests[0])
            assert request_line == f"POST {target} HTTP/1.1".encode()
            assert (b"Proxy-Authorization", b"Basic dXNlcjpzZWNyZXQ=") in headers
            assert b"secret" not in request_line

    run(main())
