"""Serving an ASGI app with Hypercorn's public interface: the plumbing the proxy and local-runtime share.

The socket is bound up front (so port 0 is known before serving) and handed to Hypercorn as `fd://`.
`serve()` blocks until SIGINT or SIGTERM, which stop accepting connections at once, let open answers finish
for SHUTDOWN_GRACE seconds, then cancel what is left (a second signal stops at once); `running()` serves on
a thread for the duration of a block.

What each connection is held to (`ConnectionRules`), with one deadline, `read_timeout`:
- A request's head must be whole within `read_timeout` of the connection opening or of its previous
  answer's end, or the connection is closed: Hypercorn's `keep_alive_timeout` is an idle timer that runs
  from a connection's start until h11 has read a whole head, and again after each answer
  (hypercorn 0.18.0, `asyncio/tcp_server.py` and `protocol/h11.py`). So a connection that sends nothing,
  or its head a byte at a time, and a kept-alive connection left idle, are all closed at the deadline.
- A request's body must arrive whole within `read_timeout` of its head (`RequestGuard`, in front of the
  app: servers/request_guard.py), or the request is answered 408 in the server's own error format and its
  connection closed; an answer given before the body is in (a refusal) closes the connection too.
- At most `max_connections` requests are served at once (`RequestGuard`): one more is answered 503 at once,
  in the server's error format, and its connection closed. A connection that has not sent a whole head
  holds no place; the deadline above closes it.
- A request h11 cannot read gets Hypercorn's own plain 400 (a head over MAX_HEAD_BYTES a 431) and a close.
  Hypercorn also accepts HTTP/2 over cleartext (prior knowledge or `Upgrade: h2c`) and WebSocket upgrades,
  and has no setting to turn them off: h2c requests are held to the same rules, WebSockets are refused.
  One gap remains (Hypercorn 0.18): a client that opens with HTTP/2's preface and then sends no request is
  not closed, since the idle timer stops on the preface's request line and HTTP/2 restarts it only when a
  stream closes (a strict xfail test holds it; docs/proxy.md says what to do beyond loopback).

When file descriptors run out, the event loop's "socket.accept() out of system resource" is logged once, as
a warning, rather than with a traceback at every retry. Hypercorn's own messages show with --debug; an app
that fails is logged as an error.

The server libraries (Hypercorn, Starlette) are imported from here and the servers' app modules only, when
a server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, cast

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.typing import ASGIFramework
from starlette.types import ASGIApp

from sagemaker_openai.servers.request_guard import ConnectionRules, RequestGuard

__all__ = ["MAX_HEAD_BYTES", "SHUTDOWN_GRACE", "AppServer", "ConnectionRules", "RequestGuard"]

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5
# A forced stop cancels what is left every FORCE_INTERVAL seconds, FORCE_ROUNDS times at most.
FORCE_INTERVAL = 0.1
FORCE_ROUNDS = 50
# A request line and headers beyond this get a 431 (bearer tokens are a few KiB).
MAX_HEAD_BYTES = 64 * 1024
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_OUT_OF_RESOURCES = "socket.accept() out of system resource"
_CONNECTION_TASK_FAILED = "Unhandled exception in client_connected_cb"


class AppServer:
    """`app` served by Hypercorn on HOST:PORT (port 0 picks a free one), each request held to `rules`;
    `headers` are added to every answer the app gives.

    The socket is bound here: OSError when the address is taken."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        rules: ConnectionRules,
        backlog: int = 1024,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._socket = _bound(host, port, backlog)
        self._name = rules.server_name
        bound_host, self.port = self._socket.getsockname()[:2]
        self.origin = (
            f"http://[{bound_host}]:{self.port}" if ":" in bound_host else f"http://{bound_host}:{self.port}"
        )
        self._guard = RequestGuard(app, rules, headers=[(k.encode(), v.encode()) for k, v in headers])
        self._config = _config(rules, backlog)
        self._stop_asked = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._resources_reported = False

    @property
    def connections_accepted(self) -> int:
        """Connections that have sent a request so far (those answered 503 for the limit included)."""
        return self._guard.connections_seen

    def serve(self) -> None:
        """Serve until a stop signal (or `stop()`), then close the socket."""
        try:
            asyncio.run(self._serve())
        except KeyboardInterrupt:  # a SIGINT before the stop signals are handled
            pass
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Ask for the same graceful stop a signal starts (from any thread)."""
        self._stop_asked.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stop.set)

    @contextlib.contextmanager
    def running(self, *, start_timeout: float = 10.0) -> Iterator[None]:
        """Serve on a background thread for the duration of the block, then stop and wait for the end."""
        thread = threading.Thread(target=self.serve, name=self._name, daemon=True)
        thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._guard.started.wait(0.005):
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start")
        try:
            yield
        finally:
            self.stop()
            thread.join(timeout=SHUTDOWN_GRACE + 5.0)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        self._stop = stop = asyncio.Event()
        self._loop = loop
        if self._stop_asked.is_set():
            stop.set()
        force = asyncio.Event()
        # Hypercorn wraps (and at its end closes) a duplicate of the socket once the app has started; this
        # object closes the original.
        listener = os.dup(self._socket.fileno())
        self._config.bind = [f"fd://{listener}"]
        # Hypercorn types ASGI messages as TypedDicts, Starlette and the guard as mappings: the same messages.
        app = cast(ASGIFramework, self._guard)
        serving = asyncio.ensure_future(
            hypercorn_serve(app, self._config, shutdown_trigger=stop.wait, mode="asgi")
        )
        forced = False
        try:
            with self._stop_signals(loop, stop, force):
                await _first_of(serving, stop.wait())
                # Hypercorn lets open answers run for its graceful_timeout, then cancels them once; an answer
                # that does not end on one cancel (a client that stopped reading, an app that unwinds slowly)
                # or Python 3.12's Server.wait_closed (which waits for every connection) would keep it
                # waiting, so the grace is bounded here, and a second stop signal ends it at once.
                await _first_of(serving, force.wait(), timeout=SHUTDOWN_GRACE + 1.0)
                if not serving.done():
                    forced = True
                    if not force.is_set():  # the grace ran out, rather than a second signal asking
                        log.warning("%s: cancelling unfinished answers at shutdown", self._name)
                    await _cancel_everything_else()
        finally:
            if not self._guard.started.is_set():  # the app never started: Hypercorn never took the socket
                os.close(listener)
        _settle(serving, forced=forced)

    @contextlib.contextmanager
    def _stop_signals(
        self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event, force: asyncio.Event
    ) -> Iterator[None]:
        # The first SIGINT or SIGTERM stops gracefully, a second one at once. A stop by signal is a server's
        # normal end.
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_signal() -> None:
            (force if stop.is_set() else stop).set()

        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal)
        try:
            yield
        finally:
            for sig in _STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Out of file descriptors, the loop stops accepting for a second and says so at each retry, with a
        # traceback: said once here, and the connections wait in the backlog meanwhile.
        if context.get("message") == _OUT_OF_RESOURCES:
            if not self._resources_reported:
                self._resources_reported = True
                log.warning(
                    "out of file descriptors (%s): new connections wait until some close; raise the limit "
                    "(ulimit -n) or lower --max-connections",
                    context.get("exception"),
                )
            return
        # A stop at once cancels the connections' tasks; on Python 3.11 asyncio's stream callback then
        # reports each as an error (it asks a cancelled task for its exception). Nothing failed.
        error = context.get("exception")
        if isinstance(error, asyncio.CancelledError):
            return
        # Over HTTP/2, DATA for a stream already answered (a refusal, a 408) ends Hypercorn 0.18's
        # connection task with a KeyError (protocol/h2.py looks the stream up): the connection closes, and
        # the answer was sent. Said with --debug only.
        if context.get("message") == _CONNECTION_TASK_FAILED and _only_key_errors(error):
            log.debug("%s: an HTTP/2 connection ended on data for an answered stream", self._name)
            return
        loop.default_exception_handler(context)


async def _first_of(
    task: asyncio.Future[None], event: Coroutine[Any, Any, Any], timeout: float | None = None
) -> None:
    """Wait until `task` ends, `event` returns or `timeout` passes."""
    waiting = asyncio.ensure_future(event)
    try:
        await asyncio.wait({task, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()


async def _cancel_everything_else() -> None:
    """Cancel every other task of the loop, again and again, until all have ended (or FORCE_ROUNDS
    passed): some of Hypercorn's connection tasks survive one cancel (a close that waits for a client
    that stopped reading), and asyncio.run would then wait for them forever."""
    this = asyncio.current_task()
    for _ in range(FORCE_ROUNDS):
        others = [task for task in asyncio.all_tasks() if task is not this]
        if not others:
            return
        for task in others:
            task.cancel()
        await asyncio.wait(others, timeout=FORCE_INTERVAL)


def _settle(serving: asyncio.Future[None], *, forced: bool) -> None:
    """Hypercorn's end: an error of its own is raised, unless the stop was forced (Hypercorn's cleanup,
    cancelled half-way, may then fail in ways that mean nothing)."""
    if not serving.done() or serving.cancelled():
        return
    error = serving.exception()
    if error is None:
        return
    if forced:
        log.debug("Hypercorn ended with %r after a forced stop", error)
        return
    raise error


def _only_key_errors(error: object) -> bool:
    if isinstance(error, BaseExceptionGroup):  # Hypercorn's connection task runs in a task group
        return error.split(KeyError)[1] is None
    return isinstance(error, KeyError)


def _config(rules: ConnectionRules, backlog: int) -> HypercornConfig:
    config = HypercornConfig()
    config.backlog = backlog
    # The idle timer that also bounds the wait for a request's head (see the module's docstring).
    config.keep_alive_timeout = rules.read_timeout
    config.graceful_timeout = SHUTDOWN_GRACE
    config.h11_max_incomplete_size = MAX_HEAD_BYTES
    config.include_server_header = False
    config.accesslog = None
    # The CLI's logging stays as it is: Hypercorn's messages show with --debug; its errors (an app that
    # fails) always.
    errors = log.getChild("hypercorn")
    errors.setLevel(logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.ERROR)
    config.errorlog = errors
    return config


def _bound(host: str, port: int, backlog: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener
