"""The limit flags that `proxy` and `local-runtime` share (both serve through `servers.serving`)."""

from __future__ import annotations

import argparse

from sagemaker_openai.servers.serving_limits import DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT


def add_server_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """`--read-timeout` and `--max-connections`."""
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request head has not fully arrived this long after it opened (or "
        "after its previous answer), and answer 408 and close when a request's body has not fully arrived "
        f"this long after its head (default {DEFAULT_READ_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"requests served at once; one more is answered 503 and its connection closed "
        f"(default {DEFAULT_MAX_CONNECTIONS})",
    )
