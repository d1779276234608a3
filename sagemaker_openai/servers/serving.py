"""Serving an ASGI app with Hypercorn's public interface: the plumbing the proxy and local-runtime share.

The socket is bound up front (so port 0 is known before serving) and handed to Hypercorn as `fd://`.
`serve()` blocks until SIGINT or SIGTERM, which stop accepting connections at once, let open answers finish
for SHUTDOWN_GRACE seconds, then cancel what is left (a second signal stops at once); `running()` serves on
a thread for the duration of a block.

What each connection is held to (`ConnectionRules`), with one deadline, `read_timeout`:
- A request's head must be whole within `read_timeout` of the connection opening or of its previous
  answer's end, or the connection is closed: Hypercorn's `keep_alive_timeout` is an idle timer that runs
  from a connection's start until h11 has read a whole head, and again after each answer
  (hypercorn 0.18.0, `asyncio/tcp_server.py` and `protocol/h11.py`). So a connection that sends nothing,
  or its head a byte at a time, and a kept-alive connection left idle, are all closed at the deadline.
- A request's body must arrive whole within `read_timeout` of its head (`RequestGuard`, in front of the
  app), or the request is answered 408 in the server's own error format and its connection closed; an
  answer given before the body is in (a refusal) closes the connection too.
- At most `max_connections` requests are served at once (`RequestGuard`): one more is answered 503 at once,
  in the server's error format, and its connection closed. A connection that has not sent a whole head
  holds no place; the deadline above closes it.
- A request h11 cannot read gets Hypercorn's own plain 400 (a head over MAX_HEAD_BYTES a 431) and a close.
  Hypercorn also accepts HTTP/2 over cleartext (prior knowledge or `Upgrade: h2c`) and WebSocket upgrades,
  and has no setting to turn them off: h2c requests are held to the same rules, WebSockets are refused.
  One gap remains (Hypercorn 0.18): a client that opens with HTTP/2's preface and then sends no request is
  not closed, since the idle timer stops on the preface's request line and HTTP/2 restarts it only when a
  stream closes (a strict xfail test holds it; docs/proxy.md says what to do beyond loopback).

When file descriptors run out, the event loop's "socket.accept() out of system resource" is logged once, as
a warning, rather than with a traceback at every retry. Hypercorn's own messages show with --debug; an app
that fails is logged as an error.

The server libraries (Hypercorn, Starlette) are imported from here and the servers' app modules only, when
a server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.typing import ASGIFramework
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5
# A request line and headers beyond this get a 431 (bearer tokens are a few KiB).
MAX_HEAD_BYTES = 64 * 1024
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_OUT_OF_RESOURCES = "socket.accept() out of system resource"
# Connections remembered to count each once (a counter for tests and benchmarks, bounded in memory).
_RECENT_CLIENTS = 4096

Header = tuple[bytes, bytes]
# (status, message) -> the headers and JSON body of an error answer in the server's own format.
ErrorAnswer = Callable[[int, str], tuple[Sequence[Header], bytes]]


@dataclass(frozen=True)
class ConnectionRules:
    """What every request is held to, and how a refused or late one is answered.

    `max_connections` requests are served at once; one more is answered 503. A request's head and its body
    each have `read_timeout` seconds to arrive; a kept-alive connection idle that long is closed."""

    server_name: str
    error_answer: ErrorAnswer
    read_timeout: float
    max_connections: int


class AppServer:
    """`app` served by Hypercorn on HOST:PORT (port 0 picks a free one), each request held to `rules`;
    `headers` are added to every answer the app gives.

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
        self._guard = RequestGuard(app, rules, headers=[(k.encode(), v.encode()) for k, v in headers])
        self._config = _config(rules, backlog)
        self._stop_asked = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._resources_reported = False

    @property
    def connections_accepted(self) -> int:
        """Connections that have sent a request so far (those answered 503 for the limit included)."""
        return self._guard.connections_seen

    def serve(self) -> None:
        """Serve until a stop signal (or `stop()`), then close the socket."""
        try:
            asyncio.run(self._serve())
        except KeyboardInterrupt:  # a second stop signal: stop at once
            pass
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Ask for the same graceful stop a signal starts (from any thread)."""
        self._stop_asked.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stop.set)

    @contextlib.contextmanager
    def running(self, *, start_timeout: float = 10.0) -> Iterator[None]:
        """Serve on a background thread for the duration of the block, then stop and wait for the end."""
        thread = threading.Thread(target=self.serve, name=self._name, daemon=True)
        thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._guard.started.wait(0.005):
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start")
        try:
            yield
        finally:
            self.stop()
            thread.join(timeout=SHUTDOWN_GRACE + 5.0)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        self._stop = stop = asyncio.Event()
        self._loop = loop
        if self._stop_asked.is_set():
            stop.set()
        # Hypercorn owns (and closes) a duplicate of the socket; this object closes the original.
        self._config.bind = [f"fd://{os.dup(self._socket.fileno())}"]
        # Hypercorn types ASGI messages as TypedDicts, Starlette and the guard as mappings: the same messages.
        app = cast(ASGIFramework, self._guard)
        serving = asyncio.ensure_future(
            hypercorn_serve(app, self._config, shutdown_trigger=stop.wait, mode="asgi")
        )
        with self._stop_signals(loop, stop):
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            # Hypercorn lets open answers run for its graceful_timeout; on Python 3.12+ it first waits for
            # every connection to close (asyncio's Server.wait_closed), so the grace is bounded here too.
            done, _ = await asyncio.wait({serving}, timeout=SHUTDOWN_GRACE + 1.0)
            if not done:
                log.warning("%s: cancelling unfinished answers at shutdown", self._name)
                serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    @contextlib.contextmanager
    def _stop_signals(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Iterator[None]:
        # The first SIGINT or SIGTERM stops gracefully, a second one at once (a KeyboardInterrupt, which
        # asyncio lets out of the loop and serve() ends on). A stop by signal is a server's normal end.
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_signal() -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()

        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal)
        try:
            yield
        finally:
            for sig in _STOP_SIGNALS:
                loop.remove_signal_handler(sig)

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
        # A stop at once cancels the connections' tasks; on Python 3.11 asyncio's stream callback then
        # reports each as an error (it asks a cancelled task for its exception). Nothing failed.
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        loop.default_exception_handler(context)


def _config(rules: ConnectionRules, backlog: int) -> HypercornConfig:
    config = HypercornConfig()
    config.backlog = backlog
    # The idle timer that also bounds the wait for a request's head (see the module's docstring).
    config.keep_alive_timeout = rules.read_timeout
    config.graceful_timeout = SHUTDOWN_GRACE
    config.h11_max_incomplete_size = MAX_HEAD_BYTES
    config.include_server_header = False
    config.accesslog = None
    # The CLI's logging stays as it is: Hypercorn's messages show with --debug; its errors (an app that
    # fails) always.
    errors = log.getChild("hypercorn")
    errors.setLevel(logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.ERROR)
    config.errorlog = errors
    return config


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


class RequestGuard:
    """ASGI middleware: at most `rules.max_connections` requests at once (503 past it), and a request's
    body must arrive whole within `rules.read_timeout` of its head.

    Past the deadline the request is answered 408 (unless its answer has started) and its connection
    closed; the app then reads a disconnect, and what it sends is dropped. An answer that starts before the
    body is in closes the connection after it, so that no body left unread holds the connection open.
    `started` is set once the app has started (its lifespan startup is complete)."""

    def __init__(self, app: ASGIApp, rules: ConnectionRules, *, headers: Sequence[Header] = ()) -> None:
        self._app = app
        self._rules = rules
        self._headers = list(headers)
        self.started = threading.Event()
        self.in_flight = 0
        self.connections_seen = 0
        # The client addresses (host, port: one per connection) that sent the latest requests, bounded.
        self._recent_clients: OrderedDict[tuple[str, int], None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._app(scope, receive, self._lifespan_send(send))
        else:  # a WebSocket: closing before accepting makes the server answer 403
            await receive()
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._count(scope.get("client"))
        exchange = _Exchange(scope, receive, send, self._rules, self._headers)
        if self.in_flight >= self._rules.max_connections:
            log.debug(
                "%s: a request past the limit of %d", self._rules.server_name, self._rules.max_connections
            )
            await exchange.refuse(
                503, "The server is at its limit of requests served at once; retry shortly."
            )
            return
        self.in_flight += 1
        try:
            await self._app(scope, exchange.receive, exchange.send)
        finally:
            self.in_flight -= 1

    def _lifespan_send(self, send: Send) -> Send:
        async def lifespan_send(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self.started.set()

        return lifespan_send

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
    headers: list[Header]
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
            self.timed_out = True
            if not self.answer_started:
                log.debug("%s: a request body did not arrive within the read timeout", self.rules.server_name)
                await self.refuse(408, "The request did not arrive within the read timeout.")
            return {"type": "http.disconnect"}
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.body_in = True
        return message

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return
        if message["type"] == "http.response.start":
            self.answer_started = True
            if self.headers or not self.body_in:
                headers = [*message.get("headers", []), *self.headers]
                message = {**message, "headers": headers if self.body_in else _closing(headers)}
        await self._send(message)

    async def refuse(self, status: int, message: str) -> None:
        """Answer `status` in the server's error format, before the app has answered, and close."""
        headers, body = self.rules.error_answer(status, message)
        fields = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
            *self.headers,
            (b"connection", b"close"),
        ]
        await self._send({"type": "http.response.start", "status": status, "headers": fields})
        await self._send({"type": "http.response.body", "body": body})


def _closing(headers: Sequence[Header]) -> list[Header]:
    if any(name.lower() == b"connection" for name, _ in headers):
        return [(name, b"close" if name.lower() == b"connection" else value) for name, value in headers]
    return [*headers, (b"connection", b"close")]
