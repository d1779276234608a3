"""The benchmark scripts run end to end (with tiny counts: these are not measurements)."""

from __future__ import annotations

import subprocess
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


@pytest.fixture(scope="module")
def bench_outputs() -> dict[str, str]:
    """The scripts, started together: each spends most of its time importing SDKs, so they overlap well."""
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(BENCH / script), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (script, *arguments) in RUNS.items()
    }
    outputs = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        outputs[name] = stdout
    return outputs


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
