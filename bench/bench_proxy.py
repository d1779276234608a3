"""What `sagemaker-openai proxy` adds: streamed latency against calling local-runtime directly, CPU, memory.

Starts local-runtime (verifying tokens, pacing its streamed chunks --token-delay SECONDS apart so that on
two cores it waits like a model generating tokens instead of competing for the CPU), the proxy in front of
it, and bench/raw_relay.py (the floor: a relay that copies bytes without any HTTP work), all as
subprocesses on 127.0.0.1. At each concurrency, runs alternate between calling local-runtime directly (with
BearerTokenAuth), through the proxy and through the raw relay; each request streams an answer of about
--words chunks and is timed to its last byte. The table shows p50 and p99 over all runs, the CPU time per
request of the proxy and of the raw relay (from /proc, Linux only), and the proxy's memory at rest and at
its peak (--json also gives the raw relay's latencies, which reflect its naive pool more than the floor).
Last, bench/proxy_app_cpu.py measures the proxy's own code per streamed request, in process and without
sockets.
Goals: under 1 ms added at p50 at concurrency 1, under 5 ms added at p99 at concurrency 64, under 1 ms
of proxy CPU per streamed request.

    .venv/bin/python bench/bench_proxy.py [--requests 500] [--runs 3] [--concurrency 1 64]
        [--token-delay 0.005] [--words 30] [--app-requests 2000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REGION, alternate, serving, table, use_fake_credentials
from proxy_app_cpu import app_cpu_per_request

MODES = ("direct", "proxy", "raw relay")
RELAYS = MODES[1:]
BENCH = Path(__file__).resolve().parent
IC_PATH = "/endpoints/bench/inference-components/ic/openai/v1/chat/completions"
SERVED = "bench-model"
RUNTIME_BASE = f"https://runtime.sagemaker.{REGION}.amazonaws.com/endpoints/bench/inference-components"


@dataclass
class Process:
    popen: subprocess.Popen[str]
    url: str

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mib(self, key: str) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@dataclass
class Measured:
    latencies: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    cpu: dict[tuple[str, int], list[float]] = field(default_factory=dict)


@contextmanager
def command(arguments: list[str], env: dict[str, str], prefix: str) -> Iterator[Process]:
    with serving(arguments, env, prefix) as (popen, url):
        yield Process(popen, url)


@contextmanager
def raw_relay(runtime_origin: str, env: dict[str, str]) -> Iterator[Process]:
    arguments = [str(BENCH / "raw_relay.py"), runtime_origin, IC_PATH]
    with serving(arguments, env, "raw relay listening on ", module=None) as (popen, url):
        yield Process(popen, url)


def outputs_file(directory: Path) -> Path:
    model = {
        "base_url": f"{RUNTIME_BASE}/ic/openai/v1",
        "inference_component_name": "ic",
        "served_model_name": SERVED,
    }
    config = {
        "schema_version": 1,
        "stack_name": "Bench",
        "mode": "inference_component",
        "region": REGION,
        "endpoint_name": "bench",
        "endpoint_arn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/bench",
        "invoker_role_arn": "arn:aws:iam::123456789012:role/bench",
        "invoker_policy_arn": "arn:aws:iam::123456789012:policy/bench",
        "models": {"ic": model},
    }
    path = directory / "outputs.json"
    path.write_text(json.dumps({"Bench": {"ClientConfig": json.dumps(config)}}))
    return path


async def run_requests(
    client: httpx.AsyncClient, url: str, body: bytes, requests: int, concurrency: int
) -> list[float]:
    """`requests` streamed completions from `concurrency` tasks; each one's time to its last byte."""
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def worker() -> None:
        while next(remaining, None) is not None:
            sent = time.perf_counter()
            async with client.stream(
                "POST", url, content=body, headers={"Content-Type": "application/json"}
            ) as response:
                async for _ in response.aiter_raw():
                    pass
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}")
            latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure_all(
    args: argparse.Namespace, runtime_origin: str, relays: dict[str, Process], measured: Measured
) -> tuple[float, float]:
    from sagemaker_openai.client import BearerTokenAuth

    prompt = " ".join(f"w{index}" for index in range(args.words))
    body = {"stream": True, "messages": [{"role": "user", "content": prompt}]}
    urls = {"direct": f"{runtime_origin}{IC_PATH}"}
    urls.update({mode: f"{relay.url}/chat/completions" for mode, relay in relays.items()})
    served = json.dumps({**body, "model": SERVED}).encode()
    bodies = {"direct": served, "proxy": json.dumps({**body, "model": "ic"}).encode(), "raw relay": served}
    proxy = relays["proxy"]
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    timeout = httpx.Timeout(120.0)
    async with (
        httpx.AsyncClient(auth=BearerTokenAuth(REGION), limits=limits, timeout=timeout) as direct,
        httpx.AsyncClient(limits=limits, timeout=timeout) as through_relays,
    ):
        clients = {"direct": direct, "proxy": through_relays, "raw relay": through_relays}
        for mode in MODES:  # warm up: connections, the token on both sides
            await run_requests(clients[mode], urls[mode], bodies[mode], 8, 4)
        at_rest = proxy.memory_mib("VmRSS")
        for concurrency in args.concurrency:
            pending: list[str] = []
            alternate(args.runs, MODES, pending.append)
            for mode in pending:
                relay = relays.get(mode)
                cpu_before = relay.cpu_seconds() if relay else 0.0
                latencies = await run_requests(
                    clients[mode], urls[mode], bodies[mode], args.requests, concurrency
                )
                if relay:
                    cpu = relay.cpu_seconds() - cpu_before
                    measured.cpu.setdefault((mode, concurrency), []).append(cpu / args.requests)
                measured.latencies.setdefault((mode, concurrency), []).extend(latencies)
        return at_rest, proxy.memory_mib("VmHWM")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500, help="requests per run (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per mode (default 3)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64], help="default: 1 64")
    parser.add_argument(
        "--token-delay", type=float, default=0.005, help="seconds before each chunk (default 0.005)"
    )
    parser.add_argument("--words", type=int, default=30, help="words in the prompt, echoed (default 30)")
    parser.add_argument(
        "--app-requests",
        type=int,
        default=2000,
        help="requests for the in-process measure of the proxy's own CPU (default 2000)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    env = use_fake_credentials()

    measured = Measured()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as directory:
        runtime = stack.enter_context(
            command(
                [
                    "local-runtime",
                    "--port",
                    "0",
                    "--endpoint",
                    "bench",
                    "--inference-component",
                    "ic",
                    "--served-model-name",
                    SERVED,
                    "--token-delay",
                    str(args.token_delay),
                ],
                env,
                "local-runtime listening on ",
            )
        )
        relays = {
            "proxy": stack.enter_context(
                command(
                    ["proxy", "--outputs-file", str(outputs_file(Path(directory))), "--port", "0"],
                    {**env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url},
                    "proxy listening on ",
                )
            ),
            "raw relay": stack.enter_context(raw_relay(runtime.url, env)),
        }
        at_rest, peak = asyncio.run(measure_all(args, runtime.url, relays, measured))

    figures = [summary(measured, concurrency) for concurrency in args.concurrency]
    app_cpu = app_cpu_per_request(args.app_requests, args.words + 3)
    if args.json:
        report = {
            "figures": figures,
            "memory_at_rest_mib": at_rest,
            "memory_peak_mib": peak,
            "proxy_app_cpu_ms_per_request_no_sockets": app_cpu * 1e3,
        }
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"Streamed answers of {args.words + 3} chunks, {args.token_delay * 1e3:g} ms apart at local-runtime; "
        f"{args.runs} alternating runs of {args.requests} requests per mode"
    )
    headers = [
        "concurrency",
        "direct p50 / p99 (ms)",
        "proxy p50 / p99 (ms)",
        "added p50 / p99 (ms)",
        "proxy CPU per request (ms)",
        "raw relay CPU per request (ms)",
    ]
    rows = [
        [
            str(f["concurrency"]),
            f"{f['direct_p50_ms']:.2f} / {f['direct_p99_ms']:.2f}",
            f"{f['proxy_p50_ms']:.2f} / {f['proxy_p99_ms']:.2f}",
            f"{f['proxy_added_p50_ms']:+.2f} / {f['proxy_added_p99_ms']:+.2f}",
            f"{f['proxy_cpu_ms_per_request']:.2f}",
            f"{f['raw_relay_cpu_ms_per_request']:.2f}",
        ]
        for f in figures
    ]
    print(table(headers, rows))
    print(f"proxy memory: {at_rest:.0f} MiB at rest, {peak:.0f} MiB at its peak")
    print(
        f"proxy app CPU per streamed request, in process without sockets (bench/proxy_app_cpu.py): "
        f"{app_cpu * 1e3:.2f} ms"
    )
    print(
        "goals: under 1 ms added at p50 at concurrency 1, under 5 ms added at p99 at concurrency 64, "
        "under 1 ms of proxy CPU per streamed request; the raw relay is the floor on this machine"
    )
    return 0


def summary(measured: Measured, concurrency: int) -> dict[str, float]:
    direct = measured.latencies[("direct", concurrency)]
    figures = {
        "concurrency": concurrency,
        "direct_p50_ms": statistics.median(direct) * 1e3,
        "direct_p99_ms": percentile(direct, 0.99) * 1e3,
    }
    for mode in RELAYS:
        relayed = measured.latencies[(mode, concurrency)]
        key = mode.replace(" ", "_")
        figures[f"{key}_p50_ms"] = statistics.median(relayed) * 1e3
        figures[f"{key}_p99_ms"] = percentile(relayed, 0.99) * 1e3
        figures[f"{key}_added_p50_ms"] = (statistics.median(relayed) - statistics.median(direct)) * 1e3
        figures[f"{key}_added_p99_ms"] = (percentile(relayed, 0.99) - percentile(direct, 0.99)) * 1e3
        figures[f"{key}_cpu_ms_per_request"] = statistics.median(measured.cpu[(mode, concurrency)]) * 1e3
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
