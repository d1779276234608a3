"""What every request the servers take is held to before and while it reaches the app: an ASGI
middleware for the request limit and the body's deadline (see servers/serving.py for the rest)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

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
        # No body announced in HTTP/1.1: nothing to wait for. An HTTP/2 body needs no announcement, so it is
        # waited for (within the deadline) until its end arrives.
        announced = b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"
        self.body_in = self.scope.get("http_version") != "2" and not announced

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
