"""The real command in a subprocess: the console script's error line, and local-runtime's start and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sagemaker_openai.client.auth import BearerTokenAuth

from .helpers import REGION, start_local_runtime

CONSOLE_SCRIPT = Path(sys.executable).with_name("sagemaker-openai")


@pytest.fixture
def runtime_process() -> Iterator[tuple[subprocess.Popen[str], str, float]]:
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    started = time.monotonic()
    process, origin = start_local_runtime(
        "--endpoint", "ep", "--inference-component", "ic-a", env=env, stderr=subprocess.PIPE
    )
    listening_after = time.monotonic() - started
    try:
        yield process, origin, listening_after
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_local_runtime_listens_fast_and_checks_tokens(
    runtime_process: tuple[subprocess.Popen[str], str, float],
) -> None:
    process, origin, listening_after = runtime_process
    assert listening_after < 5.0
    assert process.stdout is not None
    assert (
        process.stdout.readline() == f"  base URL {origin}/endpoints/ep/inference-components/ic-a/openai/v1\n"
    )
    url = f"{origin}/endpoints/ep/inference-components/ic-a/openai/v1/chat/completions"
    body = {"messages": [{"role": "user", "content": "ping"}]}
    assert httpx.post(url, json=body).status_code == 401
    with httpx.Client(auth=BearerTokenAuth(REGION)) as client:
        answer = client.post(url, json=body)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "local-runtime ic-a: ping"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None
    assert process.stderr.read() == ""


def test_console_script_prints_one_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    completed = subprocess.run(
        [str(CONSOLE_SCRIPT), "outputs", "--outputs-file", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == (
        f"Error: outputs file {missing} does not exist; "
        f"run `cdk deploy --outputs-file {missing}` or fix the path\n"
    )


def test_local_runtime_flags_set_the_refusal_status_and_the_read_timeout() -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    process, origin = start_local_runtime(
        "--endpoint",
        "ep",
        "--refusal-status",
        "400",
        "--read-timeout",
        "0.3",
        "--max-connections",
        "4",
        env=env,
    )
    try:
        refused = httpx.post(f"{origin}/endpoints/ep/openai/v1/chat/completions", json={"messages": []})
        assert refused.status_code == 400
        assert refused.json()["error"]["message"].startswith("Missing bearer token")
        port = int(origin.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as kept:
            kept.sendall(f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            started = time.monotonic()
            received = b""
            while chunk := kept.recv(65536):  # the answer, then the close once idle (whole seconds)
                received += chunk
            assert received.startswith(b"HTTP/1.1 200 ")
            assert received.endswith(b'{"status": "Healthy"}')
            assert time.monotonic() - started < 3
    finally:
        process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_lets_an_open_answer_finish_and_a_second_one_stops_at_once(second: int) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    process, origin = start_local_runtime(
        "--endpoint", "ep", "--no-auth", "--token-delay", "0.5", env=env, stderr=subprocess.PIPE
    )
    url = f"{origin}/endpoints/ep/openai/v1/chat/completions"
    body = {"messages": [{"role": "user", "content": "one two three four five six"}], "stream": True}
    try:
        with httpx.stream("POST", url, json=body, timeout=10) as answer:
            chunks = answer.iter_bytes()
            next(chunks)
            process.send_signal(signal.SIGINT)
            next(chunks)  # the answer goes on after the first signal
            assert process.poll() is None
            process.send_signal(second)
            started = time.monotonic()
            assert process.wait(timeout=5) == 0
            assert time.monotonic() - started < 1.5
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=10)
    assert stderr == ""
