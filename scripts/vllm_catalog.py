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

from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.vllm_catalog import CATALOG_DIR, FORMAT, catalog_path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "tools/vllm-sdists.lock"
SUMS = CATALOG_DIR / "SHA256SUMS"
GENERATOR = "scripts/vllm_catalog.py 3"
_INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
_ENGINE_ARGS = "vllm/engine/arg_utils.py"
_REGISTRY_FILES = ("vllm/model_executor/layers/quantization/__init__.py",)
# Where vLLM derives a model's maximum length from its config.json (read by make preflight).
_MODEL_CONFIG = "vllm/config/model.py"
_LENGTH_KEYS = "vllm/transformers_utils/model_arch_config_convertor.py"
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


# Where vLLM checks the flags before the model loads: the serve entrypoint's quick checks (flags on
# ``args``) and the engine arguments' own (flags on ``self``).
STARTUP_FUNCTIONS = {
    "validate_parsed_serve_args": "args",
    "__post_init__": "self",
    "create_engine_config": "self",
}
_COMPARISONS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


# Every check the generator lists as unextracted, with why it is not a rule on the flags alone.
# tests/unit/test_vllm_catalog_generation.py fails when a catalog lists one that is not here: read the
# new check in the release's source, then add it with its reason (or teach start_up_checks to read it).
_OTHER_KEY = "pairs a flag with a key inside another flag's JSON value"
_OWN_STATE = "asserts a value the function itself has set by then (defaults), not one the user gave"
_MODEL = "depends on the model's config, which vLLM reads at start-up (see make preflight)"
_DERIVED = "tests a value the function derives from several flags (data-parallel launch options)"
_MULTI_NODE = (
    "compares two flags or a product of flags (multi-node launches; a SageMaker endpoint runs one node)"
)
REVIEWED_UNEXTRACTED: dict[str, str] = {
    "attention_config.backend is not None": _OTHER_KEY,
    "compilation_config.cudagraph_capture_sizes is not None": _OTHER_KEY,
    "compilation_config.max_cudagraph_capture_size is not None": _OTHER_KEY,
    "kernel_config.enable_flashinfer_autotune is not None": _OTHER_KEY,
    "envs.validate_environ(self.fail_on_environ_validation)": "validates VLLM_* environment variables",
    "self._check_feature_supported()": _MODEL,
    "not model_config.is_multimodal_model and self.default_mm_loras": _MODEL,
    "self.data_parallel_size > 1 and data_parallel_external_lb and (not model_config.is_moe)": _MODEL,
    "validate_chat_template(args.chat_template)": "reads the chat template (a file or a string) at start-up",
    "not headless or not self.data_parallel_hybrid_lb": "headless is the caller's argument, not the flag",
    "not 0 <= self.node_rank < self.nnodes": _MULTI_NODE,
    "self.node_rank < self.nnodes": _MULTI_NODE,
    "world_size % self.nnodes != 0": _MULTI_NODE,
    "world_size % self.nnodes == 0": _MULTI_NODE,
    "self.data_parallel_hybrid_lb": _DERIVED,
    "not self.data_parallel_hybrid_lb": _DERIVED,
    "self.data_parallel_rank is None": _DERIVED,
    "self.data_parallel_rank is not None": _DERIVED,
    "self.data_parallel_size_local in (1, None)": _DERIVED,
    "self.data_parallel_size_local not in (1, None)": _DERIVED,
    "self.enable_fault_tolerance and (not data_parallel_external_lb)": _DERIVED,
    "self.data_parallel_backend == 'mp'": _DERIVED,
    "self.enable_chunked_prefill is not None": _OWN_STATE,
    "self.enable_prefix_caching is not None": _OWN_STATE,
    "self.max_num_batched_tokens is not None": _OWN_STATE,
    "self.max_num_seqs is not None": _OWN_STATE,
}


def _flag_name(node: ast.expr, owner: str = "args") -> str | None:
    """``args.foo`` or ``getattr(args, "foo", ...)`` -> ``foo`` (``self.foo`` with ``owner="self"``)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == owner:
        return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == owner
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


# The DLC runs vLLM on CUDA: `current_platform.is_cuda()` holds there, `is_rocm()` and the rest do not.
PLATFORM = "cuda"
_NEVER = ("@never", "truthy", None)  # an atom that cannot hold on PLATFORM: the rule never refuses


def _platform_test(test: ast.expr) -> bool | None:
    """The value of ``current_platform.is_x()`` (or its ``not``) on the DLC's platform, else None."""
    negate = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
    call = test.operand if isinstance(test, ast.UnaryOp) and negate else test
    if not (
        isinstance(call, ast.Call)
        and not call.args
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "current_platform"
        and call.func.attr.startswith("is_")
    ):
        return None
    return (call.func.attr == f"is_{PLATFORM}") != negate


def _atoms(test: ast.expr, owner: str) -> list[list[Any]] | None:  # noqa: PLR0911 - one answer per form
    """A condition as ``[flag, op, value]`` atoms that must all hold, or None when it is not only flags.

    ``op`` is ``truthy``, ``falsy`` or a comparison with a literal (``<``, ``==``, ``in``, ``is``...).
    """
    platform = _platform_test(test)
    if platform is not None:
        return [] if platform else [list(_NEVER)]
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        atoms: list[list[Any]] = []
        for value in test.values:
            part = _atoms(value, owner)
            if part is None:
                return None
            atoms += part
        return atoms
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        name = _flag_name(test.operand, owner)
        return [[name, "falsy", None]] if name else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        name, op = _flag_name(test.left, owner), _COMPARISONS.get(type(test.ops[0]))
        try:
            literal = ast.literal_eval(test.comparators[0])
        except ValueError:
            return None
        if name and op and isinstance(literal, int | float | str | bool | tuple | type(None)):
            return [[name, op, list(literal) if isinstance(literal, tuple) else literal]]
        return None
    name = _flag_name(test, owner)
    return [[name, "truthy", None]] if name else None


_NEGATION = {
    "truthy": "falsy",
    "falsy": "truthy",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
    "==": "!=",
    "!=": "==",
    "in": "not in",
    "not in": "in",
    "is": "is not",
    "is not": "is",
}


def _negated(test: ast.expr, owner: str) -> list[list[Any]] | None:
    """The atoms under which ``assert test`` fails: ``not (a and b)`` -> a, b; ``a or b`` -> not a, not b."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _atoms(test.operand, owner)
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or) else [test]
    refused: list[list[Any]] = []
    for part in parts:
        atoms = _atoms(part, owner)
        if atoms is None or len(atoms) != 1:
            return None
        name, op, value = atoms[0]
        refused.append([name, _NEGATION[op], value])
    return refused


def _message(body: Sequence[ast.stmt]) -> str:
    """The literal part of the first ``raise X("...")`` message in ``body``."""
    for statement in body:
        if isinstance(statement, ast.Raise) and isinstance(statement.exc, ast.Call) and statement.exc.args:
            first = statement.exc.args[0]
            parts = first.values if isinstance(first, ast.JoinedStr) else [first]
            # a value formatted into the message shows as "..." (the user's value is shown beside it)
            text = "".join(
                p.value if isinstance(p, ast.Constant) and isinstance(p.value, str) else "..." for p in parts
            )
            return " ".join(text.removeprefix("Error: ").split())
    return ""


def _mentions_flags(node: ast.AST, owner: str) -> bool:
    return any(_flag_name(n, owner) for n in ast.walk(node) if isinstance(n, ast.expr))


class _StartUpChecks(ast.NodeVisitor):
    """Classifies each check of one function: a rule on the flags alone, or unextracted."""

    def __init__(self, where: str, owner: str, result: dict[str, list[Any]]) -> None:
        self.where, self.owner, self.result = where, owner, result
        self.conditions: list[list[list[Any]] | None] = []  # the enclosing ifs' atoms
        self.assigned: set[str] = set()  # flags the function reassigns before a check

    def _unextracted(self, node: ast.AST) -> None:
        check = " ".join(ast.unparse(node).split())
        entry = {"where": self.where, "check": check}
        if entry not in self.result["unextracted"]:
            self.result["unextracted"].append(entry)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            name = _flag_name(target, self.owner) if isinstance(target, ast.expr) else None
            if name:
                self.assigned.add(name)
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        if not _mentions_flags(node.test, self.owner):
            return
        refused = _negated(node.test, self.owner)
        # "x is not None" asserts state what the function itself has set by then, not what the user gave
        if refused is None or self.conditions or any(op in ("is", "is not") for _, op, _ in refused):
            self._unextracted(node.test)
        else:
            self._add(refused, str(node.msg.value) if isinstance(node.msg, ast.Constant) else "")

    def visit_Expr(self, node: ast.Expr) -> None:
        # a validator called with the flags (validate_chat_template(args.chat_template)) may raise
        call = node.value
        if isinstance(call, ast.Call) and _mentions_flags(call, self.owner):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if any(word in name for word in ("valid", "check", "verify")):
                self._unextracted(call)

    def visit_If(self, node: ast.If) -> None:
        atoms = _atoms(node.test, self.owner)
        if any(isinstance(statement, ast.Raise) for statement in node.body):
            self._rule(node, atoms)
        self.conditions.append(atoms)
        for statement in node.body:
            self.visit(statement)
        self.conditions[-1] = None  # the else branch holds when the test does not: not a conjunction
        for statement in node.orelse:
            self.visit(statement)
        self.conditions.pop()

    def _rule(self, node: ast.If, atoms: list[list[Any]] | None) -> None:
        enclosing = [a for condition in self.conditions if condition is not None for a in condition]
        whole = None if atoms is None or None in self.conditions else enclosing + atoms
        if whole is None or any(name in self.assigned for name, _, _ in whole):
            if _mentions_flags(node.test, self.owner) or self.conditions:
                self._unextracted(node.test)
            return
        if list(_NEVER) not in whole:  # on the DLC's platform this check never refuses
            self._add(whole, _message(node.body))

    def _add(self, whole: list[list[Any]], message: str) -> None:
        two = len(whole) == 2 and all(op in ("truthy", "falsy") for _, op, _ in whole)
        first, second = whole if two else (None, None)
        if two and first is not None and second is not None and first[1] == "truthy":
            kind = "requires" if second[1] == "falsy" else "conflicts"
            self.result[kind].append([first[0], second[0]])
        else:
            rule = {"when": whole, "message": " ".join(str(message).split())}
            if rule not in self.result["refuse_when"]:
                self.result["refuse_when"].append(rule)


def start_up_checks(sources: Sequence[str]) -> dict[str, list[Any]]:
    """The checks the start-up functions make on the flags alone, and those that cannot be read so.

    ``if args.a and not args.b: raise`` gives requires [a, b]; ``if args.a and args.b: raise``,
    conflicts; any other condition on flags and literals only (``args.x < 0``, ``self.n > 1 and
    self.backend != "mp"``), a refuse_when rule; the rest is listed as unextracted.
    """
    result: dict[str, list[Any]] = {"requires": [], "conflicts": [], "refuse_when": [], "unextracted": []}
    for source in sources:
        for function in ast.walk(ast.parse(source)):
            if isinstance(function, ast.FunctionDef) and function.name in STARTUP_FUNCTIONS:
                visitor = _StartUpChecks(function.name, STARTUP_FUNCTIONS[function.name], result)
                for statement in function.body:
                    visitor.visit(statement)
    return result


def start_up_pairings(source: str) -> dict[str, list[list[str]]]:
    """The requires and conflicts pairs of ``validate_parsed_serve_args`` alone."""
    checks = start_up_checks([source])
    return {"requires": checks["requires"], "conflicts": checks["conflicts"]}


def max_len_rules(version: str, model_source: str, keys_source: str) -> dict[str, list[str]]:
    """How the release derives a model's maximum length from config.json, for ``make preflight``.

    ``length_keys``: the keys read for the length, smallest wins (``possible_keys``);
    ``prescaled_rope_types``: the RoPE types whose factor ``_get_and_verify_max_len`` does not apply
    (``if rope_type not in (...)``).
    """
    keys: list[str] = []
    for node in ast.walk(ast.parse(keys_source)):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "possible_keys" for t in node.targets)
            and isinstance(node.value, ast.List)
        ):
            keys = [
                e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
    prescaled: list[str] = []
    for function in ast.walk(ast.parse(model_source)):
        if not (isinstance(function, ast.FunctionDef) and function.name == "_get_and_verify_max_len"):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Name)
                and node.left.id == "rope_type"
                and isinstance(node.ops[0], ast.NotIn)
                and isinstance(node.comparators[0], ast.Tuple)
            ):
                prescaled = [str(e.value) for e in node.comparators[0].elts if isinstance(e, ast.Constant)]
    if not keys or not prescaled:
        raise SystemExit(f"vllm {version}: the max_model_len derivation moved; update max_len_rules")
    return {"length_keys": keys, "prescaled_rope_types": prescaled}


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
        read_from = sorted({parser_file, _ENGINE_ARGS, *_REGISTRY_FILES, _MODEL_CONFIG, _LENGTH_KEYS})
        files = {
            path: _sha256((source / path).read_bytes()) for path in read_from if (source / path).is_file()
        }
        checks = start_up_checks([(source / parser_file).read_text(), (source / _ENGINE_ARGS).read_text()])
        max_len = max_len_rules(
            version, (source / _MODEL_CONFIG).read_text(), (source / _LENGTH_KEYS).read_text()
        )
    return {
        "format": FORMAT,
        "vllm": version,
        "source": {"sdist": sdist.name, "sha256": digest, "files": files},
        "generator": GENERATOR,
        **checks,
        "tool_call_parsers": parsed["tool_call_parsers"],
        "reasoning_parsers": parsed["reasoning_parsers"],
        "registries": parsed["registries"],
        "max_len": max_len,
        "config_classes": parsed["config_classes"],
        "flags": parsed["flags"],
    }


_PER_LINE = ("config_classes", "flags")  # one entry a line, in this order, after the rest


def dump(catalog: dict[str, Any]) -> str:
    """Compact, one flag (and config class) per line, so that a regenerated file diffs by flag."""

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    head = [f"{compact(key)}:{compact(value)}" for key, value in catalog.items() if key not in _PER_LINE]
    blocks = [
        f"{compact(key)}:{{\n"
        + ",\n".join(f"{compact(name)}:{compact(spec)}" for name, spec in sorted(catalog[key].items()))
        + "\n}"
        for key in _PER_LINE
        if key in catalog
    ]
    return "{\n" + ",\n".join(head + blocks) + "}\n"


def write_sums() -> None:
    """``SHA256SUMS`` of the catalogs as generated (``sha256sum -c`` reads it); a test compares them."""
    lines = [
        f"{_sha256(path.read_bytes())}  {path.name}\n" for path in sorted(CATALOG_DIR.glob("vllm-*.json"))
    ]
    SUMS.write_text("".join(lines))


def read_sums() -> dict[str, str]:
    """File name -> sha256, from ``SHA256SUMS``."""
    sums = {}
    for line in SUMS.read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


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
    write_sums()
    return 0


if __name__ == "__main__":
    sys.exit(main())
