"""The proxy's httpx transport to SageMaker: aiohttp's client session (its C parser, its keep-alive pool).

The httpx client above it is unchanged: auth (the bearer token, renewed once on a refusal), the wait for
capacity and timeouts. This module only hands each request to `aiohttp.ClientSession` and maps its errors
to the httpx errors the proxy turns into answers: a timeout to `httpx.TimeoutException` (504), anything else
(a refused connection, a server that disconnects, an answer that is not HTTP) to another `httpx.HTTPError`
(502).

What the session is held to: no cookie jar (what one caller's answer sets never reaches the next caller), no
decompression (the bytes relayed are the body), TLS as httpx sets it up (certifi, or SSL_CERT_FILE and
SSL_CERT_DIR), and the HTTP proxy the environment names for SageMaker's host, never for an `http://`
loopback URL: a bearer token in clear is not handed to a proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterable, Iterator

import aiohttp
import httpx
from yarl import URL

from sagemaker_openai.client.destinations import is_loopback


def proxy_transport(limits: httpx.Limits, urls: Iterable[str]) -> AiohttpTransport:
    """The transport for `urls` (a stack's model URLs), through the HTTP proxy the environment names for them
    (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, minus NO_PROXY), if any. The URLs of one stack share one runtime
    host, so one choice serves them all."""
    return AiohttpTransport(limits=limits, proxy=environment_proxy(urls))


def environment_proxy(urls: Iterable[str]) -> str | None:
    """The proxy the environment names for the first of `urls` that has one; never one for an `http://`
    loopback URL (the request, its token included, would cross the proxy in clear)."""
    proxies = urllib.request.getproxies()
    for url in urls:
        target = httpx.URL(url)
        if target.scheme == "http" and is_loopback(target.host):
            continue
        proxy = proxies.get(target.scheme) or proxies.get("all")
        if proxy and not urllib.request.proxy_bypass(target.host):
            return proxy
    return None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent by one `aiohttp.ClientSession`, created on first use (on the serving loop).

    At most `limits.max_connections` connections (None: no limit), idle ones kept `limits.keepalive_expiry`
    seconds; `ssl_context` None trusts what httpx trusts."""

    def __init__(
        self, *, limits: httpx.Limits, proxy: str | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._limits = limits
        self._ssl_context = ssl_context
        # Credentials in the proxy's URL are sent to it as Proxy-Authorization (by aiohttp).
        self._proxy = None if proxy is None else URL(proxy)
        self._session: aiohttp.ClientSession | None = None

    @property
    def proxy(self) -> str | None:
        """The HTTP proxy requests go through (without its credentials), if any."""
        return None if self._proxy is None else str(self._proxy.with_user(None))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                limit_per_host=0,
                keepalive_timeout=self._limits.keepalive_expiry,
                ssl=self._ssl_context or httpx.create_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                # The request goes with the headers httpx built, and no others.
                skip_auto_headers=("Content-Type",),
                # The environment's proxy was chosen above, for SageMaker's host only.
                trust_env=False,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        body = await request.aread()
        with _httpx_errors():
            # aiohttp's own read timeout (sock_read) moves a timer at every read: the head is bounded here,
            # the gaps between body chunks by _Body, each with one timer.
            async with asyncio.timeout(read_timeout):
                answer = await self._client().request(
                    request.method,
                    URL(str(request.url), encoded=True),
                    headers=request.headers.multi_items(),
                    data=body or None,
                    allow_redirects=False,
                    proxy=self._proxy,
                    timeout=aiohttp.ClientTimeout(
                        total=None, connect=timeouts.get("pool"), sock_connect=timeouts.get("connect")
                    ),
                )
        return httpx.Response(
            answer.status,
            headers=list(answer.raw_headers),
            stream=_Body(answer, read_timeout),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """An answer's body as it arrives, each wait for a chunk bounded by `read_timeout` (ReadTimeout); its
    connection goes back to the pool only when it was read whole.

    One timer per answer, moved lazily: a wait only notes when it began, and the timer, when it fires early,
    is set again for the current wait's deadline."""

    def __init__(self, answer: aiohttp.ClientResponse, read_timeout: float | None) -> None:
        self._answer = answer
        self._read_timeout = read_timeout
        self._waiting_since: float | None = None
        self._timed_out = False
        self._timer: asyncio.TimerHandle | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._answer.content
        loop = asyncio.get_running_loop()
        if self._read_timeout is not None:
            self._timer = loop.call_at(loop.time() + self._read_timeout, self._check_wait, loop)
        try:
            with _httpx_errors():
                while True:
                    self._waiting_since = loop.time()
                    chunk = await content.readany()
                    self._waiting_since = None
                    if not chunk:
                        break
                    yield chunk
            if self._timed_out:  # closed by the timer, as the answer ended
                raise httpx.ReadTimeout("No data from the server before the read timeout.")
        except httpx.HTTPError:
            if self._timed_out:
                raise httpx.ReadTimeout("No data from the server before the read timeout.") from None
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()

    def _check_wait(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._read_timeout is not None
        since = self._waiting_since
        due = (loop.time() if since is None else since) + self._read_timeout
        if since is not None and loop.time() >= due:
            self._timed_out = True
            self._answer.close()  # the waiting read ends with an error, raised as ReadTimeout above
            return
        self._timer = loop.call_at(due, self._check_wait, loop)

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._answer.content.at_eof():
            self._answer.release()  # back to the pool
        else:
            # Left mid-answer (the caller went away): the rest would go on arriving on this connection.
            self._answer.close()


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        raise _httpx_error(exc) from exc
    except TimeoutError as exc:
        raise httpx.ReadTimeout("No data from the server before the read timeout.") from exc


# The first entry that matches wins, so subclasses come before their bases: timeouts give 504 at the proxy;
# refusals, disconnects and answers that are not HTTP give 502.
_ERRORS: tuple[tuple[type[aiohttp.ClientError], type[httpx.HTTPError], str], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout, "No connection before the timeout"),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout, "No data from the server before the read timeout"),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError, "The HTTP proxy refused the connection"),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError, "The HTTP proxy refused the request"),
    (aiohttp.ClientConnectorError, httpx.ConnectError, "No connection"),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError, "The server closed the connection early"),
    (aiohttp.ClientOSError, httpx.ReadError, "The connection broke"),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol, "The URL cannot be requested"),
)


def _httpx_error(exc: aiohttp.ClientError) -> httpx.HTTPError:
    detail = str(exc) or type(exc).__name__
    for raised, mapped, meaning in _ERRORS:
        if isinstance(exc, raised):
            return mapped(f"{meaning} ({detail}).")
    return httpx.RemoteProtocolError(f"The server's answer is not valid HTTP/1.1 ({detail}).")
