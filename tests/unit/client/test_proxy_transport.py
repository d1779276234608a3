"""RelayTransport against scripted asyncio servers: the bytes on the wire, keep-alive, errors, TLS and flow
control. Each server writes raw HTTP, so what the transport sees and sends is exactly what the test says."""

from __future__ import annotations

import asyncio
import datetime
import random
import re
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sagemaker_openai.client.proxy import transport as transport_module
from sagemaker_openai.client.proxy.transport import RelayTransport, proxy_transport

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
    transport = RelayTransport(
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


# Answers and their framing


def test_content_length_answer_gives_status_headers_and_body() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client() as client:
            response = await client.get(server.url("/ping"))
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain"
        assert response.content == b"hello"
        assert response.http_version == "HTTP/1.1"
        assert response.reason_phrase == "OK"

    run(main())


def test_chunked_answer_is_relayed_chunk_by_chunk() -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(peer: Peer) -> None:
        await peer.read_request()
        peer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"):
            peer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            # The next chunk is written only once the client has relayed this one.
            await received.get()
        peer.write(b"0\r\n\r\n")
        await peer.until_eof()

    async def main() -> list[bytes]:
        pieces: list[bytes] = []
        async with (
            ScriptedServer(handle) as server,
            relay_client() as client,
            client.stream("POST", server.url(), content=b"{}") as response,
        ):
            async for piece in response.aiter_raw():
                pieces.append(piece)
                received.put_nowait(piece)
        return pieces

    assert run(main()) == [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]


def test_answer_without_length_or_chunking_ends_when_the_server_closes() -> None:
    async def handle(peer: Peer) -> None:
        await peer.read_request()
        peer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nup to ")
        await asyncio.sleep(0)
        peer.write(b"the end")
        await peer.close()

    async def main() -> None:
        async with ScriptedServer(handle) as server, relay_client() as client:
            first = await client.get(server.url())
            second = await client.get(server.url())
        assert first.content == second.content == b"up to the end"
        assert len(server.peers) == 2

    run(main())


def test_request_bytes_on_the_wire() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_EMPTY)) as server, relay_client() as client:
            await client.post(
                server.url("/endpoints/ep/invocations?stream=1"),
                content=b'{"model":"m"}',
                headers={"Content-Type": "application/json"},
            )
        request_line, headers, body = header_lines(server.peers[0].requests[0])
        assert request_line == b"POST /endpoints/ep/invocations?stream=1 HTTP/1.1"
        assert [value for name, value in headers if name.lower() == b"host"] == [
            f"127.0.0.1:{server.port}".encode()
        ]
        assert (b"Content-Length", b"13") in headers
        assert (b"Content-Type", b"application/json") in headers
        assert not any(name.lower() == b"transfer-encoding" for name, _ in headers)
        assert body == b'{"model":"m"}'

    run(main())


@pytest.mark.parametrize(
    ("pieces", "wire_body"),
    [
        ((b"abcd", b"efgh"), b"8\r\nabcdefgh\r\n0\r\n\r\n"),
        ((), b"0\r\n\r\n"),
    ],
    ids=["two-pieces", "empty"],
)
def test_body_of_unknown_size_goes_chunked(pieces: tuple[bytes, ...], wire_body: bytes) -> None:
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async def main() -> None:
        async with ScriptedServer(answering(OK_EMPTY)) as server, relay_client() as client:
            response = await client.post(server.url("/chunked"), content=body())
            # The chunked framing ended where the server expected: the connection serves a second request.
            again = await client.post(server.url("/chunked"), content=body())
        assert response.status_code == again.status_code == 200
        assert len(server.peers) == 1
        request_line, headers, sent = header_lines(server.peers[0].requests[0])
        assert request_line == b"POST /chunked HTTP/1.1"
        assert (b"Transfer-Encoding", b"chunked") in headers
        assert not any(name.lower() == b"content-length" for name, _ in headers)
        assert sent == wire_body

    run(main())


# Keep-alive


@pytest.mark.parametrize(
    "limits",
    [
        httpx.Limits(max_connections=10, max_keepalive_connections=10),
        # None is no limit of its own, as in httpx.
        httpx.Limits(max_connections=10, max_keepalive_connections=None),
        httpx.Limits(max_connections=None, max_keepalive_connections=None),
    ],
    ids=["keepalive-10", "keepalive-unset", "no-limits"],
)
def test_sequential_requests_share_one_connection(limits: httpx.Limits) -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client(limits=limits) as client:
            for _ in range(3):
                assert (await client.get(server.url())).content == b"hello"
        assert len(server.peers) == 1
        assert len(server.peers[0].requests) == 3

    run(main())


def test_no_keepalive_connections_means_one_connection_per_request() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=10, max_keepalive_connections=0)
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client(limits=limits) as client:
            await client.get(server.url())
            await client.get(server.url())
            await server.peers[0].eof.wait()
        assert len(server.peers) == 2

    run(main())


def test_connection_close_answer_is_not_reused() -> None:
    close_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"

    async def main() -> None:
        # The server keeps the connection open: closing it is the client's decision.
        async with ScriptedServer(answering(close_answer)) as server, relay_client() as client:
            await client.get(server.url())
            await client.get(server.url())
            await server.peers[0].eof.wait()
        assert [len(peer.requests) for peer in server.peers] == [1, 1]

    run(main())


def test_connection_the_server_closed_while_idle_is_not_reused() -> None:
    may_close, closed = asyncio.Event(), asyncio.Event()

    async def answer_once_then_close(peer: Peer) -> None:
        await peer.read_request()
        peer.write(OK_HELLO)
        await may_close.wait()
        await peer.close()
        closed.set()

    async def main() -> None:
        handler = by_connection(answer_once_then_close, answering(OK_HELLO))
        async with ScriptedServer(handler) as server, relay_client() as client:
            await client.get(server.url())
            may_close.set()
            await closed.wait()
            response = await client.get(server.url())
        assert response.content == b"hello"
        assert [len(peer.requests) for peer in server.peers] == [1, 1]

    run(main())


def test_idle_connection_closed_before_the_loop_noticed_is_not_reused() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client() as client:
            await client.get(server.url())
            # The server's FIN is in the client's socket, but the event loop has not run since.
            server.peers[0].writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            response = await client.get(server.url())
        assert response.content == b"hello"
        assert [len(peer.requests) for peer in server.peers] == [1, 1]

    run(main())


def test_idle_connection_past_keepalive_expiry_is_closed_not_reused() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=10, keepalive_expiry=0)
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client(limits=limits) as client:
            await client.get(server.url())
            await client.get(server.url())
            await server.peers[0].eof.wait()
        assert [len(peer.requests) for peer in server.peers] == [1, 1]

    run(main())


def test_idle_connection_to_another_origin_gives_way_in_a_full_pool() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=1)
        async with (
            ScriptedServer(answering(OK_HELLO)) as first,
            ScriptedServer(answering(OK_HELLO)) as second,
            relay_client(limits=limits) as client,
        ):
            await client.get(first.url())
            assert (await client.get(second.url())).content == b"hello"
            # One connection in all: the idle one to the first server was closed for the second.
            await first.peers[0].eof.wait()

    run(main())


def test_abandoned_body_closes_its_connection() -> None:
    async def send_part_of_a_long_body(peer: Peer) -> None:
        await peer.read_request()
        peer.write(PARTIAL)
        await peer.until_eof()

    async def main() -> None:
        handler = by_connection(send_part_of_a_long_body, answering(OK_HELLO))
        async with ScriptedServer(handler) as server, relay_client() as client:
            async with client.stream("GET", server.url()) as response:
                async for piece in response.aiter_raw():
                    assert piece == b"start"
                    break
            await server.peers[0].eof.wait()
            again = await client.get(server.url())
        assert again.content == b"hello"
        assert len(server.peers) == 2

    run(main())


@pytest.mark.parametrize(
    "surplus",
    [b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsmuggl", b"garbage"],
    ids=["second-answer", "garbage"],
)
def test_bytes_after_a_complete_answer_are_not_its_body(surplus: bytes) -> None:
    async def main() -> None:
        # The surplus arrives in the same read as the answer.
        handler = by_connection(answering(OK_HELLO + surplus), answering(OK_HELLO))
        async with ScriptedServer(handler) as server, relay_client() as client:
            first = await client.get(server.url())
            second = await client.get(server.url())
        assert first.content == second.content == b"hello"
        assert [len(peer.requests) for peer in server.peers] == [1, 1]

    run(main())


def test_bytes_after_a_complete_answer_do_not_spoil_it_before_it_is_read() -> None:
    head_read = asyncio.Event()

    async def answer_then_garbage(peer: Peer) -> None:
        await peer.read_request()
        peer.write(OK_HELLO)
        await head_read.wait()
        peer.write(b"garbage")
        await peer.until_eof()

    async def main() -> None:
        async with (
            ScriptedServer(answer_then_garbage) as server,
            relay_client() as client,
            client.stream("GET", server.url()) as response,
        ):
            head_read.set()
            await server.peers[0].eof.wait()  # the client retired the connection
            assert await response.aread() == b"hello"

    run(main())


def test_bytes_on_an_idle_connection_retire_it() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as server, relay_client() as client:
            await client.get(server.url())
            server.peers[0].write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nold")
            await server.peers[0].eof.wait()
            response = await client.get(server.url())
        assert response.content == b"hello"
        assert [len(peer.requests) for peer in server.peers] == [1, 1]

    run(main())


# Errors, as the httpx exceptions the proxy maps to 502 and 504


def test_refused_connection_is_a_connect_error() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_EMPTY)) as server:
            url = server.url()
        async with relay_client() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(url)

    run(main())


def test_no_tls_handshake_before_the_connect_timeout_is_a_connect_timeout() -> None:
    async def main() -> None:
        # A plain TCP server never answers the client's TLS hello.
        async with ScriptedServer(Peer.until_eof) as server, relay_client() as client:
            url = server.url(host="localhost", scheme="https")
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(url, timeout=httpx.Timeout(2.0, connect=0.05))

    run(main())


def test_no_head_before_the_read_timeout_is_a_read_timeout() -> None:
    async def main() -> None:
        async with ScriptedServer(Peer.until_eof) as server, relay_client() as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url(), timeout=httpx.Timeout(2.0, read=0.05))
            await server.peers[0].eof.wait()

    run(main())


def test_stall_mid_body_is_a_read_timeout() -> None:
    async def main() -> None:
        async with ScriptedServer(answering(PARTIAL)) as server, relay_client() as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url(), timeout=httpx.Timeout(2.0, read=0.05))
            await server.peers[0].eof.wait()

    run(main())


def test_read_timeout_bounds_each_gap_not_the_whole_answer() -> None:
    # Chunks 30 ms apart under a 100 ms read timeout, for 300 ms in all: the stream is not cut.
    pieces = [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i", b"j"]

    async def paced(peer: Peer) -> None:
        await peer.read_request()
        peer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in pieces:
            await asyncio.sleep(0.03)
            peer.write(b"1\r\n" + piece + b"\r\n")
        peer.write(b"0\r\n\r\n")
        await peer.until_eof()

    async def main() -> None:
        async with ScriptedServer(paced) as server, relay_client() as client:
            answer = await client.get(server.url(), timeout=httpx.Timeout(2.0, read=0.1))
            assert answer.content == b"".join(pieces)

    run(main())


def test_garbage_instead_of_http_is_a_remote_protocol_error() -> None:
    async def main() -> None:
        garbage = b"SSH-2.0-OpenSSH_9.6\r\n\r\n"
        async with ScriptedServer(answering(garbage)) as server, relay_client() as client:
            with pytest.raises(httpx.RemoteProtocolError, match=r"not valid HTTP/1\.1"):
                await client.get(server.url())

    run(main())


@pytest.mark.parametrize(
    "sent",
    [
        PARTIAL,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nstart\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"",
    ],
    ids=["content-length", "chunked", "mid-head", "before-head"],
)
def test_server_closing_before_the_answer_ends_is_a_remote_protocol_error(sent: bytes) -> None:
    async def handle(peer: Peer) -> None:
        await peer.read_request()
        peer.write(sent)
        await peer.close()

    async def main() -> None:
        async with ScriptedServer(handle) as server, relay_client() as client:
            with pytest.raises(httpx.RemoteProtocolError, match="closed the connection"):
                await client.get(server.url())

    run(main())


def test_reset_mid_answer_without_length_is_a_read_error_not_its_end() -> None:
    first_piece_read = asyncio.Event()

    async def answer_then_reset(peer: Peer) -> None:
        await peer.read_request()
        peer.write(b"HTTP/1.1 200 OK\r\n\r\nthe beginning")
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
            with pytest.raises(httpx.ReadError, match="reset"):
                await anext(pieces)

    run(main())


def test_full_pool_is_a_pool_timeout_and_frees_with_the_stream() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=1)
        handler = by_connection(answering(PARTIAL), answering(OK_HELLO))
        async with ScriptedServer(handler) as server, relay_client(limits=limits) as client:
            async with client.stream("GET", server.url()):
                with pytest.raises(httpx.PoolTimeout):
                    await client.get(server.url(), timeout=httpx.Timeout(2.0, pool=0.05))
            response = await client.get(server.url())
        assert response.content == b"hello"

    run(main())


def test_unsupported_scheme_is_refused() -> None:
    async def main() -> None:
        async with relay_client() as client:
            with pytest.raises(httpx.UnsupportedProtocol, match="'ftp'"):
                await client.get("ftp://127.0.0.1/file")

    run(main())


@pytest.mark.parametrize(
    "headers",
    [{"X-Note": "a\r\nX-Injected: 1"}, {"X-Note\r\nX-Injected": "1"}, {"X-Note": "a\x00"}],
    ids=["line-break-in-value", "line-break-in-name", "nul-in-value"],
)
def test_header_that_would_break_the_request_is_refused_before_sending(headers: dict[str, str]) -> None:
    async def main() -> None:
        async with ScriptedServer(answering(OK_EMPTY)) as server, relay_client() as client:
            await client.get(server.url())
            with pytest.raises(httpx.LocalProtocolError, match="X-Note"):
                await client.get(server.url(), headers=headers)
            await client.get(server.url())
        # Nothing of the refused request went out, and the connection served the next one.
        assert len(server.peers) == 1
        assert len(server.peers[0].requests) == 2
        assert b"X-Injected" not in b"".join(server.peers[0].requests)

    run(main())


# TLS


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


def test_https_with_a_trusted_certificate(localhost_cert: tuple[Path, Path]) -> None:
    async def main() -> None:
        trusting = ssl.create_default_context(cafile=str(localhost_cert[0]))
        async with (
            tls_server(localhost_cert, answering(OK_HELLO)) as server,
            relay_client(ssl_context=trusting) as client,
        ):
            url = server.url(host="localhost", scheme="https")
            first = await client.get(url)
            second = await client.get(url)
        assert first.content == second.content == b"hello"
        assert len(server.peers) == 1
        _, headers, _ = header_lines(server.peers[0].requests[0])
        assert (b"Host", f"localhost:{server.port}".encode()) in headers

    run(main())


@pytest.mark.parametrize(
    ("host", "trust"), [("127.0.0.1", True), ("localhost", False)], ids=["wrong-hostname", "untrusted"]
)
def test_https_certificate_refused_is_a_connect_error(
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


# Choosing the transport

_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


SAGEMAKER_URL = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/openai/v1/chat/completions"


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_env_proxy_for_the_runtime_host_selects_httpx_through_it(
    no_proxy_environment: pytest.MonkeyPatch, variable: str
) -> None:
    no_proxy_environment.setenv(variable, "http://proxy.example:3128")
    chosen = proxy_transport(httpx.Limits(max_connections=5), [SAGEMAKER_URL])
    assert isinstance(chosen, httpx.AsyncHTTPTransport)


@pytest.mark.parametrize(
    ("variable", "no_proxy"),
    [("HTTP_PROXY", None), ("HTTPS_PROXY", "amazonaws.com"), ("HTTPS_PROXY", ".us-east-1.amazonaws.com")],
)
def test_env_proxy_not_for_the_runtime_host_keeps_the_relay(
    no_proxy_environment: pytest.MonkeyPatch, variable: str, no_proxy: str | None
) -> None:
    # HTTP_PROXY is for http URLs only; NO_PROXY exempts the runtime's host.
    no_proxy_environment.setenv(variable, "http://proxy.example:3128")
    if no_proxy is not None:
        no_proxy_environment.setenv("NO_PROXY", no_proxy)
    chosen = proxy_transport(httpx.Limits(max_connections=5), [SAGEMAKER_URL])
    assert isinstance(chosen, RelayTransport)


def test_no_env_proxy_selects_relay_transport(no_proxy_environment: pytest.MonkeyPatch) -> None:
    assert isinstance(proxy_transport(httpx.Limits(max_connections=5), [SAGEMAKER_URL]), RelayTransport)


def test_env_proxy_is_where_requests_go(no_proxy_environment: pytest.MonkeyPatch) -> None:
    # An http URL through HTTP_PROXY: the proxy receives the request in absolute form.
    target = "http://runtime.example/endpoints/e/openai/v1/chat/completions"

    async def main() -> None:
        async with ScriptedServer(answering(OK_HELLO)) as proxy:
            no_proxy_environment.setenv("HTTP_PROXY", proxy.url(""))
            transport = proxy_transport(httpx.Limits(max_connections=5), [target])
            async with httpx.AsyncClient(transport=transport) as client:
                answer = await client.post(target, content=b"{}")
            assert answer.text == "hello"
            assert proxy.peers[0].requests[0].startswith(f"POST {target} HTTP/1.1\r\n".encode())

    run(main())


# Flow control and closing


def test_large_answer_read_slowly_arrives_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # A low mark makes the connection pause and resume reading many times over the answer.
    monkeypatch.setattr(transport_module, "_HIGH_WATER", 64 * 1024)
    payload = random.Random(7).randbytes(4 * 1024 * 1024)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload)

    async def main() -> bytes:
        received = bytearray()
        async with ScriptedServer(answering(head + payload)) as server, relay_client() as client:
            async with client.stream("GET", server.url()) as response:
                async for piece in response.aiter_raw():
                    received += piece
                    await asyncio.sleep(0.001)
            # Read whole, the connection serves the next request.
            assert (await client.get(server.url())).content == payload
            assert len(server.peers) == 1
        return bytes(received)

    assert run(main()) == payload


def test_aclose_closes_idle_and_streaming_connections() -> None:
    async def main() -> None:
        handler = by_connection(answering(PARTIAL), answering(OK_HELLO))
        async with ScriptedServer(handler) as server:
            client = relay_client()
            async with client.stream("GET", server.url()) as streaming:
                await client.get(server.url())  # a second connection, idle afterwards
                await client.aclose()
                await asyncio.gather(*(peer.eof.wait() for peer in server.peers))
                with pytest.raises(httpx.RemoteProtocolError):
                    await streaming.aread()
        assert len(server.peers) == 2

    run(main())
