"""What checking the vLLM flags adds to a synth: validating a config with and without a catalog.

Two configs: config/qwen3-4b.yaml, and the same with a flag of each class the check reads (human-readable
integers, JSON flags read into config classes with nested keys, a list of mappings, a quantization method,
bounds, start-up rules). Each run starts cold (the catalog cache is cleared), as every `cdk synth` is a new
process: the "checked" figures include reading and parsing the release's JSON catalog and checking the
flags; the "unchecked" one validates the default config with no catalog to find. The table shows the
medians of --runs alternating runs and their difference. The imports the check adds (difflib and the
three kit modules) are measured once, in a fresh interpreter.

    .venv/bin/python bench/bench_vllm_flags.py [--runs 50] [--json]
"""

from __future__ import annotations

import argparse
import copy
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
BUSY = "a flag of every class checked (cold)"
UNCHECKED = "no catalog (flags unchecked)"
# One flag of each class the check reads, all valid for vLLM 0.30.0.
BUSY_EXTRA_ARGS: dict[str, Any] = {
    "max_num_batched_tokens": "8k",
    "kv_cache_dtype": "fp8",
    "compilation_config": {"mode": 3, "pass_config": {}, "cudagraph_capture_sizes": [1, 2, 4]},
    "speculative_config": {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4},
    "kv_transfer_config": '{"kv_connector": "OffloadingConnector", "kv_role": "kv_both"}',
    "limit_mm_per_prompt": {"image": 0},
    "enable_lora": True,
    "lora_modules": [{"name": "sql", "path": "/opt/ml/model/sql"}],
    "max_loras": 2,
    "quantization": "fp8",
    "sse_keep_alive_interval": 15,
    "enable_log_requests": True,
    "enable_log_outputs": True,
    "no_enable_chunked_prefill": True,
}


def _import_ms() -> float:
    code = (
        # pydantic (which every synth imports) brings the standard modules both need
        "import time, json, pydantic, sagemaker_openai; t = time.perf_counter(); "
        "import sagemaker_openai.catalog.vllm_flags, sagemaker_openai.catalog.vllm_catalog, "
        "sagemaker_openai.catalog.vllm_values; "
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

    from sagemaker_openai.catalog import vllm_catalog
    from sagemaker_openai.config import parse_config

    data: dict[str, Any] = yaml.safe_load((ROOT / "config/qwen3-4b.yaml").read_text())
    busy = copy.deepcopy(data)
    busy["model"]["vllm"]["extra_args"] = BUSY_EXTRA_ARGS
    configs = {CHECKED: data, BUSY: busy, UNCHECKED: data}
    real_dir = vllm_catalog.CATALOG_DIR
    series = {name: Series(name) for name in configs}
    with tempfile.TemporaryDirectory() as empty:
        parse_config(data)  # warm the imports and pydantic's schemas, paid by every synth alike
        parse_config(busy)

        def measure(name: str) -> None:
            vllm_catalog.CATALOG_DIR = Path(empty) if name == UNCHECKED else real_dir
            vllm_catalog.load_catalog.cache_clear()
            started = time.perf_counter()
            parse_config(configs[name])
            series[name].values.append((time.perf_counter() - started) * 1000)

        alternate(args.runs, list(configs), measure)
    vllm_catalog.CATALOG_DIR = real_dir
    added = series[CHECKED].median - series[UNCHECKED].median
    imports = _import_ms()
    if args.json:
        figures = {"checked_ms": series[CHECKED].median, "busy_ms": series[BUSY].median}
        print(json.dumps({**figures, "added_ms": added, "imports_ms": imports}))
        return 0
    rows = [[s.name, f"{s.median:.2f} ms"] for s in series.values()]
    rows += [["added by the check", f"{added:.2f} ms"], ["module imports (once)", f"{imports:.2f} ms"]]
    print(table(["config validation (median of runs)", "time"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
