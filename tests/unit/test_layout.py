"""The package layout holds: documented names import, and the CDK side never imports the client side."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLIENT_SIDE = ("client", "servers", "operations", "cli")
FROM_IMPORT = re.compile(r"^\s*from (sagemaker_openai[\w.]*) import \(?([\w, ]+)\)?\s*$", re.M)
DOTTED = re.compile(r"`(sagemaker_openai(?:\.\w+)+)(?:\([^`]*\))?`")
PATH = re.compile(r"`?(sagemaker_openai/[\w/]+\.py)`?")


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def _documented_imports() -> list[tuple[str, str, str]]:
    found = set()
    for document in DOCUMENTS:
        for block in _code_blocks(document.read_text()):
            for module, names in FROM_IMPORT.findall(block):
                for name in names.split(","):
                    if name.strip():
                        found.add((document.name, module, name.strip().split(" as ")[0]))
    return sorted(found)


def _documented_dotted_names() -> list[tuple[str, str]]:
    return sorted({(d.name, name) for d in DOCUMENTS for name in DOTTED.findall(d.read_text())})


def _documented_paths() -> list[tuple[str, str]]:
    return sorted({(d.name, path) for d in DOCUMENTS for path in PATH.findall(d.read_text())})


def test_the_documents_show_the_client_imports() -> None:
    # Guards the parser below: the README's quick start and docs/client.md import from the client.
    modules = {module for _, module, _ in _documented_imports()}
    names = {name for _, _, name in _documented_imports()}
    assert "sagemaker_openai.client" in modules
    assert {"StackOutputs", "openai_client", "BearerTokenAuth"} <= names


@pytest.mark.parametrize(("document", "module", "name"), _documented_imports())
def test_every_documented_import_works(document: str, module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{document}: from {module} import {name}"


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize(("document", "dotted"), _documented_dotted_names())
def test_every_dotted_name_the_documents_give_resolves(document: str, dotted: str) -> None:
    assert _resolve(dotted) is not None, f"{document}: {dotted}"


@pytest.mark.parametrize(("document", "path"), _documented_paths())
def test_every_module_path_the_documents_give_exists(document: str, path: str) -> None:
    assert (ROOT / path).is_file(), f"{document} names {path}, which does not exist"


def _imported_modules(source: Path) -> list[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
            modules += [f"{node.module}.{alias.name}" for alias in node.names]
    return modules


def _cdk_side_sources() -> list[Path]:
    folders = [ROOT / "sagemaker_openai" / name for name in ("constructs", "config", "catalog", "naming")]
    return sorted([*(p for f in folders for p in f.rglob("*.py")), *(ROOT / "stacks").rglob("*.py")])


def test_the_walk_sees_the_constructs_and_stacks() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _cdk_side_sources()}
    assert {"sagemaker_openai/constructs/endpoint.py", "stacks/openai_endpoint_stack.py"} <= names


@pytest.mark.parametrize("source", _cdk_side_sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_cdk_side_never_imports_the_client_servers_operations_or_cli(source: Path) -> None:
    bad = [m for m in _imported_modules(source) if _client_side(m)]
    assert bad == [], f"{source.relative_to(ROOT)} imports {bad}"


def test_the_import_walk_catches_a_client_import(tmp_path: Path) -> None:
    # Guards the walk: every import form that names a client-side package is caught.
    imports = (
        "import sagemaker_openai.client\nfrom sagemaker_openai import cli\n"
        "from sagemaker_openai.servers import x\n"
        "import sagemaker_openai.config\nfrom sagemaker_openai import naming\n"
    )
    assert [m for m in _imported_modules_of(imports, tmp_path) if _client_side(m)] == [
        "sagemaker_openai.client",
        "sagemaker_openai.cli",
        "sagemaker_openai.servers",
        "sagemaker_openai.servers.x",
    ]


def _client_side(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "sagemaker_openai" and len(parts) > 1 and parts[1] in CLIENT_SIDE


def _imported_modules_of(code: str, tmp: Path) -> list[str]:
    path = tmp / "layout_probe.py"
    path.write_text(code)
    return _imported_modules(path)


# "No module over about 400 lines": one job per module; the largest today is monitoring.py's one construct.
MODULE_LINES_MAX = 420


def test_no_module_of_the_package_is_over_about_400_lines() -> None:
    sources = [*(ROOT / "sagemaker_openai").rglob("*.py"), *(ROOT / "stacks").rglob("*.py")]
    lines = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in sources}
    assert "sagemaker_openai/client/auth.py" in lines
    assert {path: n for path, n in lines.items() if n > MODULE_LINES_MAX} == {}
