"""The benchmark scripts run end to end (with tiny counts: these are not measurements)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
RUNS = {
    "auth": ["bench_auth.py", "--requests", "3", "--runs", "1"],
    "runtime": ["bench_runtime.py", "--requests", "4", "--runs", "1", "--concurrency", "1", "2"],
    "proxy": [
        *("bench_proxy.py", "--requests", "4", "--runs", "1", "--concurrency", "1", "2"),
        *("--words", "3", "--app-requests", "5"),
    ],
}


def run_script(script: str, arguments: list[str]) -> str:
    """The script's `main(arguments)` in this process, which has already paid for the SDK imports that
    make up most of a script's run as its own process; returns what it printed. The servers it measures
    (local-runtime, the proxy, the raw relay) still run as subprocesses. The script puts bench/ on
    sys.path and fake AWS keys in os.environ: both are restored after."""
    spec = importlib.util.spec_from_file_location(f"bench_script_{Path(script).stem}", BENCH / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved_environ, saved_path = dict(os.environ), list(sys.path)
    printed = io.StringIO()
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        with contextlib.redirect_stdout(printed):
            assert module.main(arguments) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path
        del sys.modules[spec.name]
    return printed.getvalue()


@pytest.fixture(scope="module")
def bench_outputs() -> dict[str, str]:
    return {name: run_script(script, arguments) for name, (script, *arguments) in RUNS.items()}


def test_bench_auth_compares_both_patterns(bench_outputs: dict[str, str]) -> None:
    output = bench_outputs["auth"]
    assert "| generate_token per request (AWS docs pattern) |" in output
    assert "| BearerTokenAuth (cached token)" in output
    assert "cheaper than generating a token per request (target: 50x)." in output


def test_bench_runtime_measures_both_modes_at_each_concurrency(bench_outputs: dict[str, str]) -> None:
    output = bench_outputs["runtime"]
    rows = [
        line.split("|")[1:3] for line in output.splitlines() if line.startswith("| ") and "mode" not in line
    ]
    assert [(mode.strip(), concurrency.strip()) for mode, concurrency in rows] == [
        ("auth", "1"),
        ("no-auth", "1"),
        ("auth", "2"),
        ("no-auth", "2"),
    ]
    assert "to the median latency at concurrency 1 (target: under 2 %)" in output


def test_bench_proxy_compares_direct_and_proxied_streams(bench_outputs: dict[str, str]) -> None:
    output = bench_outputs["proxy"]
    rows = [line.split("|")[1].strip() for line in output.splitlines() if line.startswith("| ")]
    assert rows == ["concurrency", "1", "2"]
    header = output.splitlines()[1]
    assert "| proxy CPU per request (ms) | raw relay CPU per request (ms) |" in header
    assert "proxy memory: " in output
    assert "proxy app CPU per streamed request, in process without sockets" in output
    assert output.splitlines()[-1].startswith("goals: under 1 ms added at p50 at concurrency 1")
