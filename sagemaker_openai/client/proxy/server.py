"""Serving the proxy app with uvicorn on a socket bound up front (so port 0 is known before serving).

SIGINT and SIGTERM stop accepting connections at once, let open answers finish for SHUTDOWN_GRACE seconds,
then cancel what is left and close the pool; a second SIGINT stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Generator, Iterator

import uvicorn
from starlette.types import ASGIApp

SHUTDOWN_GRACE = 5
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises the signal after its graceful shutdown, which would end the CLI with a
        # KeyboardInterrupt or a kill; a stop by signal is the proxy's normal end, so it is not re-raised.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class ProxyServer:
    """The app on HOST:PORT; `serve()` blocks until a stop signal, `running()` serves on a thread."""

    def __init__(self, app: ASGIApp, *, host: str, port: int, backlog: int = 1024) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        self._socket = socket.socket(family, kind, proto)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(address)
            self._socket.listen(backlog)
        except OSError:
            self._socket.close()
            raise
        bound_host, bound_port = self._socket.getsockname()[:2]
        self.origin = (
            f"http://[{bound_host}]:{bound_port}"
            if ":" in bound_host
            else f"http://{bound_host}:{bound_port}"
        )
        config = uvicorn.Config(
            app,
            lifespan="on",
            # The CLI's logging stays as it is: uvicorn's lines show with --debug only.
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            ws="none",
            backlog=backlog,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
        )
        self._server = _Server(config)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Ask for the same graceful stop a signal starts (from any thread)."""
        self._server.should_exit = True

    @contextlib.contextmanager
    def running(self, *, start_timeout: float = 10.0) -> Iterator[ProxyServer]:
        thread = threading.Thread(target=self.serve, name="sagemaker-openai-proxy", daemon=True)
        thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the proxy did not start")
            time.sleep(0.01)
        try:
            yield self
        finally:
            self.stop()
            thread.join(timeout=SHUTDOWN_GRACE + 5.0)
