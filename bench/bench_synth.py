"""Time `cdk synth` of the default config against a plain-L1 app doing the same deployment.

Both run through the same pinned CDK CLI and Python, alternately (paired runs), and the ratio of the
medians is reported. The kit's synth includes config validation and the three cdk-nag packs.
Usage: .venv/bin/python bench/bench_synth.py [--runs N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _synth(app: str, outdir: Path) -> float:
    shutil.rmtree(outdir, ignore_errors=True)
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules/.bin'}:{os.environ['PATH']}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    command = ["npx", "cdk", "synth", "-q", "--app", app, "-o", str(outdir)]
    if "app.py" in app:
        command += ["-c", "config=config/qwen3-4b.yaml"]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    python = ROOT / ".venv/bin/python"
    kit_app, plain_app = f"{python} app.py", f"{python} bench/plain_l1_app.py"
    kit: list[float] = []
    plain: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        _synth(kit_app, Path(tmp) / "warm")  # first run pays for cold caches
        for run in range(args.runs):
            pair = [(kit_app, kit), (plain_app, plain)]
            for app, times in pair if run % 2 == 0 else reversed(pair):
                times.append(_synth(app, Path(tmp) / "out"))
            print(f"run {run + 1}: kit {kit[-1]:.2f} s, plain L1 {plain[-1]:.2f} s", flush=True)
    ratio = statistics.median(k / p for k, p in zip(kit, plain, strict=True))
    print(
        f"median kit {statistics.median(kit):.2f} s, plain L1 {statistics.median(plain):.2f} s, "
        f"median paired ratio {ratio:.2f}x over {args.runs} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
