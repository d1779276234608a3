"""Plain-HTTP requests that carry a credential go straight to their host, never through a forward proxy.

httpx sends an http:// request through HTTP_PROXY or ALL_PROXY when either is set (its `trust_env`), and a
forward proxy reads a plain-HTTP request in clear, Authorization header included. The kit sends a bearer
token or an API key over plain HTTP only to loopback hosts (`check_token_destination`,
`check_upstream_url`), so its pools mount a direct transport on every http:// URL: a loopback target is
reached directly whatever the environment says. HTTPS keeps following the proxy settings, since a proxy
only tunnels it (CONNECT) and cannot read it.
"""

from __future__ import annotations

import httpx

# The URL pattern httpx matches before its environment proxies ("all://" and a scheme-wide "http://").
PLAIN_HTTP = "http://"


def direct_plain_http(limits: httpx.Limits) -> dict[str, httpx.BaseTransport | None]:
    """`mounts=` for an httpx.Client: plain HTTP over a transport of its own, never a proxy."""
    return {PLAIN_HTTP: httpx.HTTPTransport(limits=limits)}


def async_direct_plain_http(limits: httpx.Limits) -> dict[str, httpx.AsyncBaseTransport | None]:
    """`mounts=` for an httpx.AsyncClient: plain HTTP over a transport of its own, never a proxy."""
    return {PLAIN_HTTP: httpx.AsyncHTTPTransport(limits=limits)}
