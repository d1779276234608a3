"""A local stand-in for the SageMaker runtime's OpenAI routes, on 127.0.0.1 only.

Each request is authenticated (unless auth is off), routed like SageMaker routes it, then answered with a
deterministic completion or relayed to an upstream OpenAI-compatible server. Connections are kept alive
and served by one thread each, at most `max_connections` at once (more get 503).

Bad input cannot stall or crash it: every request must arrive whole within `read_timeout` seconds (idle
keep-alive connections included), the Host header must name the address it listens on (DNS rebinding),
the token and route are checked before the body is read, and every malformed request gets a 400 in the
OpenAI error format rather than a dropped connection.
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sagemaker_openai.client.local_runtime.completions import (
    InvalidRequest,
    completion_body,
    reply_to,
    stream_chunks,
)
from sagemaker_openai.client.local_runtime.routes import EndpointLayout, RouteError
from sagemaker_openai.client.local_runtime.token_verifier import TokenRejected, TokenVerifier

if TYPE_CHECKING:
    from sagemaker_openai.client.local_runtime.upstream import Upstream

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# SageMaker's InvokeEndpoint payload limit.
MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_MODEL_NAME = "local-runtime"
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 256
# A refused request's body is read and dropped up to this size, so the connection stays usable.
_DISCARD_LIMIT = 64 * 1024
_DISCARD_WAIT = 0.5
_CONTENT_LENGTH = re.compile(r"[0-9]{1,10}")
_ERROR_TYPES = {400: "ValidationError", 401: "UnauthorizedError", 403: "AccessDeniedException"}


@dataclass(frozen=True)
class RuntimeSettings:
    """What the stand-in serves. `verifier` None means no authentication (for benchmarks)."""

    layout: EndpointLayout
    verifier: TokenVerifier | None
    # Given, a request naming another (non-empty) model gets vLLM's 404; None accepts any name.
    served_model_name: str | None = None
    upstream: Upstream | None = None
    # The status of every token refusal (AWS documents none for the route); None: 401, or 403 for a
    # token that is well formed but not accepted.
    refusal_status: int | None = None
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # Seconds before each streamed chunk, as a model generating tokens would take (for benchmarks).
    token_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.refusal_status not in (None, 400, 401, 403):
            raise ValueError("refusal_status must be 401, 403 or 400.")
        if self.read_timeout <= 0 or self.max_connections < 1:
            raise ValueError("read_timeout must be positive and max_connections at least 1.")


class LocalRuntimeServer(ThreadingHTTPServer):
    daemon_threads = True
    # Dozens of clients connect at once in benchmarks; the default backlog of 5 would make some retry SYNs.
    request_queue_size = 128

    def __init__(self, settings: RuntimeSettings, *, port: int = 0) -> None:
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        super().__init__((LOOPBACK, port), _Handler)
        self.allowed_hosts = frozenset({f"{LOOPBACK}:{self.port}", f"localhost:{self.port}"})

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def base_urls(self) -> list[str]:
        return self.settings.layout.base_urls(self.origin)

    def server_close(self) -> None:
        super().server_close()
        if self.settings.upstream is not None:
            self.settings.upstream.close()

    @contextmanager
    def running(self) -> Iterator[LocalRuntimeServer]:
        """Serve on a background thread for the duration of the block, then shut down and close."""
        # A short poll interval makes shutdown quick; the loop itself blocks in select between polls.
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="local-runtime", daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.shutdown()
            thread.join()
            self.server_close()


class _DeadlineReader(io.RawIOBase):
    """Socket reads that give up when `deadline` (time.monotonic) passes, however slowly bytes trickle in."""

    def __init__(self, connection: socket.socket, timeout: float) -> None:
        self._connection = connection
        self._timeout = timeout
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        timeout = self._timeout
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise TimeoutError("the request did not arrive within the read timeout")
        self._connection.settimeout(timeout)
        return self._connection.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server: LocalRuntimeServer
    protocol_version = "HTTP/1.1"
    # Answer even a request line that cannot be parsed with a status line and headers (HTTP/0.9 has none).
    default_request_version = "HTTP/1.1"
    server_version = "sagemaker-openai-local-runtime"
    sys_version = ""
    # Buffer each response into one write (flushed by handle_one_request), and send it without Nagle delay.
    wbufsize = -1
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection, self.server.settings.read_timeout)
        self.rfile = io.BufferedReader(self._reader)
        self._responded = False

    def handle_one_request(self) -> None:
        # The whole request (the wait for it on a kept-alive connection included) must arrive in time.
        self._reader.deadline = time.monotonic() + self.server.settings.read_timeout
        self._responded = False
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        # The request line and status only; headers (and so tokens) are never logged.
        log.debug("%s " + format, self.client_address[0], *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long...), in the OpenAI format."""
        self.close_connection = True
        reason = message or self.responses.get(code, ("Error",))[0]
        self._send_error(code, "BadRequestError" if code < 500 else "ServerError", f"{reason}.")

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        if self.path == "/ping":
            self._send_json(200, {"status": "Healthy"})
        else:
            self._send_error(
                404, "NotFound", "Not found: POST /endpoints/{endpoint}/openai/v1/chat/completions."
            )

    def do_POST(self) -> None:
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except TimeoutError:
            self.close_connection = True
            self._last_word(408, "RequestTimeout", "The request did not arrive within the read timeout.")
        except Exception:
            log.exception("local-runtime failed to answer %s", self.path)
            self.close_connection = True
            self._last_word(500, "ServerError", "local-runtime failed to answer; see its log.")

    def _last_word(self, status: int, error_type: str, message: str) -> None:
        """An error answer on a connection about to close, unless one was sent or the client is gone."""
        if self._responded:
            return
        try:
            self._send_error(status, error_type, message)
            self.wfile.flush()
        except OSError:
            pass

    def _post(self) -> None:
        target = self._admitted()
        if target is None:
            return
        body = self._read_body()
        if body is None:
            return
        if self.server.settings.upstream is not None:
            self._relay(self.server.settings.upstream, body)
        else:
            self._complete(target, body)

    def _admitted(self) -> str | None:
        """The model a request reaches, checked before its body is read; None after refusing it."""
        if not self._host_allowed():
            return None
        settings = self.server.settings
        if settings.verifier is not None:
            try:
                settings.verifier.verify(self.headers.get("Authorization"))
            except TokenRejected as exc:
                status = exc.status if exc.malformed else settings.refusal_status or exc.status
                self._refuse(status, _ERROR_TYPES.get(status, "BadRequestError"), exc.message)
                return None
        try:
            return settings.layout.route(self.path)
        except RouteError as exc:
            self._refuse(exc.status, exc.code, exc.message)
            return None

    def _complete(self, target: str, body: bytes) -> None:
        settings = self.server.settings
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise InvalidRequest("the body must be a JSON object")
            reply = reply_to(request, target=target)
        except RecursionError:
            self._send_error(
                400, "BadRequestError", "Invalid chat completion request: JSON nested too deeply."
            )
            return
        except ValueError as exc:
            self._send_error(400, "BadRequestError", f"Invalid chat completion request: {exc}")
            return
        requested = request.get("model")
        if settings.served_model_name is not None and requested and requested != settings.served_model_name:
            self._send_error(404, "NotFoundError", f"The model `{requested}` does not exist.")
            return
        model = requested or settings.served_model_name or DEFAULT_MODEL_NAME
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if request.get("stream") is True:
            options = request.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            self._start_stream(200, "text/event-stream")
            for chunk in stream_chunks(
                reply, completion_id=completion_id, created=created, model=model, include_usage=include_usage
            ):
                if settings.token_delay:
                    time.sleep(settings.token_delay)
                self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self._end_stream()
        else:
            self._send_json(
                200, completion_body(reply, completion_id=completion_id, created=created, model=model)
            )

    def _host_allowed(self) -> bool:
        """Only Host 127.0.0.1:PORT (or localhost:PORT): a page whose name rebinds to 127.0.0.1 is refused."""
        host = (self.headers.get("Host") or "").strip().lower()
        if host in self.server.allowed_hosts:
            return True
        self._refuse(
            400,
            "BadRequestError",
            f"The Host header must be {LOOPBACK}:{self.server.port}, where this listens.",
        )
        return False

    def _content_length(self) -> int | None:
        """The declared body size; None after answering 411, 400 or 413."""
        header = self.headers.get("Content-Length")
        if header is None:
            self.close_connection = True
            self._send_error(411, "ValidationError", "A Content-Length header is required.")
            return None
        if not _CONTENT_LENGTH.fullmatch(header.strip()):
            self.close_connection = True
            self._send_error(400, "BadRequestError", "The Content-Length header is not a number of bytes.")
            return None
        length = int(header)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_error(413, "ValidationError", f"The body exceeds {MAX_BODY_BYTES} bytes.")
            return None
        return length

    def _read_body(self) -> bytes | None:
        length = self._content_length()
        if length is None:
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            raise TimeoutError("the client closed the connection before sending the whole body")
        # The request is in: the answer (a relayed stream, say) is written under the plain timeout.
        self._reader.deadline = None
        self.connection.settimeout(self.server.settings.read_timeout)
        return body

    def _refuse(self, status: int, error_type: str, message: str) -> None:
        """Answer without having read the body: drop a small one so the connection stays usable."""
        header = (self.headers.get("Content-Length") or "").strip()
        length = int(header) if _CONTENT_LENGTH.fullmatch(header) else None
        if length is None or length > _DISCARD_LIMIT:
            self.close_connection = True
        else:
            # A client sends a small body right behind its headers; one that holds it back is not waited for.
            soon = time.monotonic() + _DISCARD_WAIT
            self._reader.deadline = min(self._reader.deadline or soon, soon)
            try:
                if len(self.rfile.read(length)) < length:
                    self.close_connection = True
            except OSError:
                self.close_connection = True
        self._send_error(status, error_type, message)

    def _relay(self, upstream: Upstream, body: bytes) -> None:
        import httpx  # noqa: PLC0415 - only relaying needs it; the stand-in starts without it

        streaming = False
        try:
            with upstream.chat_completion(body) as response:
                content_type = response.headers.get("Content-Type", "application/json")
                if content_type.startswith("text/event-stream"):
                    self._start_stream(response.status_code, content_type)
                    streaming = True
                    for piece in response.iter_raw():
                        self._write_chunk(piece)
                    self._end_stream()
                else:
                    self._send_bytes(response.status_code, content_type, response.read())
        except httpx.HTTPError as exc:
            if streaming:
                self.close_connection = True
                return
            self._send_error(
                502, "UpstreamError", f"The upstream {upstream.base_url} failed: {type(exc).__name__}."
            )

    def _send_json(self, status: int, payload: object, error_type: str | None = None) -> None:
        self._send_bytes(status, "application/json", json.dumps(payload).encode(), error_type)

    def _send_error(self, status: int, error_type: str, message: str) -> None:
        payload = {"error": {"message": message, "type": error_type, "code": status}}
        self._send_json(status, payload, error_type)

    def _send_bytes(self, status: int, content_type: str, data: bytes, error_type: str | None = None) -> None:
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type is not None:
            self.send_header("x-amzn-ErrorType", error_type)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, status: int, content_type: str) -> None:
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")


def _refuse_busy(connection: socket.socket) -> None:
    """Answer 503 on a connection over the limit, without a thread; the client may retry (the SDK does)."""
    body = json.dumps(
        {
            "error": {
                "message": "local-runtime is serving its maximum number of connections; retry.",
                "type": "ServiceUnavailable",
                "code": 503,
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nx-amzn-ErrorType: ServiceUnavailable\r\n"
        "Connection: close\r\n\r\n"
    )
    try:
        connection.settimeout(1.0)
        connection.sendall(head.encode() + body)
    except OSError:
        pass
