"""`sagemaker-openai bench` against local-runtime standing in for a model with known timings.

Starts local-runtime on 127.0.0.1 (no auth) as a model that takes --first-token-delay seconds to its
first token and --token-delay between tokens, and generates at most --max-num-seqs answers at once, the
rest queuing as vLLM queues beyond its --max-num-seqs. Then runs `sagemaker-openai bench` (in its own
process, so its CPU is its own) over a concurrency sweep and prints its table. Expect: ITL near the token
delay at every level; TTFT near the first-token delay until the concurrency passes --max-num-seqs, then
growing with the queue; output throughput rising until --max-num-seqs streams, then flat.

    .venv/bin/python bench/bench_serving.py [--concurrency 1,4,16,32] [--duration 8] [--requests N]
        [--token-delay 0.02] [--first-token-delay 0.15] [--max-num-seqs 8] [--json F] [--plot F.png]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import serving


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--concurrency", default="1,4,16,32")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per level")
    parser.add_argument("--requests", type=int, help="requests per level, instead of --duration")
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--first-token-delay", type=float, default=0.15)
    parser.add_argument("--max-num-seqs", type=int, default=8)
    parser.add_argument("--input-tokens", default="256:64")
    parser.add_argument("--output-tokens", default="32")
    parser.add_argument("--json", help="write the bench's JSON here")
    parser.add_argument("--plot", help="draw the bench's PNG here")
    args = parser.parse_args()
    server = [
        *("local-runtime", "--port", "0", "--endpoint", "bench", "--no-auth"),
        *("--token-delay", str(args.token_delay), "--first-token-delay", str(args.first_token_delay)),
        *("--max-num-seqs", str(args.max_num_seqs)),
    ]
    with serving(server, dict(os.environ), "local-runtime listening on ") as (_, origin):
        stop = ["--requests", str(args.requests)] if args.requests else ["--duration", str(args.duration)]
        command = [
            *(sys.executable, "-m", "sagemaker_openai.cli", "bench"),
            *("--base-url", f"{origin}/endpoints/bench/openai/v1", "--concurrency", args.concurrency, *stop),
            *("--input-tokens", args.input_tokens, "--output-tokens", args.output_tokens),
            # A made-up price, to show the column: local-runtime costs nothing.
            *("--price-per-hour", "1.00", "--slo", "ttft=500ms,itl=30ms"),
            *(["--json", args.json] if args.json else []),
            *(["--plot", args.plot] if args.plot else []),
        ]
        print(
            f"local-runtime as a model: first token after {args.first_token_delay * 1e3:g} ms, then one "
            f"every {args.token_delay * 1e3:g} ms, at most {args.max_num_seqs} answers at once "
            "(the rest queue)",
            flush=True,
        )
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
