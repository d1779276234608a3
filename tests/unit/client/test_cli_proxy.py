"""`sagemaker-openai proxy`'s refusals: one "Error: ..." line each, before anything listens."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from .helpers import client_config, write_outputs_file
from .test_cli import Cli


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    return write_outputs_file(tmp_path / "outputs.json", {"Demo": {"ClientConfig": client_config()}})


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (
            ["--host", "0.0.0.0"],
            "--host 0.0.0.0 would let other machines call your models with your AWS identity; pass "
            "--api-key-env VAR as well (callers then send that key), or keep the default 127.0.0.1",
        ),
        (
            ["--api-key-env", "BLANK_PROXY_KEY"],
            "environment variable BLANK_PROXY_KEY (--api-key-env) is not set or empty; set it to the key",
        ),
        (["--port", "70000"], "--port 70000 is not a TCP port; use 0 to 65535 (0 picks a free one)"),
        (
            ["--wait-for-capacity", "-1"],
            "--wait-for-capacity must be 0 or more and --timeout more than 0 seconds",
        ),
        (["--read-timeout", "0"], "--read-timeout must be a positive number of seconds"),
        (["--read-timeout", "nan"], "--read-timeout must be a positive number of seconds"),
        (["--max-connections", "0"], "--max-connections must be at least 1"),
    ],
)
def test_refusals_are_one_line(
    cli: Cli,
    outputs: Path,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    error: str,
) -> None:
    monkeypatch.setenv("BLANK_PROXY_KEY", " ")
    result = cli("proxy", "--outputs-file", str(outputs), *arguments)
    assert result.error == error
    assert result.stdout == ""


def test_a_port_in_use_is_one_line(cli: Cli, outputs: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("proxy", "--outputs-file", str(outputs), "--port", str(port))
    assert result.error == (
        f"cannot listen on 127.0.0.1:{port} (Address already in use); "
        "pick another --port (0 picks a free one) or --host"
    )


def test_a_missing_stack_is_the_usual_error(cli: Cli) -> None:
    assert cli("proxy").error == (
        "pass --outputs-file FILE (written by `cdk deploy --outputs-file`) or --stack NAME"
    )


def test_without_the_proxy_extra_the_error_says_what_to_install(
    cli: Cli, outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (
        "sagemaker_openai.servers.proxy.app",
        "sagemaker_openai.servers.proxy.server",
        "sagemaker_openai.servers.serving",
    ):
        monkeypatch.delitem(sys.modules, module, raising=False)
    for module in [name for name in sys.modules if name.split(".")[0] == "hypercorn"] + ["hypercorn"]:
        monkeypatch.setitem(sys.modules, module, None)
    assert cli("proxy", "--outputs-file", str(outputs)).error == (
        "the proxy needs its server libraries (hypercorn is missing): pip install 'sagemaker-openai[proxy]'"
    )
