"""A local stand-in for the SageMaker runtime's OpenAI routes, on 127.0.0.1 only.

Each request is authenticated (unless auth is off), routed like SageMaker routes it, then answered with a
deterministic completion or relayed to an upstream OpenAI-compatible server (local_runtime.app). It is
served like the proxy, by Hypercorn on one event loop (sagemaker_openai.servers.serving): connections are
kept alive, at most `max_connections` requests are served at once (more get 503), and a paced or relayed
stream holds no thread.

Bad input cannot crash it: a request's head must arrive whole within `read_timeout` seconds of its
connection opening (or the previous answer) and its body within as long of its head (408 otherwise), idle
keep-alive connections are closed after as long, the Host header must name the address it listens on (DNS
rebinding), the token and route are checked before the body is read, and a request the HTTP parser cannot
read gets Hypercorn's plain 400. It listens on loopback only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sagemaker_openai.servers.local_runtime.app import LocalRuntimeApp, error_answer
from sagemaker_openai.servers.local_runtime.settings import LOOPBACK, RuntimeSettings
from sagemaker_openai.servers.serving import AppServer, ConnectionRules

SERVER_HEADER = ("server", "sagemaker-openai-local-runtime")
# Dozens of clients connect at once in benchmarks; a short backlog would make some retry their SYNs.
BACKLOG = 1024


class LocalRuntimeServer:
    """The stand-in on 127.0.0.1:PORT (port 0 picks a free one): `serve()` blocks until SIGINT or SIGTERM,
    `running()` serves on a background thread for the duration of a block."""

    def __init__(self, settings: RuntimeSettings, *, port: int = 0) -> None:
        self.settings = settings
        rules = ConnectionRules(
            server_name="local-runtime",
            error_answer=error_answer,
            read_timeout=settings.read_timeout,
            max_connections=settings.max_connections,
        )
        self._server = AppServer(
            LocalRuntimeApp(settings),
            host=LOOPBACK,
            port=port,
            rules=rules,
            backlog=BACKLOG,
            headers=[SERVER_HEADER],
        )
        self.port: int = self._server.port

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def connections_accepted(self) -> int:
        """Connections that have sent a request so far (those answered 503 for the limit included)."""
        return self._server.connections_accepted

    def base_urls(self) -> list[str]:
        return self.settings.layout.base_urls(self.origin)

    def serve(self) -> None:
        """Serve until SIGINT or SIGTERM (or `stop()`): open answers get a few seconds to finish."""
        self._server.serve()

    def stop(self) -> None:
        """Ask for the same graceful stop a signal starts (from any thread)."""
        self._server.stop()

    @contextmanager
    def running(self) -> Iterator[LocalRuntimeServer]:
        """Serve on a background thread for the duration of the block, then stop and close."""
        with self._server.running():
            yield self
