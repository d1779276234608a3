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
# vLLM's own converters, named as in vllm/utils/argparse_utils.py and vllm/engine/arg_utils.py.
_VLLM_CONVERTERS = ("human_readable_int", "human_readable_int_or_auto", "union_dict_and_str")
_NUMERIC_CONVERTERS = ("int", "float", "human_readable_int", "human_readable_int_or_auto")
# The value registries argparse does not hold: (flag, module, list attribute) per registry.
REGISTRIES = {
    "quantization": ("vllm.model_executor.layers.quantization", "QUANTIZATION_METHODS"),
    "deprecated_quantization": ("vllm.model_executor.layers.quantization", "DEPRECATED_QUANTIZATION_METHODS"),
}


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


def _closure_value(function: Callable[..., Any], name: str) -> Any:
    code = getattr(function, "__code__", None)
    if code is None or name not in code.co_freevars or function.__closure__ is None:
        return None
    return function.__closure__[code.co_freevars.index(name)].cell_contents


def converter(convert: Any) -> tuple[str, bool, type | None]:
    """The callable vLLM converts a flag's text with: (name, accepts "None"/"", config class or None).

    vLLM wraps its converters in ``optional_type`` (``""`` and ``"None"`` give None) and ``parse_type``;
    both keep the wrapped callable in their closure as ``return_type``.
    """
    optional = False
    if getattr(convert, "__name__", "") == "_optional_type":
        optional, convert = True, _closure_value(convert, "return_type")
    if getattr(convert, "__name__", "") == "_parse_type":
        convert = _closure_value(convert, "return_type")
    if convert is None or convert is str:
        return "str", optional, None
    if convert is int or convert is float:
        return convert.__name__, optional, None
    if convert is json.loads:
        return "json.loads", optional, None
    name = getattr(convert, "__name__", "")
    defaults = getattr(convert, "__defaults__", None) or ()
    if name == "parse_dataclass" and defaults and isinstance(defaults[0], type):
        return "config", optional, defaults[0]
    if name in _VLLM_CONVERTERS and str(getattr(convert, "__module__", "")).startswith("vllm."):
        return name, optional, None
    return "custom", optional, None


def _constraints(metadata: Sequence[Any]) -> dict[str, float]:
    """``Field(ge=1)`` and the like: pydantic keeps them as annotated_types objects in ``metadata``."""
    bounds: dict[str, float] = {}
    for item in metadata:
        for bound in ("ge", "gt", "le", "lt"):
            value = getattr(item, bound, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds[bound] = value
    return bounds


def _source_field(config_class: type | None, dest: str) -> Any:
    """The pydantic field of the config class (the parser group's title) that a flag comes from."""
    fields = getattr(config_class, "__pydantic_fields__", None) or {}
    return fields.get(dest)


def _classes_in(annotation: Any) -> Iterator[type]:
    if isinstance(annotation, type):
        yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _classes_in(arg)


def config_fields(config_class: type, into: dict[str, dict[str, str | None]]) -> None:
    """The keys a JSON mapping may hold for ``config_class`` (its init fields), nested classes by name."""
    if config_class.__name__ in into:
        return
    fields: dict[str, str | None] = {}
    into[config_class.__name__] = fields
    pydantic_fields = getattr(config_class, "__pydantic_fields__", None) or {}
    for field in dataclasses.fields(config_class):
        if not field.init:
            continue
        annotation = getattr(pydantic_fields.get(field.name), "annotation", field.type)
        nested = next((c for c in _classes_in(annotation) if dataclasses.is_dataclass(c)), None)
        fields[field.name] = nested.__name__ if nested is not None else None
        if nested is not None:
            config_fields(nested, into)


def describe(
    parser: argparse.ArgumentParser, classes: dict[str, dict[str, str | None]] | None = None
) -> dict[str, dict[str, Any]]:
    """One entry per long option that the SageMaker entrypoint can produce (``--snake-name``).

    ``classes`` collects the fields of the config classes that JSON flags are parsed into.
    """
    config_module = importlib.import_module("vllm.config")
    group_class: dict[int, type | None] = {}
    for group in parser._action_groups:
        found = getattr(config_module, str(group.title), None)
        for action in group._group_actions:
            group_class[id(action)] = found if isinstance(found, type) else None
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
                _describe_value(entry, action, group_class.get(id(action)), classes)
            if action.choices is not None:
                entry["choices"] = [c if isinstance(c, int | float | str) else str(c) for c in action.choices]
            if action.default is None or isinstance(action.default, bool | int | float | str):
                entry["default"] = action.default
            if type(action).__module__ != "argparse":
                entry["action"] = type(action).__name__
            flags[option[2:].replace("-", "_")] = entry
    return flags


def _describe_value(
    entry: dict[str, Any],
    action: argparse.Action,
    group: type | None,
    classes: dict[str, dict[str, str | None]] | None,
) -> None:
    """The converter, the config class a JSON value is read into, and the bounds of one flag."""
    name, optional, config_class = converter(action.type)
    entry["convert"] = name
    if optional:
        entry["optional"] = True
    source = _source_field(group, action.dest)
    annotation = getattr(source, "annotation", None)
    if config_class is None and name in ("json.loads", "union_dict_and_str"):
        # --speculative-config is read with json.loads to delay validation; the class still decides.
        config_class = next((c for c in _classes_in(annotation) if dataclasses.is_dataclass(c)), None)
    if config_class is not None:
        entry["config"] = config_class.__name__
        if classes is not None:
            config_fields(config_class, classes)
    if source is not None:
        bounds = _constraints(getattr(source, "metadata", ()))
        if bounds and name in _NUMERIC_CONVERTERS:
            entry["range"] = bounds


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
    classes: dict[str, dict[str, str | None]] = {}
    flags = describe(parser, classes)
    return {
        "parser_module": name,
        "flags": flags,
        "config_classes": classes,
        "registries": _registries(),
        "tool_call_parsers": _registered(tools, "tool_parsers", "lazy_parsers"),
        "reasoning_parsers": _registered(reasoning, "reasoning_parsers", "lazy_parsers"),
    }


def _registries() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, (module, attribute) in REGISTRIES.items():
        values = getattr(importlib.import_module(module), attribute, None)
        if values is not None:
            found[key] = sorted(str(v) for v in values)
    return found


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
