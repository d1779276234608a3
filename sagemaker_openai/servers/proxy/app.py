"""The proxy's ASGI app: OpenAI routes in front of a stack's SageMaker URLs, on one httpx pool and one token.

POST /v1/chat/completions is routed by `model`, re-sent with the served name and the proxy's bearer token
(the caller's Authorization header never leaves the proxy), and SageMaker's answer is relayed as it
arrives: status, body and a few headers, streams chunk by chunk. GET /v1/models lists the models;
GET /healthz answers without a key.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from sagemaker_openai.client.capacity import AsyncCapacityWaitTransport
from sagemaker_openai.client.destinations import is_loopback
from sagemaker_openai.client.errors import SageMakerOpenAIError
from sagemaker_openai.client.redaction import redact
from sagemaker_openai.client.token_format import TOKEN_PREFIX
from sagemaker_openai.servers.proxy.routes import ModelRoutes, Route, RouteNotFound, openai_error
from sagemaker_openai.servers.proxy.transport import proxy_transport

log = logging.getLogger(__name__)

# SageMaker's InvokeEndpoint payload limit: a larger body would be refused there anyway.
MAX_BODY_BYTES = 6 * 1024 * 1024
POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
# What of SageMaker's answer reaches the caller besides status and body.
_RELAYED_HEADERS = frozenset(
    {"content-type", "content-length", "retry-after", "x-amzn-requestid", "x-amzn-errortype"}
)
_UNGUARDED_PATHS = frozenset({"/healthz"})


@dataclass(frozen=True)
class ProxySettings:
    """What the proxy serves and how it calls SageMaker.

    `check_host` refuses Host headers that are not loopback names, so that a web page cannot reach a
    loopback proxy through DNS rebinding; it is for proxies bound to loopback. `transport` replaces the
    network (tests).
    """

    routes: ModelRoutes
    auth: httpx.Auth
    api_key: str | None = field(default=None, repr=False)
    api_key_source: str = "the proxy's API key"
    check_host: bool = True
    timeout: float = 70.0
    wait_for_capacity: float = 0.0
    notify: Callable[[str], None] | None = None
    transport: httpx.AsyncBaseTransport | None = None


def build_app(settings: ProxySettings) -> ASGIApp:
    """The Starlette app behind the guard (Host and API key checks)."""
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _pool(settings) as pool:
            app.state.pool = pool
            yield

    async def chat_completions(request: Request) -> Response:
        return await _chat_completions(request, settings)

    async def list_models(request: Request) -> Response:
        return JSONResponse(settings.routes.model_list(created))

    async def get_model(request: Request) -> Response:
        try:
            return JSONResponse(settings.routes.model_object(request.path_params["name"], created))
        except RouteNotFound as exc:
            return _error(exc.status, exc.message, kind="invalid_request_error", code=exc.code, param="model")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def not_routed(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = (
            f"{request.method} {request.url.path} is not served: this proxy serves "
            "POST /v1/chat/completions, GET /v1/models and GET /healthz."
        )
        return _error(status, message, kind="invalid_request_error", code="not_found")

    app = Starlette(
        routes=[
            HttpRoute("/v1/chat/completions", chat_completions, methods=["POST"]),
            HttpRoute("/v1/models", list_models, methods=["GET"]),
            HttpRoute("/v1/models/{name:path}", get_model, methods=["GET"]),
            HttpRoute("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={404: not_routed, 405: not_routed},
        lifespan=lifespan,
    )
    return _Guard(app, settings)


def _pool(settings: ProxySettings) -> httpx.AsyncClient:
    transport = settings.transport or proxy_transport(POOL_LIMITS, settings.routes.chat_urls())
    if settings.wait_for_capacity > 0:
        transport = AsyncCapacityWaitTransport(
            transport, max_wait=settings.wait_for_capacity, notify=settings.notify
        )
    # As the SDK's client: the read timeout bounds the gap between chunks of a stream, not the whole answer.
    return httpx.AsyncClient(
        auth=settings.auth,
        transport=transport,
        timeout=httpx.Timeout(settings.timeout, connect=10.0),
        # The pool serves every caller: a cookie one caller's answer sets is never sent for another.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


async def _chat_completions(request: Request, settings: ProxySettings) -> Response:
    try:
        route, payload = await _routed_body(request, settings.routes)
    except _Refused as refused:
        return refused.response
    pool: httpx.AsyncClient = request.app.state.pool
    outgoing = pool.build_request(
        "POST",
        route.chat_url,
        content=json.dumps(payload, separators=(",", ":")).encode(),
        # A fresh header set: nothing of the caller's (its Authorization above all) is forwarded.
        headers={
            "Content-Type": "application/json",
            "Accept": request.headers.get("accept", "application/json, text/event-stream"),
            # The raw bytes are relayed, so they must be the body itself.
            "Accept-Encoding": "identity",
        },
    )
    try:
        upstream = await pool.send(outgoing, stream=True)
    except httpx.TimeoutException:
        return _error(
            504, f"No answer from model {route.name} before the timeout.", kind="api_error", code=None
        )
    except httpx.HTTPError as exc:
        message = f"Cannot reach model {route.name} ({type(exc).__name__}: {exc})."
        return _error(502, redact(message), kind="api_error", code=None)
    except SageMakerOpenAIError as exc:
        # No token (credentials expired, region refused): say why, without the token.
        return _error(502, redact(f"The proxy cannot call SageMaker: {exc}"), kind="api_error", code=None)
    if upstream.status_code >= 400 and not upstream.headers.get("content-type", "").startswith(
        "text/event-stream"
    ):
        return await _error_answer(upstream)
    return _Relay(upstream, route.name)


async def _error_answer(upstream: httpx.Response) -> Response:
    """SageMaker's error, read whole (errors are short) so that a token it might echo is redacted."""
    try:
        body = await upstream.aread()
    finally:
        await upstream.aclose()
    if TOKEN_PREFIX.encode() in body:
        body = redact(body.decode("utf-8", "replace")).encode()
    headers = {
        name: value
        for name, value in upstream.headers.items()
        if name.lower() in _RELAYED_HEADERS and name.lower() != "content-length"
    }
    return Response(body, status_code=upstream.status_code, headers=headers)


class _Refused(Exception):
    """The request is answered by the proxy itself, with `response`."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _routed_body(request: Request, routes: ModelRoutes) -> tuple[Route, dict[str, Any]]:
    """The model the request names and its JSON body, with `model` set to the name the model serves."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _Refused(
            _error(415, "Send the request body as JSON with Content-Type: application/json.", code=None)
        )
    try:
        body = await _read_body(request)
    except _BodyTooLarge:
        raise _Refused(_error(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", code=None)) from None
    except ClientDisconnect:
        raise _Refused(Response(status_code=400)) from None
    try:
        payload = json.loads(body)
    except ValueError:
        raise _Refused(_error(400, "The request body is not valid JSON.", code=None)) from None
    if not isinstance(payload, dict):
        raise _Refused(_error(400, "The request body must be a JSON object.", code=None))
    try:
        route = routes.resolve(payload.get("model"))
    except RouteNotFound as exc:
        raise _Refused(_error(exc.status, exc.message, code=exc.code, param="model")) from None
    payload["model"] = route.served_model_name
    return route, payload


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _Relay(Response):
    """SageMaker's answer, relayed as it arrives; the upstream stream is closed when the caller leaves."""

    def __init__(self, upstream: httpx.Response, model: str) -> None:
        self._upstream = upstream
        self._model = model
        self.status_code = upstream.status_code
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def relay() -> None:
                    await self._relay(send)
                    group.cancel_scope.cancel()

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(relay)
                group.start_soon(watch)
        finally:
            await self._upstream.aclose()

    async def _relay(self, send: Send) -> None:
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in self._upstream.headers.items()
            if name.lower() in _RELAYED_HEADERS
        ]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        try:
            if self._upstream.is_stream_consumed:
                # A transport that hands back responses already read (tests' mocks): relay what was read.
                await send({"type": "http.response.body", "body": self._upstream.content, "more_body": True})
            else:
                async for chunk in self._upstream.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:
            # Mid-answer: the caller sees the connection close, as it would have from SageMaker.
            log.warning("model %s: the answer broke off (%s)", self._model, type(exc).__name__)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Guard:
    """Refuses non-loopback Host headers (when asked) and requests without the API key (when one is set)."""

    def __init__(self, app: ASGIApp, settings: ProxySettings) -> None:
        self._app = app
        self._check_host = settings.check_host
        self._api_key = settings.api_key.encode() if settings.api_key is not None else None
        self._api_key_source = settings.api_key_source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(Headers(scope=scope), scope["path"])
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _refusal(self, headers: Headers, path: str) -> Response | None:
        host = headers.get("host")
        if self._check_host and host is not None and not _is_loopback(host):
            return _error(
                403,
                f"Host {host!r} is refused: this proxy listens on loopback and answers only to "
                "localhost or a loopback address.",
                code="host_not_allowed",
            )
        if self._api_key is None or path in _UNGUARDED_PATHS:
            return None
        scheme, _, supplied = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), self._api_key):
            return _error(
                401,
                f"Missing or incorrect API key: send {self._api_key_source} as the API key "
                "(Authorization: Bearer KEY).",
                code="invalid_api_key",
            )
        return None


def _is_loopback(host_header: str) -> bool:
    return is_loopback(urlsplit(f"//{host_header}").hostname or "")


def _error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    code: str | None,
    param: str | None = None,
) -> Response:
    return JSONResponse(openai_error(message, kind=kind, code=code, param=param), status_code=status)
