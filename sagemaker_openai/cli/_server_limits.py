"""The connection-limit flags that `proxy` and `local-runtime` share (both serve through `serving`)."""

from __future__ import annotations

import argparse

from sagemaker_openai.servers.serving_limits import DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT


def add_server_limit_arguments(parser: argparse.ArgumentParser, *, read_timeout_closes_idle: bool) -> None:
    """`--read-timeout` and `--max-connections`; `read_timeout_closes_idle` when the server also closes
    kept-alive connections idle that long (local-runtime does; the proxy keeps uvicorn's default)."""
    idle = ", and close kept-alive connections idle this long" if read_timeout_closes_idle else ""
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help=f"answer 408 and close when a request's body has not fully arrived this long after its head"
        f"{idle} (default {DEFAULT_READ_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"connections served at once; a request on one more is answered 503 "
        f"(default {DEFAULT_MAX_CONNECTIONS})",
    )
