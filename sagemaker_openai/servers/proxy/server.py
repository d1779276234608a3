"""Serving the proxy app on HOST:PORT, through the plumbing it shares with local-runtime (serving.py).

SIGINT and SIGTERM stop accepting connections at once, let open answers finish for SHUTDOWN_GRACE seconds,
then cancel what is left and close the pool; a second signal stops at once. A connection whose request head
has not arrived `read_timeout` seconds after it opened is closed; a body that has not arrived as long after
its head gets a 408 in the OpenAI error format, and a request past `max_connections` at once a 503; a
request the HTTP parser cannot read gets Hypercorn's plain 400.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from starlette.types import ASGIApp

from sagemaker_openai.servers.proxy.routes import openai_error
from sagemaker_openai.servers.serving import SHUTDOWN_GRACE, AppServer, ConnectionRules
from sagemaker_openai.servers.serving_limits import DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT

__all__ = ["SHUTDOWN_GRACE", "ProxyServer"]


class ProxyServer:
    """The app on HOST:PORT; `serve()` blocks until a stop signal, `running()` serves on a thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        backlog: int = 1024,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        rules = ConnectionRules(
            server_name="the proxy",
            error_answer=_error_answer,
            read_timeout=read_timeout,
            max_connections=max_connections,
        )
        self._server = AppServer(app, host=host, port=port, rules=rules, backlog=backlog)
        self.origin = self._server.origin

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def serve(self) -> None:
        self._server.serve()

    def stop(self) -> None:
        """Ask for the same graceful stop a signal starts (from any thread)."""
        self._server.stop()

    @contextlib.contextmanager
    def running(self, *, start_timeout: float = 10.0) -> Iterator[ProxyServer]:
        with self._server.running(start_timeout=start_timeout):
            yield self


def _error_answer(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    kind = "invalid_request_error" if status < 500 else "api_error"
    return [], json.dumps(openai_error(message, kind=kind, code=None)).encode()
