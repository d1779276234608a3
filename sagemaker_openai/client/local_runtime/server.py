"""A local stand-in for the SageMaker runtime's OpenAI routes, on 127.0.0.1 only.

Each request is authenticated (unless auth is off), routed like SageMaker routes it, then answered with a
deterministic completion or relayed to an upstream OpenAI-compatible server. Connections are kept alive
and served by one thread each.
"""

from __future__ import annotations

import json
import logging
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


@dataclass(frozen=True)
class RuntimeSettings:
    """What the stand-in serves. `verifier` None means no authentication (for benchmarks)."""

    layout: EndpointLayout
    verifier: TokenVerifier | None
    # Given, a request naming another (non-empty) model gets vLLM's 404; None accepts any name.
    served_model_name: str | None = None
    upstream: Upstream | None = None
    # Seconds before each streamed chunk, as a model generating tokens would take (for benchmarks).
    token_delay: float = 0.0


class LocalRuntimeServer(ThreadingHTTPServer):
    daemon_threads = True
    # Dozens of clients connect at once in benchmarks; the default backlog of 5 would make some retry SYNs.
    request_queue_size = 128

    def __init__(self, settings: RuntimeSettings, *, port: int = 0) -> None:
        self.settings = settings
        super().__init__((LOOPBACK, port), _Handler)

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"

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


class _Handler(BaseHTTPRequestHandler):
    server: LocalRuntimeServer
    protocol_version = "HTTP/1.1"
    server_version = "sagemaker-openai-local-runtime"
    sys_version = ""
    # Buffer each response into one write (flushed by handle_one_request), and send it without Nagle delay.
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # The request line and status only; headers (and so tokens) are never logged.
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
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
        except Exception:
            log.exception("local-runtime failed to answer %s", self.path)
            self.close_connection = True

    def _post(self) -> None:
        body = self._read_body()
        if body is None:
            return
        settings = self.server.settings
        if settings.verifier is not None:
            try:
                settings.verifier.verify(self.headers.get("Authorization"))
            except TokenRejected as exc:
                error_type = "UnauthorizedError" if exc.status == 401 else "AccessDeniedException"
                self._send_error(exc.status, error_type, exc.message)
                return
        try:
            target = settings.layout.route(self.path)
        except RouteError as exc:
            self._send_error(exc.status, exc.code, exc.message)
            return
        if settings.upstream is not None:
            self._relay(settings.upstream, body)
            return
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise InvalidRequest("the body must be a JSON object")
            reply = reply_to(request, target=target)
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

    def _read_body(self) -> bytes | None:
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.close_connection = True
            self._send_error(411, "ValidationError", "A Content-Length header is required.")
            return None
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_error(413, "ValidationError", f"The body exceeds {MAX_BODY_BYTES} bytes.")
            return None
        return self.rfile.read(length)

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
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type is not None:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, status: int, content_type: str) -> None:
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
