"""Check a model's vLLM flags against the catalog of the release in its DLC, as the DLC will pass them.

The DLC's SageMaker entrypoint (aws/deep-learning-containers ``scripts/docker/vllm/sagemaker_args.py``
from the 0.28.0 builds on; ``scripts/vllm/sagemaker_entrypoint.sh`` before) turns ``SM_VLLM_X=value``
into ``--x value``: ``true`` (any case, stripped) gives a bare ``--x``, ``false`` drops the flag, an
empty value gives a bare ``--x``. From 0.28.0 a JSON array gives one argument per element, except for
the ``SINGLE_TOKEN_FLAGS``; the older shell loop passed every value as one token, and those images are
rebuilt under the same tag, so a list there is refused. vLLM then refuses an unknown flag or a bad
value, and the endpoint never becomes healthy: each check here is one of those refusals, at synth.
This module checks the names, the entrypoint's forms and the start-up rules; how one value is read
(converters, config-class keys, bounds, registries) is ``sagemaker_openai.catalog.vllm_values``.
"""

import difflib
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sagemaker_openai.catalog.vllm_catalog import Catalog, Flag
from sagemaker_openai.catalog.vllm_values import check_element, check_scalar, current_value, other_releases

# The entrypoint keeps a JSON array as one token for these (sagemaker_args.py SINGLE_TOKEN_FLAGS).
SINGLE_TOKEN_FLAGS = frozenset({"allowed_origins", "allowed_methods", "allowed_headers", "middleware"})
# The first DLC version whose entrypoint splits a JSON array into one argument per element.
SPLITS_ARRAYS_FROM = (0, 28, 0)
# Set by the kit from the model fields (served_model_name) or by the entrypoint (port, model).
KIT_FLAGS = frozenset({"model", "served_model_name", "port"})
_PLUGIN_FOR_PARSER = {"tool_call_parser": "tool_parser_plugin", "reasoning_parser": "reasoning_parser_plugin"}
_PARSER_NAMES = {"tool_call_parser": "tool-call", "reasoning_parser": "reasoning"}
_STRINGS_THE_ENTRYPOINT_READS = {"true": "a bare {option}", "": "a bare {option}", "false": "no flag at all"}
_SHOWN_CHOICES = 24

# What a flag's value may be in the config; the kit renders lists and mappings as JSON. A list may hold
# mappings (lora_modules: [{name: ..., path: ...}]): the entrypoint passes each as one JSON argument.
VllmArgValue = str | int | float | bool | list[str | int | float | dict[str, Any]] | dict[str, Any]


@dataclass(frozen=True)
class UserFlag:
    """One flag as the user wrote it: ``path`` is the key in the config (``model.vllm.extra_args.x``)."""

    path: str
    key: str
    value: VllmArgValue
    typed: bool


def splits_arrays(version: str | None) -> bool:
    """Whether this DLC version's entrypoint passes a JSON array as one argument per element."""
    if version is None:
        return True  # a custom image of unknown version: assume today's entrypoint
    parts = tuple(int(part) if part.isdigit() else 0 for part in version.split(".")[:3])
    return parts >= SPLITS_ARRAYS_FROM


def check_flags(
    flags: Sequence[UserFlag],
    catalog: Catalog,
    *,
    dlc_version: str | None,
    vllm_path: str,
    typed_fields: Collection[str],
) -> list[str]:
    """Every problem vLLM ``catalog.vllm`` would refuse at start-up, one ``path: message; fix`` each.

    ``vllm_path`` is where the model's vllm settings sit (``models[1].vllm``) and ``typed_fields``
    the flags that have a field of their own there, so that a fix can name the key to set.
    """
    problems: list[str] = []
    # The flags that turn their option on or give it a value (a --no-x form leaves x off).
    given = {flag.key: flag for flag in flags if flag.key in catalog.flags}
    for flag in flags:
        problem = _check_one(flag, catalog, dlc_version, given)
        if problem:
            problems.append(f"{flag.path}: {problem}")
    problems.extend(_check_pairings(given, catalog, vllm_path, typed_fields))
    problems.extend(_check_rules(flags, catalog))
    return problems


def _check_one(
    flag: UserFlag, catalog: Catalog, dlc_version: str | None, given: Mapping[str, UserFlag]
) -> str:
    spec = catalog.flags.get(flag.key)
    if spec is None:
        return _check_negative(flag, catalog)
    value = flag.value
    if isinstance(value, bool):
        return _check_bool(spec, value, typed=flag.typed, release=f"vLLM {catalog.vllm}")
    if isinstance(value, str) and value.strip().lower() in _STRINGS_THE_ENTRYPOINT_READS:
        return _check_reserved_string(spec, value)
    if not spec.needs_value and spec.kind != "optional":
        return (
            f"{spec.option} takes no value in vLLM {catalog.vllm}; write true to pass it, or remove the key"
        )
    shape = _json_array(value) if isinstance(value, str) and splits_arrays(dlc_version) else value
    if isinstance(shape, list):
        return _check_list(spec, shape, catalog, dlc_version)
    return _check_value(spec, shape, catalog, given)


def _check_negative(flag: UserFlag, catalog: Catalog) -> str:
    """``no_x: true`` passes ``--no-x`` where x has that form; any other key not in the catalog is unknown."""
    base = catalog.flags.get(flag.key.removeprefix("no_")) if flag.key.startswith("no_") else None
    if base is None or not base.has_no_form:
        return _unknown(flag.key, catalog)
    if flag.value is True:
        return ""
    return f"--{flag.key.replace('_', '-')} takes no value; write true, or set {base.name}: false"


def _json_array(value: str) -> str | list[object]:
    """The list a string stands for when the entrypoint will split it as a JSON array, else the string."""
    text = value.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return value
    try:
        parsed = json.loads(text)
    except ValueError:
        return value
    return parsed if isinstance(parsed, list) else value


def _unknown(key: str, catalog: Catalog) -> str:
    option = f"--{key.replace('_', '-')}"
    base = key.removeprefix("no_")
    elsewhere = other_releases(
        catalog, lambda c: base in c.flags and (key == base or c.flags[base].has_no_form)
    )
    if elsewhere:
        return f"vLLM {catalog.vllm} has no flag {option}: it {elsewhere}"
    names = [name for name in catalog.flags if name not in KIT_FLAGS]
    names += [f"no_{f.name}" for f in catalog.flags.values() if f.has_no_form]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    fix = (
        f"did you mean {close[0]} (--{close[0].replace('_', '-')})?"
        if close
        else f"remove it, or check `vllm serve --help` of vLLM {catalog.vllm}"
    )
    return f"vLLM {catalog.vllm} has no flag {option}; {fix}"


def _check_bool(spec: Flag, value: bool, *, typed: bool, release: str) -> str:
    if value:
        if spec.needs_value:  # the entrypoint passes true as a bare flag
            return (
                f"{spec.option} needs a value in {release}, and true would pass it bare; "
                f"give the value{_allowed(spec)}"
            )
        return ""
    if spec.has_no_form:
        return ""
    leave_off = "set it to null" if typed else "remove the key"
    return f"{spec.option} has no --no- form in {release}, so false cannot pass; {leave_off} to leave it off"


def _check_reserved_string(spec: Flag, value: str) -> str:
    if not spec.needs_value and spec.kind != "optional":
        if value.strip().lower() == "false" and not spec.has_no_form:
            return (
                f"the string {value!r} is not a boolean, and {spec.option} has no --no- form; remove the key"
            )
        bare = value.strip().lower() or "true"
        return f"the string {value!r} is not a boolean; write {bare} without quotes"
    reading = _STRINGS_THE_ENTRYPOINT_READS[value.strip().lower()].format(option=spec.option)
    if spec.kind == "optional":
        return (
            f"the DLC's entrypoint reads the string {value!r} as {reading}; "
            "write true without quotes for the bare flag, or give the value itself"
        )
    return (
        f"{spec.option} needs a value, but the DLC's entrypoint reads the string {value!r} as {reading}; "
        f"give the value itself{_allowed(spec)}"
    )


def _check_list(  # noqa: PLR0911 - one answer per refusal
    spec: Flag, value: Sequence[object], catalog: Catalog, dlc_version: str | None
) -> str:
    single_token = spec.name in SINGLE_TOKEN_FLAGS
    if single_token and spec.takes_object:
        return ""
    if spec.kind != "list" or single_token:
        return f"{spec.option} takes one value in vLLM {catalog.vllm}, not a list"
    if not value:
        return f"an empty list passes nothing to {spec.option}; remove the key"
    if not splits_arrays(dlc_version):
        return (
            f"the entrypoint of DLC {dlc_version} may pass a list to {spec.option} as one literal token; "
            "use image.vllm_version 0.28.0 or later for list values"
        )
    for element in value:
        if spec.choices is not None and not _in_choices(element, spec.choices):
            return f"{spec.option} does not accept {element!r} in vLLM {catalog.vllm}{_allowed(spec)}"
        problem = check_element(spec, element, catalog)
        if problem:
            return problem
    return ""


def _check_value(spec: Flag, value: object, catalog: Catalog, given: Mapping[str, UserFlag]) -> str:
    if isinstance(value, dict):
        if not spec.takes_object:
            return f"{spec.option} takes one {spec.type} value, not a mapping"
        return check_scalar(spec, value, catalog, _turned_on(given))
    release = f"vLLM {catalog.vllm}"
    if spec.choices is not None:
        if not isinstance(value, str) and all(isinstance(c, str) for c in spec.choices):
            return f"{spec.option} takes a name, not the number {value!r}{_allowed(spec)}"
        if not _in_choices(value, spec.choices):
            return f"{spec.option} does not accept {value!r} in {release}{_allowed(spec)}"
    if spec.name in _PARSER_NAMES and _PLUGIN_FOR_PARSER[spec.name] not in given and isinstance(value, str):
        problem = _check_parser_name(spec.name, value, catalog)
        if problem:
            return problem
    return check_scalar(spec, value, catalog, _turned_on(given))


def _check_parser_name(flag: str, value: str, catalog: Catalog) -> str:
    registered = catalog.tool_call_parsers if flag == "tool_call_parser" else catalog.reasoning_parsers
    if value in registered:
        return ""
    release, parser = f"vLLM {catalog.vllm}", _PARSER_NAMES[flag]
    elsewhere = other_releases(catalog, _registers(flag, value))
    if elsewhere:
        return f"{release} registers no {parser} parser {value!r}: it {elsewhere}"
    close = difflib.get_close_matches(value, registered, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{release} registers no {parser} parser {value!r}; {hint}registered: {', '.join(registered)}"


def _registers(flag: str, name: str) -> Callable[[Catalog], bool]:
    return lambda other: (
        name in (other.tool_call_parsers if flag == "tool_call_parser" else other.reasoning_parsers)
    )


def _turned_on(given: Mapping[str, UserFlag]) -> list[str]:
    return [name for name, flag in given.items() if _set(flag) is not None]


def _in_choices(value: object, choices: Iterable[object]) -> bool:
    return any(value == choice or str(value) == str(choice) for choice in choices)


def _allowed(spec: Flag) -> str:
    if spec.choices is None:
        return ""
    shown = [str(c) for c in spec.choices if c != "None"]
    more = f", ... ({len(shown)} in all)" if len(shown) > _SHOWN_CHOICES else ""
    return f"; allowed: {', '.join(shown[:_SHOWN_CHOICES])}{more}"


def _set(flag: UserFlag | None) -> UserFlag | None:
    """The flag if it turns its option on (not false, not empty)."""
    if flag is None or flag.value is False or flag.value == "":
        return None
    return flag


def _check_pairings(
    given: Mapping[str, UserFlag], catalog: Catalog, vllm_path: str, typed_fields: Collection[str]
) -> list[str]:
    problems = []
    for needs, needed in catalog.requires:
        flag = _set(given.get(needs))
        if flag is not None and _set(given.get(needed)) is None:
            other = given.get(needed)
            key = needed if needed in typed_fields else f"extra_args.{needed}"
            target = other.path if other else f"{vllm_path}.{key}"
            problems.append(
                f"{flag.path}: --{needs.replace('_', '-')} needs --{needed.replace('_', '-')} "
                f"in vLLM {catalog.vllm}; set {target}, or leave {needs} off"
            )
    for first, second in catalog.conflicts:
        a, b = _set(given.get(first)), _set(given.get(second))
        if a is not None and b is not None:
            problems.append(
                f"{a.path}: --{first.replace('_', '-')} cannot be used with --{second.replace('_', '-')} "
                f"({b.path}) in vLLM {catalog.vllm}; remove one of them"
            )
    return problems


_ATOM_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "truthy": lambda value, _: bool(value),
    "falsy": lambda value, _: not value,
    "==": lambda value, literal: value == literal,
    "!=": lambda value, literal: value != literal,
    "is": lambda value, literal: value is literal,
    "is not": lambda value, literal: value is not literal,
    "in": lambda value, literal: value in literal,
    "not in": lambda value, literal: value not in literal,
    "<": lambda value, literal: value < literal,
    "<=": lambda value, literal: value <= literal,
    ">": lambda value, literal: value > literal,
    ">=": lambda value, literal: value >= literal,
}
_ORDERED = ("<", "<=", ">", ">=")


def _check_rules(flags: Sequence[UserFlag], catalog: Catalog) -> list[str]:
    """The release's other start-up checks on the flags alone, each with the flags' values as vLLM holds them.

    A flag not given takes the default the catalog records; a rule with a flag of unknown value is skipped.
    """
    given: dict[str, UserFlag] = {}
    for flag in flags:
        base = flag.key.removeprefix("no_")
        if flag.key in catalog.flags:
            given[flag.key] = flag
        elif base != flag.key and base in catalog.flags and flag.value is True:
            given[base] = UserFlag(flag.path, base, False, typed=flag.typed)  # --no-x leaves x off
    problems = []
    for rule in catalog.refuse_when:
        involved = [given[name] for name, _, _ in rule.when if name in given]
        if not involved or not all(_holds(atom, given, catalog) for atom in rule.when):
            continue
        names = dict.fromkeys(name for name, _, _ in rule.when)  # in order, once each
        shown = " with ".join(_shown(name, given) for name in names)
        problems.append(
            f"{involved[0].path}: vLLM {catalog.vllm} refuses {shown} at start-up: "
            f"{rule.message.rstrip('.')}; change the value"
        )
    return problems


def _holds(atom: tuple[str, str, Any], given: Mapping[str, UserFlag], catalog: Catalog) -> bool:
    name, op, literal = atom
    spec = catalog.flags.get(name)
    if spec is None:
        return False
    flag = given.get(name)
    known, value = current_value(spec, flag.value if flag else None, flag is not None)
    if not known or op not in _ATOM_TESTS:
        return False
    numbers = (int, float)
    if op in _ORDERED and not (isinstance(value, numbers) and isinstance(literal, numbers)):
        return False
    try:
        return _ATOM_TESTS[op](value, literal)
    except TypeError:
        return False


def _shown(name: str, given: Mapping[str, UserFlag]) -> str:
    option = f"--{name.replace('_', '-')}"
    flag = given.get(name)
    if flag is None:
        return f"the default {option}"
    if flag.value is True:
        return option
    if flag.value is False:
        return f"--no-{name.replace('_', '-')}"
    return f"{option} {flag.value}"
