"""What checking the vLLM flags adds to a synth: validating config/qwen3-4b.yaml with and without a catalog.

Each run starts cold (the catalog cache is cleared), as every `cdk synth` is a new process: the
"checked" figure includes reading and parsing the release's JSON catalog and checking the flags; the
"unchecked" one validates the same config with no catalog to find. The table shows the medians of
--runs alternating runs and their difference. The imports the check adds (difflib and the two kit
modules) are measured once, in a fresh interpreter.

    .venv/bin/python bench/bench_vllm_flags.py [--runs 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Series, alternate, table

ROOT = Path(__file__).resolve().parent.parent
CHECKED = "flags checked (catalog read cold)"
UNCHECKED = "no catalog (flags unchecked)"


def _import_ms() -> float:
    code = (
        # pydantic (which every synth imports) brings the standard modules both need
        "import time, json, pydantic, sagemaker_openai; t = time.perf_counter(); "
        "import sagemaker_openai.vllm_flags, sagemaker_openai.vllm_catalog; "
        "print((time.perf_counter() - t) * 1000)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(result.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from sagemaker_openai import vllm_catalog
    from sagemaker_openai.config import parse_config

    data: dict[str, Any] = yaml.safe_load((ROOT / "config/qwen3-4b.yaml").read_text())
    real_dir = vllm_catalog.CATALOG_DIR
    series = {CHECKED: Series(CHECKED), UNCHECKED: Series(UNCHECKED)}
    with tempfile.TemporaryDirectory() as empty:
        parse_config(data)  # warm the imports and pydantic's schemas, paid by every synth alike

        def measure(name: str) -> None:
            vllm_catalog.CATALOG_DIR = real_dir if name == CHECKED else Path(empty)
            vllm_catalog.load_catalog.cache_clear()
            started = time.perf_counter()
            parse_config(data)
            series[name].values.append((time.perf_counter() - started) * 1000)

        alternate(args.runs, [CHECKED, UNCHECKED], measure)
    vllm_catalog.CATALOG_DIR = real_dir
    added = series[CHECKED].median - series[UNCHECKED].median
    imports = _import_ms()
    if args.json:
        print(json.dumps({"checked_ms": series[CHECKED].median, "added_ms": added, "imports_ms": imports}))
        return 0
    rows = [[s.name, f"{s.median:.2f} ms"] for s in series.values()]
    rows += [["added by the check", f"{added:.2f} ms"], ["module imports (once)", f"{imports:.2f} ms"]]
    print(table(["config validation (median of runs)", "time"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
