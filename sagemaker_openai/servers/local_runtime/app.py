"""local-runtime's ASGI app: SageMaker's OpenAI routes, answered deterministically or relayed upstream.

Each request has its Host header checked, then (for POST) its token and route, all before its body is
read; refusals, completions and streams take the shapes the runtime gives them (`x-amzn-RequestId`,
`x-amzn-ErrorType`, OpenAI-style error bodies). Streams are chunked SSE, one write per chunk, and stop
when the client leaves. The connection rules (read deadline, connection limit, unparseable requests) are
applied around the app, by `sagemaker_openai.servers.serving`: an answer given before the body is in (a
refusal) closes the connection there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterable
from contextlib import aclosing
from typing import TYPE_CHECKING

import httpx
from starlette.types import Receive, Scope, Send

from sagemaker_openai.servers.local_runtime.completions import (
    InvalidRequest,
    completion_body,
    reply_to,
    stream_chunks,
)
from sagemaker_openai.servers.local_runtime.routes import RouteError
from sagemaker_openai.servers.local_runtime.settings import (
    DEFAULT_MODEL_NAME,
    LOOPBACK,
    MAX_BODY_BYTES,
    RuntimeSettings,
)
from sagemaker_openai.servers.local_runtime.token_verifier import TokenRejected

if TYPE_CHECKING:
    from sagemaker_openai.servers.local_runtime.upstream import Upstream

log = logging.getLogger(__name__)

_CONTENT_LENGTH = re.compile(r"[0-9]{1,10}")
_ERROR_TYPES = {400: "ValidationError", 401: "UnauthorizedError", 403: "AccessDeniedException"}
# The error types of the answers the serving layer gives itself (the read deadline's 408).
# 503 as the SageMaker runtime names it (botocore's sagemaker-runtime model: ServiceUnavailable).
_SERVING_ERROR_TYPES = {408: "RequestTimeout", 503: "ServiceUnavailable"}


def error_answer(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of an error the serving layer writes itself for local-runtime (see serving)."""
    error_type = _SERVING_ERROR_TYPES.get(status, "BadRequestError" if status < 500 else "ServerError")
    headers = [(b"x-amzn-requestid", str(uuid.uuid4()).encode()), (b"x-amzn-errortype", error_type.encode())]
    return headers, _error_body(status, error_type, message)


class LocalRuntimeApp:
    """The stand-in's routes, for a server listening on 127.0.0.1."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._pacer = settings.stream_pacer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        exchange = _Exchange(scope, receive, send)
        try:
            await self._answer(exchange)
        except Exception:
            log.exception("local-runtime failed to answer %s", exchange.path)
            if not exchange.responded:
                exchange.close = True
                await exchange.send_error(500, "ServerError", "local-runtime failed to answer; see its log.")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._settings.upstream is not None:
                    await self._settings.upstream.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, exchange: _Exchange) -> None:
        if exchange.method not in ("GET", "POST"):
            exchange.close = True
            await exchange.send_error(501, "ServerError", f"Unsupported method ({exchange.method!r}).")
        elif not await self._host_allowed(exchange):
            return
        elif exchange.method == "GET":
            if exchange.path == "/ping":
                await exchange.send_json(200, {"status": "Healthy"})
            else:
                await exchange.send_error(
                    404, "NotFound", "Not found: POST /endpoints/{endpoint}/openai/v1/chat/completions."
                )
        else:
            await self._post(exchange)

    async def _post(self, exchange: _Exchange) -> None:
        target = await self._admitted(exchange)
        if target is None:
            return
        if await self._content_length(exchange) is None:
            return
        # No longer than declared: the HTTP parser reads exactly Content-Length bytes.
        body = await exchange.read_body()
        if body is None:
            # The client left, or the read timeout passed (the serving layer answered 408).
            return
        if self._settings.upstream is not None:
            await self._relay(exchange, self._settings.upstream, body)
        else:
            await self._complete(exchange, target, body)

    async def _host_allowed(self, exchange: _Exchange) -> bool:
        """Only Host 127.0.0.1:PORT (or localhost:PORT): a page whose name rebinds to 127.0.0.1 is refused."""
        host = (exchange.header("host") or "").strip().lower()
        if host in (f"{LOOPBACK}:{exchange.port}", f"localhost:{exchange.port}"):
            return True
        await self._refuse(
            exchange,
            400,
            "BadRequestError",
            f"The Host header must be {LOOPBACK}:{exchange.port}, where this listens.",
        )
        return False

    async def _admitted(self, exchange: _Exchange) -> str | None:
        """The model a request reaches, checked before its body is read; None after refusing it."""
        settings = self._settings
        if settings.verifier is not None:
            try:
                settings.verifier.verify(exchange.header("authorization"))
            except TokenRejected as exc:
                status = exc.status if exc.malformed else settings.refusal_status or exc.status
                await self._refuse(exchange, status, _ERROR_TYPES.get(status, "BadRequestError"), exc.message)
                return None
        try:
            return settings.layout.route(exchange.path)
        except RouteError as exc:
            await self._refuse(exchange, exc.status, exc.code, exc.message)
            return None

    async def _refuse(self, exchange: _Exchange, status: int, error_type: str, message: str) -> None:
        """Answer without reading the body (the serving layer then closes a connection with one unread)."""
        await exchange.send_error(status, error_type, message)

    async def _content_length(self, exchange: _Exchange) -> int | None:
        """The declared body size; None after answering 411, 400 or 413."""
        header = exchange.header("content-length")
        if header is None:
            refusal = (411, "ValidationError", "A Content-Length header is required.")
        elif not _CONTENT_LENGTH.fullmatch(header.strip()):
            refusal = (400, "BadRequestError", "The Content-Length header is not a number of bytes.")
        elif int(header) > MAX_BODY_BYTES:
            refusal = (413, "ValidationError", f"The body exceeds {MAX_BODY_BYTES} bytes.")
        else:
            return int(header)
        exchange.close = True
        await exchange.send_error(*refusal)
        return None

    async def _complete(self, exchange: _Exchange, target: str, body: bytes) -> None:
        settings = self._settings
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise InvalidRequest("the body must be a JSON object")
            reply = reply_to(request, target=target)
        except RecursionError:
            await exchange.send_error(
                400, "BadRequestError", "Invalid chat completion request: JSON nested too deeply."
            )
            return
        except ValueError as exc:
            await exchange.send_error(400, "BadRequestError", f"Invalid chat completion request: {exc}")
            return
        requested = request.get("model")
        if settings.served_model_name is not None and requested and requested != settings.served_model_name:
            await exchange.send_error(404, "NotFoundError", f"The model `{requested}` does not exist.")
            return
        model = requested or settings.served_model_name or DEFAULT_MODEL_NAME
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if request.get("stream") is True:
            options = request.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            chunks = stream_chunks(
                reply,
                completion_id=completion_id,
                created=created,
                model=model,
                include_usage=include_usage and settings.stream_usage,
            )
            # Closed at once when the client leaves, so a queued or generating answer gives up its turn.
            async with aclosing(self._pacer.events(chunks)) as events:
                await exchange.stream(200, "text/event-stream", events)
        else:
            await exchange.send_json(
                200, completion_body(reply, completion_id=completion_id, created=created, model=model)
            )

    async def _relay(self, exchange: _Exchange, upstream: Upstream, body: bytes) -> None:
        try:
            async with upstream.chat_completion(body) as response:
                content_type = response.headers.get("Content-Type", "application/json")
                if content_type.startswith("text/event-stream"):
                    await exchange.stream(response.status_code, content_type, response.aiter_raw())
                else:
                    await exchange.send_bytes(response.status_code, content_type, await response.aread())
        except httpx.HTTPError as exc:
            if exchange.responded:
                # Mid-stream: the caller sees the connection close, as it would have from the upstream.
                log.warning("local-runtime: the upstream's answer broke off (%s)", type(exc).__name__)
                return
            await exchange.send_error(
                502, "UpstreamError", f"The upstream {upstream.base_url} failed: {type(exc).__name__}."
            )


class _Exchange:
    """One request and its answer: what was asked, and the answer written in the runtime's shapes."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.method: str = scope["method"]
        # The port the connection reached: the one the server listens on.
        self.port: int = scope["server"][1]
        # The request target as sent (still percent-encoded), as routes.EndpointLayout expects it.
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        self.path = (target + b"?" + query if query else target).decode("latin-1")
        self._headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            self._headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        self._receive = receive
        self._send = send
        self.responded = False
        # Set to close the connection after the answer (the client sees Connection: close).
        self.close = False

    def header(self, name: str) -> str | None:
        """The first value of header `name` (lower case)."""
        return self._headers.get(name)

    async def read_body(self) -> bytes | None:
        """The whole body; None when the client left (or the connection timed out) before sending it."""
        parts: list[bytes] = []
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return None
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts)

    async def send_error(self, status: int, error_type: str, message: str) -> None:
        body = _error_body(status, error_type, message)
        await self.send_bytes(status, "application/json", body, error_type)

    async def send_json(self, status: int, payload: object) -> None:
        await self.send_bytes(status, "application/json", json.dumps(payload).encode())

    async def send_bytes(
        self, status: int, content_type: str, data: bytes, error_type: str | None = None
    ) -> None:
        headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", b"%d" % len(data))]
        if error_type is not None:
            headers.append((b"x-amzn-errortype", error_type.encode()))
        await self._start(status, headers)
        await self._send({"type": "http.response.body", "body": data})

    async def stream(self, status: int, content_type: str, pieces: AsyncIterable[bytes]) -> None:
        """A chunked answer, one write per piece, that stops early when the client leaves."""
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"cache-control", b"no-cache"),
            (b"transfer-encoding", b"chunked"),
        ]
        await self._start(status, headers)
        # The body is in, so the next message is the disconnect (or the end of this answer).
        left = asyncio.ensure_future(self._receive())
        try:
            async for piece in pieces:
                if left.done():
                    return
                if piece:
                    await self._send({"type": "http.response.body", "body": piece, "more_body": True})
            await self._send({"type": "http.response.body", "body": b""})
        finally:
            left.cancel()

    async def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.responded = True
        # The request id goes first. The head of a stream is written on its own, before the first chunk:
        # ending in a hex digit and a blank line, it would look like the end of a chunked body
        # ("0\r\n\r\n") to a relay that scans the bytes for it.
        headers.insert(0, (b"x-amzn-requestid", str(uuid.uuid4()).encode()))
        if self.close:
            headers.append((b"connection", b"close"))
        log.debug("local-runtime %s %s: %d", self.method, self.path, status)
        await self._send({"type": "http.response.start", "status": status, "headers": headers})


def _error_body(status: int, error_type: str, message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": error_type, "code": status}}).encode()
