"""Read one flag's value the way its vLLM release will, from what the catalog records, without vLLM.

The catalog names each flag's converter (``int``, ``float``, ``human_readable_int``, ``json.loads``,
a config class...), the pydantic bounds of the config field behind it, the fields of each config
class a JSON value is read into, and the registries the release keeps in source (quantization
methods). The converters are mirrored here on the text the DLC's entrypoint will pass (the kit
renders a list or mapping as compact JSON, anything else with ``str``); each check returns "" or
one ``message; fix``.
"""

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from sagemaker_openai.catalog.vllm_catalog import NO_DEFAULT, Catalog, Flag, catalog_versions, load_catalog

# vllm/utils/argparse_utils.py human_readable_int: k, m, g, t are decimal; K, M, G, T binary.
_HUMAN_READABLE = re.compile(r"(\d+(?:\.\d+)?)([kKmMgGtT])")
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
# vllm/engine/arg_utils.py: union_dict_and_str reads a value as JSON only when it looks like an object,
# and a config class's JSON may hold bare human-readable numbers ({"cpu_bytes_to_use": 80m}).
_OBJECT_TEXT = re.compile(r"(?s)^\s*{.*}\s*$")
_QUOTED = re.compile(r'("(?:[^"\\]|\\.)*")')
_BARE_HUMAN_NUMBER = re.compile(r"\b\d+(?:\.\d+)?[kKmMgGtT]\b")
_NUMERIC = ("int", "float", "human_readable_int", "human_readable_int_or_auto")
_JSON = ("json.loads", "config", "union_dict_and_str")
_HUMAN = "an integer such as 8192, 8k (8000) or 8K (8192)"
_EXPECTS = {
    "int": "an integer",
    "float": "a number",
    "human_readable_int": _HUMAN,
    "human_readable_int_or_auto": f"{_HUMAN}, or auto",
    "json.loads": "JSON: a mapping, a list, or a string that parses as JSON",
    "config": "a mapping (or a string that parses as a JSON object)",
}
_BOUNDS = {
    "ge": (">=", float.__ge__),
    "gt": (">", float.__gt__),
    "le": ("<=", float.__le__),
    "lt": ("<", float.__lt__),
}
_SHOWN = 24


def rendered(value: object) -> str:
    """The text the DLC's entrypoint passes for ``value`` (as ``catalog.vllm_env`` renders it)."""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def human_readable_int(text: str) -> int:
    """vLLM's ``human_readable_int``: ``8k`` is 8000, ``8K`` 8192, ``1.5K`` an error, else ``int``."""
    text = text.strip()
    match = _HUMAN_READABLE.fullmatch(text)
    if match is None:
        return int(text)
    number, suffix = match.groups()
    if suffix in _DECIMAL:
        return int(float(number) * _DECIMAL[suffix])
    return int(number) * _BINARY[suffix]  # a decimal with a binary suffix raises, as in vLLM


def _expand_human_numbers(text: str) -> str:
    parts = _QUOTED.split(text)
    for index in range(0, len(parts), 2):  # outside the quoted strings
        parts[index] = _BARE_HUMAN_NUMBER.sub(lambda m: str(human_readable_int(m.group())), parts[index])
    return "".join(parts)


def _config_object(text: str) -> Any:
    parsed = json.loads(_expand_human_numbers(text))
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


def _human_or_auto(text: str) -> int:
    stripped = text.strip()
    return -1 if stripped == "-1" or stripped.lower() == "auto" else human_readable_int(stripped)


def _union_dict_and_str(text: str) -> Any:
    return json.loads(text) if _OBJECT_TEXT.match(text) else text


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "human_readable_int": human_readable_int,
    "human_readable_int_or_auto": _human_or_auto,
    "json.loads": json.loads,
    "config": _config_object,
    "union_dict_and_str": _union_dict_and_str,
}


def convert(spec: Flag, text: str) -> Any:
    """What vLLM makes of ``text`` for this flag; raises ValueError where vLLM's converter refuses it."""
    if spec.optional and text in ("", "None"):  # vLLM's optional_type
        return None
    converter = _CONVERTERS.get(spec.convert or "str")
    return text if converter is None else converter(text)


def check_scalar(spec: Flag, value: object, catalog: Catalog, on: Collection[str] = ()) -> str:
    """The problem vLLM would have with one value of ``spec`` (a mapping, a number or a string), or "".

    ``on`` holds the flags the config turns on (``allow_deprecated_quantization``).
    """
    if isinstance(value, dict) and spec.convert not in _JSON:
        return ""  # a mapping for a flag vLLM does not read as JSON is refused by the caller
    problem, converted = _converted(spec, value, catalog)
    if problem:
        return problem
    if isinstance(converted, dict) and spec.config:
        problem = config_keys(catalog, spec.config, converted, spec.option)
    return (
        problem or _out_of_bounds(spec, converted, value, catalog) or _unregistered(spec, value, catalog, on)
    )


def check_element(spec: Flag, element: object, catalog: Catalog) -> str:
    """The problem vLLM would have with one element of a list flag (passed as its own argument), or ""."""
    if spec.action is not None:
        return ""  # an action of its own (--lora-modules reads name=path or a JSON mapping) is not mirrored
    problem, converted = _converted(spec, element, catalog)
    return problem or _out_of_bounds(spec, converted, element, catalog)


def _converted(spec: Flag, value: object, catalog: Catalog) -> tuple[str, Any]:
    text = rendered(value)
    try:
        return "", convert(spec, text)
    except (ValueError, TypeError, ArithmeticError):
        expects = _EXPECTS.get(spec.convert or "", "another value")
        if spec.convert in ("json.loads", "config") and isinstance(value, str):
            return (
                f"{spec.option} reads its value as JSON in vLLM {catalog.vllm}, and {value!r} does not "
                f"parse; write {expects}"
            ), None
        return (
            f"{spec.option} reads {value!r} with {spec.convert} in vLLM {catalog.vllm}, which refuses it; "
            f"write {expects}"
        ), None


def _out_of_bounds(spec: Flag, converted: object, value: object, catalog: Catalog) -> str:
    if not spec.bounds or spec.convert not in _NUMERIC or not isinstance(converted, int | float):
        return ""
    if spec.convert == "human_readable_int_or_auto" and converted == -1:
        return ""  # auto
    for bound, limit in sorted(spec.bounds.items()):
        symbol, holds = _BOUNDS[bound]
        if not holds(float(converted), float(limit)):
            wanted = f"{symbol} {limit:g}"
            return (
                f"{spec.option} must be {wanted} in vLLM {catalog.vllm} (got {value!r}); set a value {wanted}"
            )
    return ""


def _unregistered(spec: Flag, value: object, catalog: Catalog, on: Collection[str]) -> str:
    known = catalog.registries.get(spec.name)
    if known is None or value is None or not isinstance(value, str) or value in ("", "None"):
        return ""
    if value not in known:
        close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"vLLM {catalog.vllm} has no {spec.name} method {value!r}; {hint}known: {', '.join(known)}"
    deprecated = catalog.registries.get(f"deprecated_{spec.name}", ())
    allow = f"allow_deprecated_{spec.name}"
    if value in deprecated and allow in catalog.flags and allow not in on:
        return (
            f"the {spec.name} method {value!r} is deprecated in vLLM {catalog.vllm}, which refuses it "
            f"without --{allow.replace('_', '-')}; set extra_args.{allow}: true, or choose another"
        )
    return ""


def config_keys(
    catalog: Catalog, class_name: str, mapping: Mapping[str, Any], option: str, prefix: str = ""
) -> str:
    """An unknown key of a mapping vLLM reads into ``class_name`` (config classes forbid extra keys)."""
    fields = catalog.config_classes.get(class_name)
    if fields is None:
        return ""
    for key, value in mapping.items():
        if key not in fields:
            where = f"{prefix}{key}"
            elsewhere = other_releases(catalog, _has_key(class_name, key))
            if elsewhere:
                return f"{option}: {class_name} has no key {where!r} in vLLM {catalog.vllm}: it {elsewhere}"
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            shown = sorted(fields)
            more = f", ... ({len(shown)} in all)" if len(shown) > _SHOWN else ""
            fix = f"did you mean {prefix}{close[0]}?" if close else f"keys: {', '.join(shown[:_SHOWN])}{more}"
            return f"{option}: {class_name} has no key {where!r} in vLLM {catalog.vllm}; {fix}"
        nested = fields[key]
        if nested is not None and isinstance(value, dict):
            problem = config_keys(catalog, nested, value, option, f"{prefix}{key}.")
            if problem:
                return problem
    return ""


def _has_key(class_name: str, key: str) -> Callable[[Catalog], bool]:
    return lambda other: key in other.config_classes.get(class_name, {})


def other_releases(catalog: Catalog, has: Callable[[Catalog], bool]) -> str:
    """Where other catalogued releases have what ``catalog`` lacks: "needs image.vllm_version X or
    later; ..." (the oldest later release with it) or "was removed in vLLM X ...", else ""."""
    current = version_key(catalog.vllm)
    having = []
    for version in catalog_versions():
        other = load_catalog(version) if version != catalog.vllm else None
        if other is not None and has(other):
            having.append(version)
    later = [v for v in having if version_key(v) > current]
    if later:
        return f"needs image.vllm_version {later[0]} or later; set it, or remove the key"
    if not having:
        return ""
    last = max(having, key=version_key)
    removed = next((v for v in catalog_versions() if version_key(v) > version_key(last)), catalog.vllm)
    return f"was removed in vLLM {removed} (the last release with it is {last}); remove the key"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def current_value(spec: Flag, given: object, is_given: bool) -> tuple[bool, Any]:
    """(known, value) of a flag as vLLM will hold it: the given value, converted, or the default."""
    if not is_given:
        return (spec.default is not NO_DEFAULT), (None if spec.default is NO_DEFAULT else spec.default)
    if isinstance(given, bool) or spec.convert not in _NUMERIC:
        return True, given
    try:
        return True, convert(spec, rendered(given))
    except (ValueError, TypeError, ArithmeticError):
        return False, None
