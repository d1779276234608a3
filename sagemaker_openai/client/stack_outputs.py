"""A deployed stack's outputs: the endpoint, and the OpenAI base URL of each model on it.

Read from the JSON `cdk deploy --outputs-file` writes ({"<Stack>": {"<OutputKey>": "<value>"}}) or from
CloudFormation. The `ClientConfig` output (a JSON string, schema_version 1) is preferred; without it the
individual outputs (OpenAIBaseUrl, or OpenAIBaseUrl<Key> per inference component) are used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar, cast

from sagemaker_openai.client.destinations import UntrustedHostError, check_token_destination
from sagemaker_openai.client.endpoint_url import (
    ENDPOINT_VARIABLES,
    configured_runtime_endpoint,
    with_endpoint,
)
from sagemaker_openai.client.errors import StackOutputsError
from sagemaker_openai.client.urls import region_from_host

SCHEMA_VERSION = 1
SINGLE_MODEL_KEY = "default"
Mode = Literal["single_model", "inference_component"]
_MODES: tuple[Mode, ...] = ("single_model", "inference_component")
_PER_MODEL_URL = re.compile(r"^OpenAIBaseUrl(?P<key>[A-Za-z0-9]+)$")
_T = TypeVar("_T")


@dataclass(frozen=True)
class ModelTarget:
    """One model's OpenAI base URL; `served_model_name` is what to send as `model` ("" lets vLLM pick)."""

    key: str
    base_url: str
    inference_component_name: str | None
    served_model_name: str


@dataclass(frozen=True)
class StackOutputs:
    stack_name: str
    mode: Mode
    region: str
    endpoint_name: str
    models: Mapping[str, ModelTarget] = field(hash=False)
    endpoint_arn: str | None = None
    invoker_role_arn: str | None = None
    invoker_policy_arn: str | None = None

    def target(self, key: str | None = None) -> ModelTarget:
        """The model `key` names; with one model, `key` may be omitted."""
        if key is None:
            if len(self.models) == 1:
                return next(iter(self.models.values()))
            raise StackOutputsError(
                f"stack {self.stack_name} serves several models ({', '.join(self.models)}); "
                "pick one with --model-key (model_key= in code)"
            )
        if key not in self.models:
            raise StackOutputsError(
                f"stack {self.stack_name} has no model {key!r}; its models are {', '.join(self.models)}"
            )
        return self.models[key]

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: Mapping[str, str], *, source: str) -> StackOutputs:
        """Build from one stack's OutputKey -> OutputValue map; errors name `source`."""
        where = f"{source}, stack {stack_name}"
        if "ClientConfig" in outputs:
            stack = _from_client_config(outputs["ClientConfig"], where)
        else:
            stack = _from_individual_outputs(stack_name, outputs, where)
        # The region was read from the outputs (or the original runtime host) first; now re-aim the URLs.
        endpoint = configured_runtime_endpoint()
        if endpoint is None:
            return stack
        models = {
            key: replace(m, base_url=with_endpoint(m.base_url, endpoint)) for key, m in stack.models.items()
        }
        # The re-aimed URLs get a token too: refuse them now, as the outputs' own URLs are refused.
        for model in models.values():
            try:
                check_token_destination(model.base_url)
            except UntrustedHostError as exc:
                raise UntrustedHostError(f"{ENDPOINT_VARIABLES} re-aims {where}: {exc}") from None
        return replace(stack, models=models)

    @classmethod
    def from_file(cls, path: str | Path, stack_name: str | None = None) -> StackOutputs:
        """Read a `cdk deploy --outputs-file` JSON; `stack_name` is needed when it holds several stacks."""
        stacks = _read_outputs_file(Path(path))
        if stack_name is None:
            if len(stacks) != 1:
                raise StackOutputsError(
                    f"{path} holds {len(stacks)} stacks ({', '.join(stacks) or 'none'}); pass --stack NAME"
                )
            stack_name = next(iter(stacks))
        if stack_name not in stacks:
            raise StackOutputsError(
                f"stack {stack_name} is not in {path} (it holds {', '.join(stacks) or 'no stacks'}); "
                "check --stack, or deploy it with `cdk deploy --outputs-file`"
            )
        return cls.from_outputs(stack_name, stacks[stack_name], source=str(path))


def _read_outputs_file(path: Path) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackOutputsError(
            f"outputs file {path} does not exist; run `cdk deploy --outputs-file {path}` or fix the path"
        ) from None
    except OSError as exc:
        raise StackOutputsError(f"cannot read outputs file {path} ({exc.strerror}); fix the path") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StackOutputsError(
            f"outputs file {path} is not valid JSON (line {exc.lineno}: {exc.msg}); "
            "pass the file `cdk deploy --outputs-file` wrote"
        ) from None
    if not isinstance(document, dict) or not all(
        isinstance(outputs, dict) and all(isinstance(value, str) for value in outputs.values())
        for outputs in document.values()
    ):
        raise StackOutputsError(
            f"outputs file {path} is not a map of stack name to outputs; "
            "pass the file `cdk deploy --outputs-file` wrote"
        )
    return cast("dict[str, dict[str, str]]", document)


def _from_client_config(text: str, where: str) -> StackOutputs:
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        raise StackOutputsError(
            f"{where}: output ClientConfig is not valid JSON; redeploy the stack"
        ) from None
    fields = _Fields(config, f"{where}: ClientConfig")
    version = fields.get("schema_version", int)
    if version != SCHEMA_VERSION:
        raise StackOutputsError(
            f"{where}: ClientConfig schema_version {version} is not supported (this client reads "
            f"{SCHEMA_VERSION}); install the sagemaker-openai version that matches the deployed stack"
        )
    mode = fields.get("mode", str)
    if mode not in _MODES:
        raise StackOutputsError(f"{where}: ClientConfig mode {mode!r} is not one of {', '.join(_MODES)}")
    models_field = fields.get("models", dict)
    if not models_field:
        raise StackOutputsError(f"{where}: ClientConfig lists no models; redeploy the stack")
    models: dict[str, ModelTarget] = {}
    for key, model in models_field.items():
        model_where = f"{where}: ClientConfig model {key!r}"
        model_fields = _Fields(model, model_where)
        models[key] = ModelTarget(
            key=key,
            base_url=_checked_url(model_fields.get("base_url", str), model_where),
            inference_component_name=model_fields.get_optional("inference_component_name", str),
            served_model_name=model_fields.get("served_model_name", str),
        )
    return StackOutputs(
        stack_name=fields.get("stack_name", str),
        mode=mode,
        region=fields.get("region", str),
        endpoint_name=fields.get("endpoint_name", str),
        models=models,
        endpoint_arn=fields.get("endpoint_arn", str),
        invoker_role_arn=fields.get("invoker_role_arn", str),
        invoker_policy_arn=fields.get("invoker_policy_arn", str),
    )


def _from_individual_outputs(stack_name: str, outputs: Mapping[str, str], where: str) -> StackOutputs:
    models: dict[str, ModelTarget] = {}
    if "OpenAIBaseUrl" in outputs:
        mode: Mode = "single_model"
        models[SINGLE_MODEL_KEY] = ModelTarget(
            key=SINGLE_MODEL_KEY,
            base_url=_checked_url(outputs["OpenAIBaseUrl"], where),
            inference_component_name=None,
            served_model_name="",
        )
    else:
        mode = "inference_component"
        for output_key, url in sorted(outputs.items()):
            match = _PER_MODEL_URL.match(output_key)
            if match:
                key = match.group("key")
                models[key] = ModelTarget(
                    key=key,
                    base_url=_checked_url(url, where),
                    inference_component_name=outputs.get(f"InferenceComponentName{key}"),
                    served_model_name="",
                )
    if not models:
        raise StackOutputsError(
            f"{where} has no ClientConfig or OpenAIBaseUrl outputs; is it a sagemaker-openai stack, "
            "and did its deployment finish?"
        )
    if "EndpointName" not in outputs:
        raise StackOutputsError(f"{where} has no EndpointName output; redeploy the stack")
    region = outputs.get("Region") or region_from_host(next(iter(models.values())).base_url)
    if not region:
        raise StackOutputsError(f"{where} has no Region output; redeploy the stack")
    return StackOutputs(
        stack_name=stack_name,
        mode=mode,
        region=region,
        endpoint_name=outputs["EndpointName"],
        models=models,
        endpoint_arn=outputs.get("EndpointArn"),
        invoker_role_arn=outputs.get("InvokerRoleArn"),
        invoker_policy_arn=outputs.get("InvokerPolicyArn"),
    )


def _checked_url(url: str, where: str) -> str:
    if not url.startswith(("https://", "http://")):
        raise StackOutputsError(f"{where}: base URL {url!r} is not an http(s) URL; redeploy the stack")
    try:
        check_token_destination(url)
    except UntrustedHostError as exc:
        raise UntrustedHostError(f"{where}: {exc}") from None
    return url


class _Fields:
    """Typed reads from a decoded JSON object, with errors that name the field and where it came from."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise StackOutputsError(f"{where} is not a JSON object; redeploy the stack")
        self._values: dict[str, object] = value
        self._where = where

    def get(self, name: str, kind: type[_T]) -> _T:
        value = self._values.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            raise StackOutputsError(f"{self._where} lacks {kind.__name__} field {name!r}; redeploy the stack")
        return value

    def get_optional(self, name: str, kind: type[_T]) -> _T | None:
        return None if self._values.get(name) is None else self.get(name, kind)
