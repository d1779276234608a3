"""The proxy's own CPU per streamed request: its ASGI app driven in process, with no sockets.

The app (behind the serving layer's read deadline, as served) gets a request as Hypercorn would hand it over,
routes it, signs it (a cached token), sends it to a scripted upstream transport that yields the answer's
chunks at once, and relays every chunk to a `send` that only counts. What is left out is what every relay
pays whatever its code: the socket reads and writes and the event-loop wake-ups between chunks
(bench_proxy.py's raw relay measures those).

    .venv/bin/python bench/proxy_app_cpu.py [--requests 2000] [--chunks 33]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from _common import REGION, use_fake_credentials
from starlette.types import Message

from sagemaker_openai.client import BearerTokenAuth
from sagemaker_openai.servers.proxy.app import ProxySettings, build_app
from sagemaker_openai.servers.proxy.routes import ModelRoutes, Route
from sagemaker_openai.servers.serving import ConnectionRules, RequestGuard

_BASE_URL = (
    f"https://runtime.sagemaker.{REGION}.amazonaws.com/endpoints/bench/inference-components/ic/openai/v1"
)


class _ScriptedStream(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class _ScriptedUpstream(httpx.AsyncBaseTransport):
    """Answers every request with the same event stream, chunk by chunk."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_ScriptedStream(self._chunks)
        )


def _event_stream(chunks: int) -> list[bytes]:
    events = [
        {"object": "chat.completion.chunk", "choices": [{"delta": {"content": f"w{index}"}}]}
        for index in range(chunks - 1)
    ]
    return [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]


async def _drive(requests: int, chunks: int) -> float:
    """CPU seconds per request over `requests` streamed requests, after a warm-up."""
    route = Route(name="ic", chat_url=f"{_BASE_URL}/chat/completions", served_model_name="bench-model")
    settings = ProxySettings(
        routes=ModelRoutes({"ic": route}),
        auth=BearerTokenAuth(REGION),
        transport=_ScriptedUpstream(_event_stream(chunks)),
    )
    rules = ConnectionRules(
        server_name="the proxy",
        error_answer=lambda status, message: ([], b"{}"),
        read_timeout=30.0,
        max_connections=1000,
    )
    app = RequestGuard(build_app(settings), rules)
    state: dict[str, Any] = {}
    lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
    lifespan_out: asyncio.Queue[Message] = asyncio.Queue()
    await lifespan_in.put({"type": "lifespan.startup"})
    lifespan = asyncio.ensure_future(
        app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state},
            lifespan_in.get,
            lifespan_out.put,
        )
    )
    started = await lifespan_out.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"the proxy app did not start: {started}")
    body = json.dumps(
        {"model": "ic", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": state,
    }

    async def one() -> None:
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        answered = asyncio.Event()

        async def receive() -> Message:
            if pending:
                return pending.pop()
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise SystemExit(f"the proxy app answered {message['status']}")
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.set()

        await app(dict(scope), receive, send)

    for _ in range(min(50, requests)):
        await one()
    started_cpu = time.process_time()
    for _ in range(requests):
        await one()
    per_request = (time.process_time() - started_cpu) / requests
    await lifespan_in.put({"type": "lifespan.shutdown"})
    await lifespan
    return per_request


def app_cpu_per_request(requests: int, chunks: int) -> float:
    """The proxy app's CPU seconds per streamed request of `chunks` chunks, sockets left out."""
    return asyncio.run(_drive(requests, chunks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="streamed requests (default 2000)")
    parser.add_argument("--chunks", type=int, default=33, help="chunks per answer (default 33)")
    args = parser.parse_args(argv)
    use_fake_credentials()
    per_request = app_cpu_per_request(args.requests, args.chunks)
    print(
        f"proxy app CPU per streamed request of {args.chunks} chunks, no sockets: {per_request * 1e3:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
