"""Build one vLLM release's `vllm serve` parser from its source tree and print its flags as JSON.

Run by ``scripts.vllm_catalog`` in a child process (``python -m scripts.vllm_introspect SRC``), never
imported by the kit: it puts the release's ``vllm`` package on ``sys.path`` and answers every other
third-party import (torch, transformers, fastapi...) with an inert stand-in, so that vLLM's own
``make_arg_parser`` runs without a GPU stack. Only the parser's structure is read: option strings,
action, ``nargs``, ``choices`` and what the ``type`` callable accepts. The stand-ins only have to
survive import time; a flag whose definition depends on them shows up as a type the kit leaves
unchecked ("any").
"""

import argparse
import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import json
import re
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

# Real packages the stand-ins cannot replace: vLLM's config classes are pydantic dataclasses.
_REAL = {"pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection", "yaml"}
# The parser modules, newest layout first; the DLC runs `python3 -m vllm.entrypoints.openai.api_server`.
PARSER_MODULES = ("vllm.entrypoints.launchers.cli_args", "vllm.entrypoints.openai.cli_args")
TOOL_PARSER_MODULES = ("vllm.tool_parsers", "vllm.entrypoints.openai.tool_parsers")
REASONING_PARSER_MODULES = ("vllm.reasoning",)
_PASSTHROUGH_ARITY = 1


class _StubMeta(type):
    """Classes whose every attribute is another stand-in class; calling one with a function returns it."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        child = _StubMeta(name, (_Stub,), {"__module__": cls.__module__, "__qualname__": name})
        setattr(cls, name, child)
        return child

    def __getitem__(cls, item: Any) -> Any:
        return cls

    def __iter__(cls) -> Iterator[Any]:
        return iter(())

    def __len__(cls) -> int:
        return 0

    def __bool__(cls) -> bool:
        return False

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == _PASSTHROUGH_ARITY and not kwargs and _is_function(args[0]):
            return args[0]  # used as a decorator
        return type.__call__(cls)


def _is_function(value: Any) -> bool:
    return callable(value) and not isinstance(value, _StubMeta)


class _Stub(metaclass=_StubMeta):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        pass

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.any_schema()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _StubMeta(name, (_Stub,), {})()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == _PASSTHROUGH_ARITY and not kwargs and _is_function(args[0]):
            return args[0]
        return _StubMeta("result", (_Stub,), {})()

    def __getitem__(self, key: Any) -> Any:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def __int__(self) -> int:
        return 0

    def __index__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return id(self)

    def __lt__(self, other: Any) -> bool:
        return False

    def __le__(self, other: Any) -> bool:
        return True

    def __gt__(self, other: Any) -> bool:
        return False

    def __ge__(self, other: Any) -> bool:
        return True

    def __mul__(self, other: Any) -> Any:
        return self

    __rmul__ = __add__ = __radd__ = __sub__ = __rsub__ = __truediv__ = __mul__


class _StubModule(types.ModuleType):
    __version__ = "99.0.0"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        child = _StubMeta(name, (_Stub,), {"__module__": self.__name__, "__qualname__": name})
        setattr(self, name, child)
        return child


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers with a stand-in module every import outside the standard library and ``_REAL``, and
    the parts of vLLM that are not in its source tree (the compiled ``vllm._C`` extensions)."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def find_spec(
        self, fullname: str, path: Any, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.partition(".")[0]
        if top in _REAL or top in sys.stdlib_module_names:
            return None
        if top == "vllm":
            where = self.source.joinpath(*fullname.split("."))
            if where.with_suffix(".py").is_file() or (where / "__init__.py").is_file():
                return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _install_stubs(source: str) -> None:
    sys.meta_path.insert(0, _StubFinder(Path(source)))
    sys.modules["regex"] = re  # vLLM uses `import regex as re` for the same API
    sys.path.insert(0, source)
    real_version = importlib.metadata.version

    def version(distribution_name: str) -> str:
        try:
            return real_version(distribution_name)
        except importlib.metadata.PackageNotFoundError:
            return "99.0.0"  # a stand-in is "new enough" for every version gate

    importlib.metadata.version = version


def _guard_default_factories(module: types.ModuleType) -> None:
    """Config defaults are built while the parser is made; with stand-ins some fail, and none matter here."""
    from pydantic.fields import FieldInfo

    def guarded(factory: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            try:
                return factory()
            except Exception:
                return None

        return call

    for value in list(vars(module).values()):
        if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
            continue
        for field in dataclasses.fields(value):
            default = field.default
            if isinstance(default, FieldInfo) and default.default_factory is not None:
                default.default_factory = guarded(default.default_factory)  # type: ignore[arg-type]
            if field.default_factory is not dataclasses.MISSING:
                field.default_factory = guarded(field.default_factory)


def _accepts(convert: Callable[[str], Any], text: str) -> tuple[bool, Any]:
    try:
        return True, convert(text)
    except Exception:
        return False, None


def _value_type(action: argparse.Action) -> str:  # noqa: PLR0911 - one answer per probe
    """What the flag's ``type`` callable takes: int, float, json (an object), str, or any (unknown)."""
    convert = action.type
    if convert is None:
        return "str"
    if not callable(convert):
        return "any"
    # "{}" for config dataclasses, whose every field has a default but "a" is not a field.
    for sample in ('{"a": 1}', "{}"):
        ok_object, parsed_object = _accepts(convert, sample)
        if ok_object and not isinstance(parsed_object, str):
            return "json"
    ok_int, parsed_int = _accepts(convert, "7")
    ok_word, _ = _accepts(convert, "word")
    if ok_int and isinstance(parsed_int, int) and not isinstance(parsed_int, bool) and not ok_word:
        return "int"
    ok_float, parsed_float = _accepts(convert, "0.5")
    if ok_float and isinstance(parsed_float, float) and not ok_word:
        return "float"
    if ok_word and isinstance(_accepts(convert, "word")[1], str):
        return "str"
    return "any"


def _kind(action: argparse.Action) -> str:
    if isinstance(action, argparse.BooleanOptionalAction):
        return "bool"
    if action.nargs == 0:
        return "flag"
    if action.nargs == "?":
        return "optional"
    if action.nargs in ("+", "*") or isinstance(action.nargs, int):
        return "list"
    return "value"


def describe(parser: argparse.ArgumentParser) -> dict[str, dict[str, Any]]:
    """One entry per long option that the SageMaker entrypoint can produce (``--snake-name``)."""
    flags: dict[str, dict[str, Any]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        for option in action.option_strings:
            if not option.startswith("--") or (
                isinstance(action, argparse.BooleanOptionalAction) and option.startswith("--no-")
            ):
                continue
            entry: dict[str, Any] = {"kind": _kind(action)}
            if entry["kind"] != "flag" and entry["kind"] != "bool":
                entry["type"] = _value_type(action)
            if action.choices is not None:
                entry["choices"] = [c if isinstance(c, int | float | str) else str(c) for c in action.choices]
            if type(action).__module__ != "argparse":
                entry["action"] = type(action).__name__
            flags[option[2:].replace("-", "_")] = entry
    return flags


def _registered(manager: Any, *attributes: str) -> list[str]:
    lister = getattr(manager, "list_registered", None)
    names: set[str] = set(lister()) if callable(lister) else set()
    for attribute in attributes:
        names.update(getattr(manager, attribute, None) or ())
    return sorted(names)


def _shipped(source: str, candidates: Sequence[str]) -> str:
    """The first of ``candidates`` that is in the release's source tree (a missing one would be stubbed)."""
    for module in candidates:
        where = Path(source, *module.split("."))
        if where.with_suffix(".py").is_file() or (where / "__init__.py").is_file():
            return module
    raise SystemExit(f"none of {', '.join(candidates)} is in {source}")


def introspect(source: str) -> dict[str, Any]:
    _install_stubs(source)
    # The DLC runs on CUDA: flags whose choices depend on the platform (--mm-processor-device) must
    # see that platform, not the one detected on this machine.
    platforms = importlib.import_module("vllm.platforms")
    vars(platforms)["current_platform"] = importlib.import_module("vllm.platforms.cuda").CudaPlatform()
    _guard_default_factories(importlib.import_module("vllm.config"))
    flexible = importlib.import_module("vllm.utils.argparse_utils").FlexibleArgumentParser
    name = _shipped(source, PARSER_MODULES)
    parser = importlib.import_module(name).make_arg_parser(flexible())
    tools = importlib.import_module(_shipped(source, TOOL_PARSER_MODULES)).ToolParserManager
    reasoning = importlib.import_module(_shipped(source, REASONING_PARSER_MODULES)).ReasoningParserManager
    return {
        "parser_module": name,
        "flags": describe(parser),
        "tool_call_parsers": _registered(tools, "tool_parsers", "lazy_parsers"),
        "reasoning_parsers": _registered(reasoning, "reasoning_parsers", "lazy_parsers"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m scripts.vllm_introspect VLLM_SOURCE_DIR", file=sys.stderr)
        return 2
    stdout = sys.stdout
    sys.stdout = sys.stderr  # vLLM logs to stdout while it imports; stdout carries only the JSON
    result = introspect(args[0])
    stdout.write(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
