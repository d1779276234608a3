"""Regenerate the vLLM flag catalogs (``make vllm-catalog``): one JSON file per DLC version the kit offers.

For each version, the vLLM sdist of the same version is fetched from the package index (the JSON form
of the simple API that pip reads), checked against the sha256 pinned in ``tools/vllm-sdists.lock``,
unpacked, and its ``vllm serve`` parser is built by ``scripts.vllm_introspect`` in a child process.
The start-up pairings (``--a requires --b``) are read with ``ast`` from ``validate_parsed_serve_args``.
Needs the registry; the tests read the checked-in files only.

Usage: python -m scripts.vllm_catalog [--version X ...] [--pin-new] [--cache DIR]
"""

import argparse
import ast
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sagemaker_openai import images
from sagemaker_openai.vllm_catalog import CATALOG_DIR, FORMAT, catalog_path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "tools/vllm-sdists.lock"
GENERATOR = "scripts/vllm_catalog.py 2"
_INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
_ENGINE_ARGS = "vllm/engine/arg_utils.py"
MIN_FLAGS = 150  # vLLM 0.23.0 has 261


def read_lock() -> dict[str, str]:
    """``vllm==X --hash=sha256:H`` lines, as pip's hash-checking mode writes them."""
    pins: dict[str, str] = {}
    for raw in LOCK.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            requirement, _, digest = line.partition(" --hash=sha256:")
            pins[requirement.removeprefix("vllm==")] = digest.strip()
    return pins


def write_lock(pins: dict[str, str]) -> None:
    header = (
        "# vLLM sdists the flag catalogs are generated from (make vllm-catalog); one pin per DLC version.\n"
    )
    body = "".join(f"vllm=={v} --hash=sha256:{pins[v]}\n" for v in sorted(pins, key=_version_key))
    LOCK.write_text(header + body)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _index_entry(version: str) -> dict[str, Any]:
    url = f"{_INDEX}/vllm/"
    if not url.startswith("https://"):
        raise SystemExit(f"the package index must be an https URL, not {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - https, checked above
        files = json.load(response)["files"]
    name = f"vllm-{version}.tar.gz"
    for entry in files:
        if entry["filename"] == name:
            return dict(entry)
    raise SystemExit(f"{name} is not on {_INDEX}")


def fetch_sdist(version: str, digest: str | None, cache: Path) -> tuple[Path, str]:
    """The sdist of ``version`` in ``cache``, verified against the pinned digest (or the index's)."""
    entry = _index_entry(version)
    expected = digest or entry["hashes"]["sha256"]
    if entry["hashes"].get("sha256") != expected:
        raise SystemExit(f"vllm {version}: the index's sha256 is not the pinned one in {LOCK.name}")
    path = cache / entry["filename"]
    if not path.exists() or _sha256(path.read_bytes()) != expected:
        cache.mkdir(parents=True, exist_ok=True)
        print(f"==> fetching {entry['filename']}", file=sys.stderr)
        with urllib.request.urlopen(entry["url"], timeout=600) as response:  # noqa: S310
            data = response.read()
        if _sha256(data) != expected:
            raise SystemExit(f"{entry['filename']}: sha256 mismatch; refusing to use it")
        path.write_bytes(data)
    return path, expected


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unpack_python(sdist: Path, into: Path) -> Path:
    """Extract the ``vllm`` package's Python files; return the directory that holds ``vllm/``."""
    with tarfile.open(sdist) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.isfile() and "/vllm/" in m.name and m.name.endswith(".py") and ".." not in m.name
        ]
        archive.extractall(into, members=members, filter="data")
    roots = {Path(m.name).parts[0] for m in members}
    if len(roots) != 1:
        raise SystemExit(f"{sdist.name}: unexpected layout {sorted(roots)}")
    return into / roots.pop()


def _flag_name(node: ast.expr) -> str | None:
    """``args.foo`` or ``getattr(args, "foo", ...)`` -> ``foo``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "args":
        return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


def start_up_pairings(source: str) -> dict[str, list[list[str]]]:
    """`if args.a and not args.b: raise` gives requires [a, b]; `if args.a and args.b: raise`, conflicts."""
    requires: list[list[str]] = []
    conflicts: list[list[str]] = []
    for function in ast.walk(ast.parse(source)):
        if not (isinstance(function, ast.FunctionDef) and function.name == "validate_parsed_serve_args"):
            continue
        for node in ast.walk(function):
            if not (
                isinstance(node, ast.If)
                and isinstance(node.test, ast.BoolOp)
                and isinstance(node.test.op, ast.And)
                and len(node.test.values) == 2
                and any(isinstance(statement, ast.Raise) for statement in node.body)
            ):
                continue
            first, second = node.test.values
            a = _flag_name(first)
            if isinstance(second, ast.UnaryOp) and isinstance(second.op, ast.Not):
                b = _flag_name(second.operand)
                if a and b:
                    requires.append([a, b])
            elif a and (b := _flag_name(second)):
                conflicts.append([a, b])
    return {"requires": requires, "conflicts": conflicts}


def check_plausible(version: str, parsed: dict[str, Any]) -> None:
    """A stand-in that swallowed part of the parser would show as missing flags or parsers: refuse that."""
    typed = {"max_model_len", "tensor_parallel_size", "dtype", "tool_call_parser", "reasoning_parser"}
    missing = sorted(typed - set(parsed["flags"]))
    if len(parsed["flags"]) < MIN_FLAGS or missing or not parsed["tool_call_parsers"]:
        raise SystemExit(
            f"vllm {version}: implausible parser ({len(parsed['flags'])} flags, missing {missing}, "
            f"{len(parsed['tool_call_parsers'])} tool-call parsers); the stand-ins need updating"
        )
    names = parsed["tool_call_parsers"] + parsed["reasoning_parsers"]
    if not all(isinstance(name, str) for name in names):
        raise SystemExit(f"vllm {version}: parser names are not strings: {names[:5]}")


def build_catalog(version: str, sdist: Path, digest: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        source = unpack_python(sdist, Path(tmp))
        result = subprocess.run(
            [sys.executable, "-m", "scripts.vllm_introspect", str(source)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join(result.stderr.splitlines()[-15:])
            raise SystemExit(f"vllm {version}: building the parser failed:\n{tail}")
        parsed = json.loads(result.stdout)
        check_plausible(version, parsed)
        parser_file = parsed["parser_module"].replace(".", "/") + ".py"
        parser_source = (source / parser_file).read_text()
        files = {path: _sha256((source / path).read_bytes()) for path in sorted({parser_file, _ENGINE_ARGS})}
    return {
        "format": FORMAT,
        "vllm": version,
        "source": {"sdist": sdist.name, "sha256": digest, "files": files},
        "generator": GENERATOR,
        **start_up_pairings(parser_source),
        "tool_call_parsers": parsed["tool_call_parsers"],
        "reasoning_parsers": parsed["reasoning_parsers"],
        "flags": parsed["flags"],
    }


def dump(catalog: dict[str, Any]) -> str:
    """Compact, one flag per line, so that a regenerated file diffs by flag."""

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    head = [f"{compact(key)}:{compact(value)}" for key, value in catalog.items() if key != "flags"]
    flags = [f"{compact(name)}:{compact(spec)}" for name, spec in sorted(catalog["flags"].items())]
    return "{\n" + ",\n".join(head) + ',\n"flags":{\n' + ",\n".join(flags) + "\n}}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="append", help="only this DLC/vLLM version (repeatable)")
    parser.add_argument("--pin-new", action="store_true", help="pin the index's sha256 of unpinned versions")
    parser.add_argument("--cache", type=Path, default=ROOT / ".tools/vllm-sdists")
    args = parser.parse_args(argv)
    pins = read_lock()
    versions = args.version or images.known_vllm_versions()
    unpinned = [v for v in versions if v not in pins]
    if unpinned and not args.pin_new:
        print(
            f"Error: no pin in {LOCK.relative_to(ROOT)} for vllm {', '.join(unpinned)}; "
            "rerun with --pin-new (make vllm-catalog PIN_NEW=1) to pin the index's sha256",
            file=sys.stderr,
        )
        return 1
    CATALOG_DIR.mkdir(exist_ok=True)
    for version in versions:
        sdist, digest = fetch_sdist(version, pins.get(version), args.cache)
        pins[version] = digest
        catalog = build_catalog(version, sdist, digest)
        catalog_path(version).write_text(dump(catalog))
        print(f"{catalog_path(version).relative_to(ROOT)}: {len(catalog['flags'])} flags", file=sys.stderr)
    write_lock(pins)
    return 0


if __name__ == "__main__":
    sys.exit(main())
