"""The proxy's httpx transport to SageMaker: HTTP/1.1 keep-alive connections on asyncio protocols, parsed by
httptools.

httpx's default transport reads a streamed answer through anyio, httpcore and h11, all in Python: about a
tenth of a millisecond of CPU per chunk, most of what the proxy spent per streamed request. Here a chunk
goes from the socket through httptools' C parser into a buffer the relay drains, so relaying it costs a few
microseconds of Python. The httpx client above it is unchanged: auth (the bearer token), the wait for
capacity, timeouts and the httpx errors the proxy maps to 502 and 504.

Only what the proxy sends is supported: requests with a body of known size, answers framed by
Content-Length, chunked encoding or the connection's end. HTTP proxies are not: `proxy_transport` gives
httpx's own transport, through the proxy, when the environment names one for SageMaker's host.
"""

from __future__ import annotations

import asyncio
import collections
import math
import re
import select
import ssl
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterable
from typing import cast

import httptools
import httpx

# Past this many unread bytes a connection stops reading until the relay catches up (flow control).
_HIGH_WATER = 256 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADER_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110's token
_NOT_IN_HEADER_VALUE = re.compile(rb"[\r\n\x00]")


def proxy_transport(limits: httpx.Limits, urls: Iterable[str]) -> httpx.AsyncBaseTransport:
    """The relay transport for `urls` (a stack's model URLs), or httpx's own through the HTTP proxy the
    environment names for them (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, minus NO_PROXY), which the relay does
    not speak. The URLs of one stack share one runtime host, so one choice serves them all."""
    proxies = urllib.request.getproxies()
    for url in urls:
        target = httpx.URL(url)
        proxy = proxies.get(target.scheme) or proxies.get("all")
        if proxy and not urllib.request.proxy_bypass(target.host):
            return httpx.AsyncHTTPTransport(limits=limits, proxy=proxy)
    return RelayTransport(limits=limits)


class RelayTransport(httpx.AsyncBaseTransport):
    """Keeps up to `limits.max_keepalive_connections` idle connections per origin for up to
    `limits.keepalive_expiry` seconds, at most `limits.max_connections` in all; TLS as httpx sets it up
    (certifi, SSL_CERT_FILE and SSL_CERT_DIR)."""

    def __init__(self, *, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        # None is no limit, as in httpx; max_connections still bounds the connections in use.
        keepalive = limits.max_keepalive_connections
        self._max_idle = sys.maxsize if keepalive is None else keepalive
        self._keepalive_expiry = limits.keepalive_expiry
        self._max_open = limits.max_connections
        self._slots = asyncio.BoundedSemaphore(limits.max_connections) if limits.max_connections else None
        self._idle: dict[tuple[str, str, int], collections.deque[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        if request.url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol {request.url.scheme!r}."
            )
        message = _request_bytes(request, await request.aread())
        await self._take_slot(timeouts.get("pool"))
        connection: _Connection | None = None
        try:
            connection = self._idle_connection(request.url) or await self._connect(
                request.url, timeouts.get("connect")
            )
            connection.send(message)
            await connection.wait_for_head(timeouts.get("read"))
        except BaseException:
            self.finish(connection, reuse=False)
            raise
        return httpx.Response(
            connection.status,
            headers=connection.headers,
            stream=_Body(self, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": connection.reason},
        )

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()

    def finish(self, connection: _Connection | None, *, reuse: bool) -> None:
        """A request is over: its connection is kept for the next (when `reuse` and it can be), or closed."""
        self._give_slot()
        if connection is None:
            return
        idle = self._idle.setdefault(connection.origin, collections.deque())
        if reuse and connection.reusable and len(idle) < self._max_idle:
            connection.reset()
            expiry = self._keepalive_expiry
            connection.idle_until = math.inf if expiry is None else time.monotonic() + expiry
            idle.append(connection)
        else:
            connection.close()
            self._open.discard(connection)

    def _idle_connection(self, url: httpx.URL) -> _Connection | None:
        idle = self._idle.get(_origin(url))
        while idle:
            connection = idle.pop()
            if connection.still_open() and time.monotonic() < connection.idle_until:
                return connection
            connection.close()
            self._open.discard(connection)
        return None

    async def _connect(self, url: httpx.URL, timeout: float | None) -> _Connection:
        if self._max_open is not None and len(self._open) >= self._max_open:
            self._close_longest_idle()
        loop = asyncio.get_running_loop()
        origin = _origin(url)
        secure = origin[0] == "https"
        if secure and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, origin),
                    origin[1],
                    origin[2],
                    ssl=self._ssl_context if secure else None,
                    server_hostname=origin[1] if secure else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"No connection to {origin[1]}:{origin[2]} before the timeout."
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc)) from exc
        self._open.add(connection)
        return connection

    def _close_longest_idle(self) -> None:
        """Makes room for a new connection. The slots bound the connections in use, so a full pool with a
        slot free for this request holds an idle connection (to another origin)."""
        idle = [connection for queue in self._idle.values() for connection in queue]
        if idle:
            oldest = min(idle, key=lambda connection: connection.idle_until)
            self._idle[oldest.origin].remove(oldest)
            oldest.close()
            self._open.discard(oldest)

    async def _take_slot(self, timeout: float | None) -> None:
        if self._slots is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("No free connection before the pool timeout.") from None

    def _give_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()


class _Body(httpx.AsyncByteStream):
    """An answer's body as it arrives; the connection goes back to the pool once the body is read whole."""

    def __init__(self, pool: RelayTransport, connection: _Connection, read_timeout: float | None) -> None:
        self._pool = pool
        self._connection = connection
        self._read_timeout = read_timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            chunk = connection.next_chunk()
            if chunk:
                yield chunk
            elif connection.complete:
                return
            else:
                await connection.wait_for_data(self._read_timeout)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # A body left mid-answer (the caller went away) would go on arriving on this connection: closed.
        self._pool.finish(self._connection, reuse=self._connection.complete and not self._connection.has_data)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a request, parses its answer into status, headers and body chunks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: tuple[str, str, int]) -> None:
        self.origin = origin
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_deadline = 0.0
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._lost = False
        # Past this time.monotonic() the connection, idle, is not used again (httpx's keepalive_expiry).
        self.idle_until = math.inf
        self.reset()

    def reset(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self._until_close = False
        self._keep_alive = True
        self._error: httpx.TransportError | None = None
        self._expecting = False

    @property
    def reusable(self) -> bool:
        return not self._lost and self._keep_alive and self._error is None and not self._expecting

    def still_open(self) -> bool:
        """Reusable, and nothing (the server's FIN above all) waits unread in its socket: the event loop may
        not have polled it since the server closed it, and a request sent on it would fail."""
        transport = self._transport
        if not self.reusable or transport is None:
            return False
        sock = transport.get_extra_info("socket")
        return sock is None or not _readable(sock.fileno())

    @property
    def has_data(self) -> bool:
        return bool(self._chunks)

    def send(self, data: bytes) -> None:
        if self._transport is None or self._lost:
            raise httpx.WriteError("The connection closed before the request was sent.")
        self._expecting = True
        self._transport.write(data)

    def next_chunk(self) -> bytes | None:
        if self._error is not None and not self._chunks:
            raise self._error
        if not self._chunks:
            return None
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered < _HIGH_WATER // 2 and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return chunk

    async def wait_for_head(self, timeout: float | None) -> None:
        while not self.head_done:
            if self._error is not None:
                raise self._error
            await self.wait_for_data(timeout)

    async def wait_for_data(self, timeout: float | None) -> None:
        """Until the parser has more to give (a chunk, the end, an error); ReadTimeout after `timeout`."""
        waiter = self._loop.create_future()
        self._waiter = waiter
        if timeout is not None:
            # One timer per connection, moved on lazily: a wait (one per chunk) only sets the deadline.
            self._read_deadline = self._loop.time() + timeout
            if self._timer is not None and self._timer.when() > self._read_deadline:
                self._timer.cancel()
                self._timer = None
            if self._timer is None:
                self._timer = self._loop.call_at(self._read_deadline, self._deadline_reached)
        try:
            await waiter
        finally:
            self._waiter = None

    def _deadline_reached(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # no wait under way; the next one arms the timer again
        if self._loop.time() < self._read_deadline:
            self._timer = self._loop.call_at(self._read_deadline, self._deadline_reached)
        else:
            waiter.set_exception(httpx.ReadTimeout("No data from the server before the read timeout."))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self._lost = True
        self._cancel_timer()
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._expecting:
            # Bytes nobody asked for (or after the answer): the answer stands, the connection is not reused.
            self._retire()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.complete:  # what followed the answer in the same read (see on_message_begin)
                self._retire()
                self._wake()
            else:
                self._fail(httpx.RemoteProtocolError(f"The server's answer is not valid HTTP/1.1 ({exc})."))
            return
        if self._buffered > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if not self._expecting:
            pass
        elif exc is not None:
            # A reset, not a close: even an answer that ends with the connection is cut short.
            self._fail(httpx.ReadError(f"The connection broke before the server's answer ended ({exc})."))
        elif self._until_close and self.head_done:
            self._finish()
        else:
            self._fail(httpx.RemoteProtocolError("The server closed the connection before its answer ended."))
        self._wake()
        # Whoever waits now finds the end or the error: nothing more can arrive to wait for.
        self._cancel_timer()

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.complete:
            # Stops the parser: a second message would otherwise run on into this answer's body.
            raise httpx.RemoteProtocolError("The server sent a second answer to one request.")

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self._keep_alive = self._parser.should_keep_alive()
        names = {name.lower() for name, _ in self.headers}
        self._until_close = b"content-length" not in names and b"transfer-encoding" not in names
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)

    def on_message_complete(self) -> None:
        self._finish()

    def _finish(self) -> None:
        self.complete = True
        self._expecting = False

    def _retire(self) -> None:
        self._keep_alive = False
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: httpx.TransportError) -> None:
        # The first error says what went wrong; the connection_lost that follows would only say it closed.
        if self._error is None:
            self._error = error
        self._retire()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _readable(fileno: int) -> bool:
    """Whether a socket has something to read (an end of stream included), without reading it."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fileno], [], [], 0)[0])


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme]


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """The request in one write; a body httpx announced as chunked (size unknown) goes as one chunk."""
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        if not _HEADER_NAME.fullmatch(name) or _NOT_IN_HEADER_VALUE.search(value):
            # As h11 did for httpx's own transport: such a header would end or split the request.
            shown = name.decode("latin-1")
            raise httpx.LocalProtocolError(
                f"Request header {shown!r} cannot be sent: its name or value holds a line break, NUL or "
                "other character HTTP/1.1 does not allow there."
            )
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    if "transfer-encoding" in request.headers:
        lines.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n")
    else:
        lines.append(body)
    return b"".join(lines)
