"""Forwarding chat completions to an OpenAI-compatible server (a local vLLM, for example)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx

from sagemaker_openai.client.destinations import is_loopback, origin
from sagemaker_openai.client.direct_http import async_direct_plain_http

# httpx's own default pool limits, for the transport that plain-HTTP upstreams get.
_POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class UpstreamURLError(ValueError):
    """An upstream URL that is neither HTTPS nor loopback (the message never shows its credentials)."""


def displayed_url(url: str) -> str:
    """`url` without user info or query, which may hold credentials: safe to print and log."""
    return f"{origin(url)}{urlsplit(url).path}".rstrip("/")


def check_upstream_url(url: str) -> None:
    """Relayed requests carry prompts (and maybe an API key): HTTPS anywhere, plain HTTP only to loopback."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if host and (scheme == "https" or (scheme == "http" and is_loopback(host))):
        return
    if not parts.netloc or scheme not in ("http", "https"):
        # Not quoted: "user:password@host" parses as scheme "user".
        raise UpstreamURLError("value is not an http(s) URL such as https://HOST/v1")
    raise UpstreamURLError(
        f"{displayed_url(url)} is plain http:// to a host that is not loopback (127.0.0.1, localhost, ::1)"
    )


class Upstream:
    """Posts request bodies to `<base_url>/chat/completions`; the caller's bearer token is never forwarded.

    `base_url` is shown without user info or query (credentials embedded there are used, never printed).
    Its pool is asynchronous: it is used, and closed with `aclose()`, on the serving event loop."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 300.0) -> None:
        check_upstream_url(base_url)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = displayed_url(base_url)
        # The API key never goes through HTTP_PROXY in clear to a plain-HTTP (loopback) upstream.
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            mounts=async_direct_plain_http(_POOL_LIMITS),
        )

    def __repr__(self) -> str:
        return f"Upstream({self.base_url!r})"

    @asynccontextmanager
    async def chat_completion(self, body: bytes) -> AsyncIterator[httpx.Response]:
        """The upstream's response, not yet read, so streams can be relayed chunk by chunk."""
        async with self._client.stream(
            "POST", "/chat/completions", content=body, headers={"Content-Type": "application/json"}
        ) as response:
            yield response

    async def aclose(self) -> None:
        await self._client.aclose()
