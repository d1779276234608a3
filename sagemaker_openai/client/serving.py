"""Serving an ASGI app with uvicorn and httptools: the plumbing the proxy and local-runtime share.

The socket is bound up front (so port 0 is known before serving). `serve()` blocks until SIGINT or SIGTERM,
which stop accepting connections at once, let open answers finish for SHUTDOWN_GRACE seconds, then cancel
what is left (a second SIGINT stops at once); `running()` serves on a thread for the duration of a block.

Each connection runs uvicorn's httptools protocol, subclassed to apply `ConnectionRules` before a request
reaches the app: a request httptools cannot parse, or whose head exceeds MAX_HEAD_BYTES, is answered in the
server's own (OpenAI-style) error format rather than uvicorn's plain text; with a read timeout, every
request (the wait for it on a kept-alive connection included) must arrive whole in time, or the connection
is answered 408 when it still can be and closed, however slowly its bytes trickle in; with a connection
limit, connections over it are answered 503 with Retry-After: 1.

The server libraries (uvicorn, httptools, Starlette) are imported from here and the servers' app modules
only, when a server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5
# A request line and headers together; an OpenAI request's head (with a bearer token) is a few KiB.
MAX_HEAD_BYTES = 64 * 1024
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# httptools' words for a Content-Length that is not a number of bytes.
_BAD_CONTENT_LENGTH = (
    "Invalid character in Content-Length",
    "Empty Content-Length",
    "Content-Length overflow",
)

Header = tuple[bytes, bytes]
# (status, message) -> the headers and JSON body of an error answer in the server's own format.
ErrorAnswer = Callable[[int, str], tuple[Sequence[Header], bytes]]


@dataclass(frozen=True)
class ConnectionRules:
    """What every connection is held to before its requests reach the app, and how refusals are worded.

    `read_timeout` None sets no request deadline (uvicorn's keep-alive timeout still closes idle
    connections); `max_connections` None sets no limit.
    """

    server_name: str
    error_answer: ErrorAnswer
    read_timeout: float | None = None
    max_connections: int | None = None


class AppServer:
    """`app` served by uvicorn on HOST:PORT (port 0 picks a free one), each connection held to `rules`.

    The socket is bound here: OSError when the address is taken."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        rules: ConnectionRules,
        backlog: int = 1024,
        keep_alive: int = 5,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._socket = _bound(host, port, backlog)
        self._name = rules.server_name
        bound_host, self.port = self._socket.getsockname()[:2]
        self.origin = (
            f"http://[{bound_host}]:{self.port}" if ":" in bound_host else f"http://{bound_host}:{self.port}"
        )
        self._config = _Config(
            app,
            rules=rules,
            http=RuledHttpToolsProtocol,
            lifespan="on",
            # The CLI's logging stays as it is: uvicorn's lines show with --debug only.
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            headers=list(headers),
            ws="none",
            backlog=backlog,
            timeout_keep_alive=keep_alive,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
        )
        self._server = _Server(self._config)

    @property
    def connections_accepted(self) -> int:
        """Connections accepted so far (those answered 503 for the connection limit not counted)."""
        return self._config.connections_accepted

    def serve(self) -> None:
        """Serve until a stop signal (or `stop()`), then close the socket."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Ask for the same graceful stop a signal starts (from any thread)."""
        self._server.request_stop()

    @contextlib.contextmanager
    def running(self, *, start_timeout: float = 10.0) -> Iterator[None]:
        """Serve on a background thread for the duration of the block, then stop and wait for the end."""
        thread = threading.Thread(target=self.serve, name=self._name, daemon=True)
        thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start")
            time.sleep(0.005)
        try:
            yield
        finally:
            self.stop()
            thread.join(timeout=SHUTDOWN_GRACE + 5.0)


def _bound(host: str, port: int, backlog: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener


class _Config(uvicorn.Config):
    """uvicorn's settings, plus the rules the connection protocol applies and what it counts."""

    def __init__(self, app: ASGIApp, *, rules: ConnectionRules, **options: Any) -> None:
        super().__init__(app, **options)
        self.rules = rules
        self.connections_accepted = 0


class _Server(uvicorn.Server):
    """uvicorn's server, stopping promptly when asked from another thread, without re-raising signals."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    def request_stop(self) -> None:
        """What a stop signal does, from any thread, waking the main loop instead of waiting for its tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        # uvicorn's loop (a tick every 0.1 s), woken early by request_stop.
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's steps: stop accepting, close idle connections, let open answers finish within the
        # grace, cancel what is left, end the lifespan; polled every 10 ms instead of uvicorn's 100 ms,
        # since tests and benchmarks start and stop servers by the dozen.
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._drained(), timeout=self.config.timeout_graceful_shutdown)
        except TimeoutError:
            log.warning("cancelling %d unfinished answer(s) at shutdown", len(self.server_state.tasks))
            for task in self.server_state.tasks:
                task.cancel()
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _drained(self) -> None:
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(0.01)
        for server in self.servers:
            await server.wait_closed()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises the signal after its graceful shutdown, which would end the CLI with a
        # KeyboardInterrupt or a kill; a stop by signal is a server's normal end, so it is not re-raised.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class RuledHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, holding each connection to the server's `ConnectionRules`.

    The request being received is tracked from its first byte (`on_message_begin`) to its last
    (`on_message_complete`), so that the deadline covers it whole and a refusal knows whether an answer may
    still be written: not when one was started for it, nor while an earlier (pipelined) answer is under way.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, _Config):
            raise TypeError("RuledHttpToolsProtocol is served through AppServer")
        self._counts = config
        self._rules = config.rules
        self._deadline: asyncio.TimerHandle | None = None
        self._receiving = False
        self._receiving_cycle: RequestResponseCycle | None = None
        # Bytes of the head (request line and headers) being received; None once it is whole.
        self._head_bytes: int | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        limit = self._rules.max_connections
        if limit is not None and len(self.connections) >= limit:
            self.transport = transport
            retry = [(b"retry-after", b"1")]
            busy = f"{self._rules.server_name} is serving its maximum number of connections; retry."
            transport.write(self._error_response(503, busy, retry))
            transport.close()
            return
        super().connection_made(transport)
        self._counts.connections_accepted += 1
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own data_received, with parse errors answered in the server's format (and logged at
        # debug rather than as warnings on the CLI's stderr).
        self._unset_keepalive_if_required()
        head_was_open = self._head_bytes is not None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No protocol upgrade is served (ws="none"): the request is answered as plain HTTP.
            log.debug("%s ignored a protocol upgrade", self._rules.server_name)
        except httptools.HttpParserError as exc:
            log.debug("%s refused a malformed request: %s", self._rules.server_name, exc)
            self._refuse(400, _malformed(str(exc)))
            return
        # Counted only while the whole chunk was head: a head cannot grow by more than one chunk unseen.
        if head_was_open and self._head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, f"The request line and headers exceed {MAX_HEAD_BYTES} bytes.")

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, _malformed(msg))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._receiving = True
        self._receiving_cycle = None
        self._head_bytes = 0
        # Already armed when the request follows an idle wait: that wait counts towards its deadline.
        if self._deadline is None:
            self._arm_deadline()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._head_bytes = None
        self._receiving_cycle = self.cycle

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._receiving = False
        self._cancel_deadline()
        if self.cycle.response_complete and not self.pipeline:
            # Answered before its body was in (a refusal): the connection now waits for the next request.
            self._arm_deadline()

    def on_response_complete(self) -> None:
        next_is_in = bool(self.pipeline) and not self._receiving
        super().on_response_complete()
        if not next_is_in and self._deadline is None:
            self._arm_deadline()

    def _arm_deadline(self) -> None:
        self._cancel_deadline()
        timeout = self._rules.read_timeout
        if timeout is not None and not self.transport.is_closing():
            self._deadline = self.loop.call_later(timeout, self._deadline_passed)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._receiving:
            self._refuse(408, "The request did not arrive within the read timeout.")
        else:
            self.transport.close()  # an idle kept-alive connection: there is nothing to answer

    def _refuse(self, status: int, message: str) -> None:
        """Answer the request being received with an error, if it may still be answered, and close."""
        if self.transport.is_closing():
            return
        if self._may_answer():
            cycle = self._receiving_cycle
            if cycle is not None:
                # The app may be waiting for the body: it now sees a disconnect, and its answers go nowhere.
                cycle.disconnected = True
                cycle.message_event.set()
            self.transport.write(self._error_response(status, message))
        self.transport.close()

    def _may_answer(self) -> bool:
        if self.pipeline:
            return False
        if self._receiving_cycle is None:
            # Its head is incomplete, so self.cycle (if any) is the previous request's.
            return self.cycle is None or self.cycle.response_complete
        return not self._receiving_cycle.response_started

    def _error_response(self, status: int, message: str, extra: Sequence[Header] = ()) -> bytes:
        headers, body = self._rules.error_answer(status, message)
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
        fields = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
            *headers,
            (b"connection", b"close"),
        ]
        lines += [name + b": " + value for name, value in fields]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _malformed(detail: str) -> str:
    if detail.startswith(_BAD_CONTENT_LENGTH):
        return "The Content-Length header is not a number of bytes."
    return f"Malformed HTTP request: {detail.rstrip('.')}."
