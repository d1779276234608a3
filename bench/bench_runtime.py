"""Requests per second and latency through local-runtime, with and without bearer-token auth.

Starts two local-runtime processes on 127.0.0.1 (one verifying tokens, one with --no-auth) and sends
--requests non-streaming chat completions per run through the OpenAI SDK at each concurrency: N threads
share one client, so one connection pool and one token. At concurrency 1 the two modes alternate request
by request within a run; above it, whole runs alternate. The table shows the median of --runs runs.
With auth the pool carries BearerTokenAuth and the server verifies each distinct token once, then
remembers it; without, the pool sends the SDK's api key header and the server checks nothing.

    .venv/bin/python bench/bench_runtime.py [--requests 2000] [--runs 3] [--concurrency 1 32] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REGION, Series, serving, table, use_fake_credentials

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletionMessageParam

MODES = ("auth", "no-auth")
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Reply with a short sentence about benchmarks."}
]


@dataclass(frozen=True)
class RunResult:
    requests_per_second: float
    median_latency: float


@contextmanager
def local_runtime(env: dict[str, str], *extra: str) -> Iterator[str]:
    """A local-runtime subprocess; yields its OpenAI base URL."""
    arguments = ["local-runtime", "--port", "0", "--endpoint", "bench", *extra]
    with serving(arguments, env, "local-runtime listening on ") as (_, origin):
        yield f"{origin}/endpoints/bench/openai/v1"


def run_requests(client: OpenAI, requests: int, concurrency: int) -> RunResult:
    """Send `requests` completions from `concurrency` threads sharing one client (one pool, one token)."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    claim = threading.Lock()

    def worker() -> None:
        while True:
            with claim:
                if next(remaining, None) is None:
                    return
            sent = time.perf_counter()
            client.chat.completions.create(model="", messages=MESSAGES)
            latencies.append(time.perf_counter() - sent)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return RunResult(requests / (time.perf_counter() - started), statistics.median(latencies))


def run_interleaved(clients: dict[str, OpenAI], requests: int) -> dict[str, RunResult]:
    """`requests` sequential completions per client, alternating between the clients request by request."""
    latencies: dict[str, list[float]] = {mode: [] for mode in clients}
    for index in range(requests * len(clients)):
        mode = list(clients)[index % len(clients)]
        sent = time.perf_counter()
        clients[mode].chat.completions.create(model="", messages=MESSAGES)
        latencies[mode].append(time.perf_counter() - sent)
    return {
        mode: RunResult(len(values) / sum(values), statistics.median(values))
        for mode, values in latencies.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per run (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per configuration (default 3)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32], help="default: 1 32")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    env = use_fake_credentials()

    from sagemaker_openai.client import BearerTokenAuth, connection_pool, openai_client

    results: dict[tuple[str, int], list[RunResult]] = {}
    with ExitStack() as stack:
        urls = {
            "auth": stack.enter_context(local_runtime(env, "--region", REGION)),
            "no-auth": stack.enter_context(local_runtime(env, "--no-auth")),
        }
        auth = BearerTokenAuth(REGION)
        # The same client either way; only the pool's auth differs (none: the SDK's api key header).
        clients = {
            mode: stack.enter_context(
                openai_client(
                    urls[mode],
                    http_client=connection_pool(auth=auth if mode == "auth" else None),
                )
            )
            for mode in MODES
        }
        for concurrency in args.concurrency:
            for client in clients.values():
                run_requests(client, 4 * concurrency, concurrency)  # warm up: connections, token
            for _ in range(args.runs):
                if concurrency == 1:
                    # Alternate request by request, so drift in the machine's speed hits both modes alike.
                    for mode, result in run_interleaved(clients, args.requests).items():
                        results.setdefault((mode, 1), []).append(result)
                    continue
                for mode in MODES if len(results.get(("auth", concurrency), [])) % 2 == 0 else MODES[::-1]:
                    results.setdefault((mode, concurrency), []).append(
                        run_requests(clients[mode], args.requests, concurrency)
                    )

    rps = {key: Series(f"{key}", [r.requests_per_second for r in runs]) for key, runs in results.items()}
    latency = {key: Series(f"{key}", [r.median_latency for r in runs]) for key, runs in results.items()}
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "mode": mode,
                        "concurrency": c,
                        "requests_per_second": rps[(mode, c)].values,
                        "median_latency_seconds": latency[(mode, c)].values,
                    }
                    for mode, c in results
                ],
                indent=2,
            )
        )
        return 0
    rows = [
        [
            mode,
            str(c),
            f"{rps[(mode, c)].median:,.0f}",
            f"{latency[(mode, c)].median * 1e3:.3f}",
            " ".join(f"{v:,.0f}" for v in rps[(mode, c)].values),
        ]
        for c in args.concurrency
        for mode in MODES
    ]
    print(
        f"local-runtime through the OpenAI SDK: median of {args.runs} alternating runs "
        f"of {args.requests} requests"
    )
    print(table(["mode", "concurrency", "requests/s", "median latency (ms)", "runs (requests/s)"], rows))
    for c in args.concurrency:
        overhead = latency[("auth", c)].median / latency[("no-auth", c)].median - 1
        print(
            f"auth adds {overhead * 100:+.1f} % to the median latency at concurrency {c}"
            + (" (target: under 2 %)" if c == 1 else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
