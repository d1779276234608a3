"""Per-request cost of BearerTokenAuth against generating a token per request (the pattern in AWS's docs).

Both run the httpx auth flow that puts the Authorization header on a request; no request is sent. The
figure per run is the mean cost per request over --requests requests; the table shows the median of
--runs alternating runs.

    .venv/bin/python bench/bench_auth.py [--requests 2000] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Generator, Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REGION, Series, alternate, table, use_fake_credentials

PER_REQUEST = "generate_token per request (AWS docs pattern)"
CACHED = "BearerTokenAuth (cached token)"


class PerRequestTokenAuth(httpx.Auth):
    """The pattern the AWS docs show: a fresh token for every request."""

    def __init__(self, region: str) -> None:
        self.region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from sagemaker.core.token_generator import generate_token

        request.headers["Authorization"] = f"Bearer {generate_token(region=self.region)}"
        yield request


def cost_per_request(auth: httpx.Auth, requests: int) -> float:
    """Mean seconds the auth flow adds to one request."""
    request = httpx.Request("POST", "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/openai/v1")
    started = time.perf_counter()
    for _ in range(requests):
        flow = auth.sync_auth_flow(request)
        next(flow)
        flow.close()
    return (time.perf_counter() - started) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per run (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per configuration (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    use_fake_credentials()

    from sagemaker_openai.client import BearerTokenAuth

    auths: dict[str, httpx.Auth] = {PER_REQUEST: PerRequestTokenAuth(REGION), CACHED: BearerTokenAuth(REGION)}
    for auth in auths.values():  # warm up: imports, first mint
        cost_per_request(auth, 3)
    series = {name: Series(name) for name in auths}
    alternate(
        args.runs,
        list(auths),
        lambda name: series[name].values.append(cost_per_request(auths[name], args.requests)),
    )

    ratio = series[PER_REQUEST].median / series[CACHED].median
    if args.json:
        print(json.dumps({name: s.values for name, s in series.items()} | {"ratio": ratio}, indent=2))
        return 0
    rows = [
        [name, f"{s.median * 1e6:,.1f}", " ".join(f"{v * 1e6:,.1f}" for v in s.values)]
        for name, s in series.items()
    ]
    print(f"Auth cost per request: median of {args.runs} alternating runs of {args.requests} requests")
    print(table(["auth", "µs per request (median)", "runs (µs)"], rows))
    print(f"BearerTokenAuth is {ratio:,.0f}x cheaper than generating a token per request (target: 50x).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
