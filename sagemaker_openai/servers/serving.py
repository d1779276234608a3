"""Serving an ASGI app with uvicorn's public settings: the plumbing the proxy and local-runtime share.

The socket is bound up front (so port 0 is known before serving). `serve()` blocks until SIGINT or SIGTERM,
which stop accepting connections at once, let open answers finish for SHUTDOWN_GRACE seconds, then cancel
what is left (a second SIGINT stops at once); `running()` serves on a thread for the duration of a block.

What each connection is held to (`ConnectionRules`):
- A connection limit (uvicorn's `limit_concurrency`): a request on a connection past it is answered 503 by
  uvicorn at once and the connection closed.
- A read deadline for the body (`RequestDeadline`, in front of the app): a request whose body has not
  arrived whole `read_timeout` seconds after its head is answered 408 (in the server's own error format)
  and its connection closed; an answer given before the body is in (a refusal) closes the connection too.
- Idle kept-alive connections are closed after `keep_alive` seconds (uvicorn's `timeout_keep_alive`).
- A request the HTTP parser cannot read gets uvicorn's own plain-text 400 and a close.

Not covered: uvicorn has no public setting that bounds the wait for a request's head, so a connection that
sends nothing, or its request line and headers a byte at a time, is held until the client leaves (it counts
towards the connection limit). Bound beyond loopback, put a reverse proxy with a header timeout in front
(docs/proxy.md).

When file descriptors run out, the event loop's "socket.accept() out of system resource" is logged once, as
a warning, rather than with a traceback at every retry. uvicorn's per-request warnings (a malformed
request, the limit reached) show with --debug only.

The server libraries (uvicorn, Starlette) are imported from here and the servers' app modules only, when a
server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_OUT_OF_RESOURCES = "socket.accept() out of system resource"
# Connections remembered to count each once (a counter for tests and benchmarks, bounded in memory).
_RECENT_CLIENTS = 4096

Header = tuple[bytes, bytes]
# (status, message) -> the headers and JSON body of an error answer in the server's own format.
ErrorAnswer = Callable[[int, str], tuple[Sequence[Header], bytes]]


@dataclass(frozen=True)
class ConnectionRules:
    """What every request is held to before it reaches the app, and how a late one is answered.

    `max_connections` connections are served at once; a request on one more is answered 503."""

    server_name: str
    error_answer: ErrorAnswer
    read_timeout: float
    max_connections: int
    keep_alive: float = 5.0


class AppServer:
    """`app` served by uvicorn on HOST:PORT (port 0 picks a free one), each request held to `rules`.

    The socket is bound here: OSError when the address is taken."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        rules: ConnectionRules,
        backlog: int = 1024,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._socket = _bound(host, port, backlog)
        self._name = rules.server_name
        bound_host, self.port = self._socket.getsockname()[:2]
        self.origin = (
            f"http://[{bound_host}]:{self.port}" if ":" in bound_host else f"http://{bound_host}:{self.port}"
        )
        self._deadline = RequestDeadline(app, rules)
        config = uvicorn.Config(
            self._deadline,
            http="httptools",
            lifespan="on",
            # The CLI's logging stays as it is: uvicorn's warnings (one per malformed request, one per
            # request over the limit) show with --debug only; its errors (an app that fails) always.
            log_config=None,
            log_level=logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.ERROR,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            headers=list(headers),
            ws="none",
            backlog=backlog,
            # uvicorn answers 503 once the connections (this one included) reach the limit.
            limit_concurrency=rules.max_connections + 1,
            timeout_keep_alive=max(1, math.ceil(rules.keep_alive)),
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
        )
        self._server = _Server(config)

    @property
    def connections_accepted(self) -> int:
        """Connections that have sent a request so far (those answered 503 for the limit included)."""
        return self._deadline.connections_seen

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


class RequestDeadline:
    """ASGI middleware: a request's body must arrive whole within `rules.read_timeout` of its head.

    Past the deadline the request is answered 408 (unless its answer has started) and its connection
    closed; the app then reads a disconnect, and what it sends is dropped. An answer that starts before the
    body is in closes the connection after it, so that no body left unread holds the connection open."""

    def __init__(self, app: ASGIApp, rules: ConnectionRules) -> None:
        self._app = app
        self._rules = rules
        self.connections_seen = 0
        # The client addresses (host, port: one per connection) that sent the latest requests, bounded.
        self._recent_clients: OrderedDict[tuple[str, int], None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        self._count(scope.get("client"))
        exchange = _Exchange(scope, receive, send, self._rules)
        await self._app(scope, exchange.receive, exchange.send)

    def _count(self, client: tuple[str, int] | None) -> None:
        if client is None:
            return
        key = (client[0], client[1])
        if key in self._recent_clients:
            self._recent_clients.move_to_end(key)
            return
        self.connections_seen += 1
        self._recent_clients[key] = None
        if len(self._recent_clients) > _RECENT_CLIENTS:
            self._recent_clients.popitem(last=False)


@dataclass
class _Exchange:
    scope: Scope
    _receive: Receive
    _send: Send
    rules: ConnectionRules
    body_in: bool = False
    answer_started: bool = False
    timed_out: bool = False
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = asyncio.get_running_loop().time() + self.rules.read_timeout
        headers = dict(self.scope["headers"])
        # No body announced: nothing to wait for.
        self.body_in = b"transfer-encoding" not in headers and headers.get(b"content-length", b"0") == b"0"

    async def receive(self) -> Message:
        if self.timed_out:
            return {"type": "http.disconnect"}
        if self.body_in:
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            await self._time_out()
            return {"type": "http.disconnect"}
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.body_in = True
        return message

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return
        if message["type"] == "http.response.start":
            self.answer_started = True
            if not self.body_in:
                message = {**message, "headers": _closing(message.get("headers", []))}
        await self._send(message)

    async def _time_out(self) -> None:
        self.timed_out = True
        if self.answer_started:
            return
        log.debug("%s: a request body did not arrive within the read timeout", self.rules.server_name)
        headers, body = self.rules.error_answer(408, "The request did not arrive within the read timeout.")
        fields = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
            (b"connection", b"close"),
        ]
        await self._send({"type": "http.response.start", "status": 408, "headers": fields})
        await self._send({"type": "http.response.body", "body": body})


def _closing(headers: Sequence[Header]) -> list[Header]:
    if any(name.lower() == b"connection" for name, _ in headers):
        return [(name, b"close" if name.lower() == b"connection" else value) for name, value in headers]
    return [*headers, (b"connection", b"close")]


class _Server(uvicorn.Server):
    """uvicorn's server, stopping promptly when asked from another thread, without re-raising signals."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None
    _resources_reported = False

    def request_stop(self) -> None:
        """What a stop signal does, from any thread, waking the main loop instead of waiting for its tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(wake.set)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(self._loop_exception)
        await super().serve(sockets)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Out of file descriptors, the loop stops accepting for a second and says so at each retry, with a
        # traceback: said once here, and the connections wait in the backlog meanwhile.
        if context.get("message") == _OUT_OF_RESOURCES:
            if not self._resources_reported:
                self._resources_reported = True
                log.warning(
                    "out of file descriptors (%s): new connections wait until some close; raise the limit "
                    "(ulimit -n) or lower --max-connections",
                    context.get("exception"),
                )
            return
        loop.default_exception_handler(context)

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
