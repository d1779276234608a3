"""Read a deployment YAML file and validate it, turning every failure into one line that names the field."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sagemaker_openai import naming
from sagemaker_openai.config.shapes import ADAPTER, MODE_CLASSES, KitConfig
from sagemaker_openai.config.single_model import SingleModelConfig
from sagemaker_openai.errors import ConfigError

DEFAULT_CONFIG_PATH = "config/qwen3-4b.yaml"

# What each pattern-checked field allows, in words rather than the regular expression.
_PATTERN_MEANINGS = {
    "name": (
        "must start with a letter and hold only letters, digits and hyphens, "
        f"ending with a letter or digit (at most {naming.STACK_NAME_MAX} characters)"
    ),
    "key": (
        "must hold only lowercase letters, digits and hyphens, starting and ending with a letter or digit "
        f"(at most {naming.MODEL_KEY_MAX} characters)"
    ),
    "region": "must be an AWS region code such as us-east-1",
    "hf_model_id": "must be a Hugging Face repository ID such as Qwen/Qwen3-4B",
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects a repeated mapping key (PyYAML keeps the last one silently)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (pass -c config=PATH or CONFIG=PATH)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML: {where}{problem}") from None
    if data is None:
        raise ConfigError(f"{path}: the config file is empty; see {DEFAULT_CONFIG_PATH} for an example")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the config must be a mapping of fields (name: ..., model: ...), "
            f"not a {type(data).__name__}"
        )
    return data


def _allowed_fields(loc: tuple[int | str, ...], mode: str) -> list[str]:
    """The field names allowed at the mapping that holds ``loc``."""
    model: type[BaseModel] | None = MODE_CLASSES.get(mode, SingleModelConfig)
    for part in loc[:-1]:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _spec_class(field.annotation)
    return sorted(model.model_fields) if model is not None else []


def _spec_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _spec_class(arg)
        if found is not None:
            return found
    return None


def _describe(error: ErrorDetails, mode: str, overrides: Mapping[str, str]) -> str:
    loc = tuple(part for part in error["loc"] if part not in MODE_CLASSES)
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    if loc and loc[0] in overrides:
        field = f"{loc[0]} (from {overrides[str(loc[0])]})"
    if error["type"] == "extra_forbidden":
        allowed = _allowed_fields(loc, mode)
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"{field}: unknown field{hint}"
    message = error["msg"].removeprefix("Value error, ")
    if field and message.startswith(f"{field}."):
        return message  # a nested check that already names its field (image.vllm_version: ...)
    if error["type"] == "string_pattern_mismatch" and loc and str(loc[-1]) in _PATTERN_MEANINGS:
        message = _PATTERN_MEANINGS[str(loc[-1])]
    given = error.get("input")
    if error["type"] not in {"missing", "model_type"} and isinstance(given, str | int | float | bool):
        message = f"{message} (got {given!r})"
    return f"{field}: {message}" if field else message


def parse_config(
    data: Mapping[str, Any], *, source: str = "<config>", overrides: Mapping[str, str] | None = None
) -> KitConfig:
    """Validate a config mapping; ``source`` names it in errors, ``overrides`` maps a field to its flag."""
    raw = dict(data)
    mode = raw.setdefault("mode", "single_model")
    if not isinstance(mode, str) or mode not in MODE_CLASSES:
        raise ConfigError(f"{source}: mode: must be one of {', '.join(MODE_CLASSES)} (got {mode!r})")
    try:
        return ADAPTER.validate_python(raw)
    except ValidationError as exc:
        problems = [_describe(error, str(mode), overrides or {}) for error in exc.errors()]
        raise ConfigError(f"{source}: {'; '.join(problems)}") from None


def load_config(path: str, *, stack_name: str | None = None) -> KitConfig:
    """Read and validate the config at ``path``; ``stack_name`` (``-c stack_name``) overrides ``name``."""
    data = _read_yaml(path)
    overrides: dict[str, str] = {}
    if stack_name is not None:
        data["name"] = stack_name
        overrides["name"] = "-c stack_name"
    return parse_config(data, source=path, overrides=overrides)
