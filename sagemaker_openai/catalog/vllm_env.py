"""Render a model spec to the container environment the vLLM DLC reads.

The DLC's entrypoint turns each ``SM_VLLM_FOO_BAR=value`` into ``--foo-bar value``; ``true`` becomes a
bare ``--foo-bar`` and ``false`` drops the flag. So a flag vLLM enables by default (prefix caching, for
one) can only be turned off with its negative form: ``SM_VLLM_NO_ENABLE_PREFIX_CACHING=true``.
Lists and mappings are rendered as JSON: the entrypoint of DLC 0.28.0 and later splits an array into one
argument per element, and the config refuses lists for older DLCs (``sagemaker_openai.catalog.vllm_flags``).
"""

import json

from sagemaker_openai.config import ENV_ENTRY_MAX, ENV_TOTAL_MAX, ModelSpec, VllmArgValue
from sagemaker_openai.errors import ConfigError

PREFIX = "SM_VLLM_"


def vllm_flag_variable(name: str, value: VllmArgValue) -> tuple[str, str]:
    """The variable for one vLLM flag given in snake_case."""
    if value is False:
        return f"{PREFIX}NO_{name.upper()}", "true"
    if value is True:
        return f"{PREFIX}{name.upper()}", "true"
    if isinstance(value, list | dict):
        return f"{PREFIX}{name.upper()}", json.dumps(value, separators=(",", ":"))
    return f"{PREFIX}{name.upper()}", str(value)


def container_environment(spec: ModelSpec, *, field: str = "model") -> dict[str, str]:
    """The Environment of the model's container; ``field`` names the spec in errors."""
    flags: dict[str, VllmArgValue] = {
        name: value
        for name, value in spec.vllm.model_dump(exclude={"extra_args"}).items()
        if value is not None
    }
    flags.update(spec.vllm.extra_args)
    flags["served_model_name"] = spec.served_name
    environment: dict[str, str] = {}
    if spec.hf_model_id is not None:
        environment["HF_MODEL_ID"] = spec.hf_model_id
    for name, value in flags.items():
        key, rendered = vllm_flag_variable(name, value)
        if key in environment:
            raise ConfigError(f"{field}.vllm: {name!r} sets {key} a second time; keep one of the two")
        environment[key] = rendered
    environment.update(spec.environment)
    _check_limits(environment, field)
    return dict(sorted(environment.items()))


def _check_limits(environment: dict[str, str], field: str) -> None:
    total = 0
    for key, value in environment.items():
        size = max(len(key.encode()), len(value.encode()))
        if size > ENV_ENTRY_MAX:
            raise ConfigError(
                f"{field}: the value of {key} is {size} bytes; SageMaker allows {ENV_ENTRY_MAX} per entry"
            )
        total += len(key.encode()) + len(value.encode())
    if total > ENV_TOTAL_MAX:
        raise ConfigError(
            f"{field}: the container environment is {total} bytes; SageMaker allows {ENV_TOTAL_MAX} in all"
        )
