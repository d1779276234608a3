"""Examples keep keys out of process lists: examples/proxy_curl.sh hands curl the key on standard input, and
the header still reaches the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import ROOT

CURL = shutil.which("curl")
KEY = "proxy-key-0123456789abcdef"


class _RecordingProxy(BaseHTTPRequestHandler):
    """Answers every chat completion with one message, recording the Authorization header it got."""

    protocol_version = "HTTP/1.1"
    authorizations: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).authorizations.append(self.headers.get("Authorization"))
        payload = json.dumps({"choices": [{"message": {"content": "hello"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def recording_proxy() -> Iterator[str]:
    _RecordingProxy.authorizations = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingProxy)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_proxy_curl_sends_the_key_without_putting_it_in_argv(recording_proxy: str, tmp_path: Path) -> None:
    # A curl on PATH that records its arguments, then runs the real one.
    argv_log = tmp_path / "argv.log"
    shim = tmp_path / "bin" / "curl"
    shim.parent.mkdir()
    shim.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" >> "{argv_log}"\nexec "{CURL}" "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}", "PROXY_API_KEY": KEY}
    completed = subprocess.run(
        ["bash", str(ROOT / "examples" / "proxy_curl.sh"), recording_proxy, "qwen"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert _RecordingProxy.authorizations == [f"Bearer {KEY}"] * 3  # chat, stream and tool call
    arguments = argv_log.read_text()
    assert arguments.count("@-\n") == 3
    assert KEY not in arguments
