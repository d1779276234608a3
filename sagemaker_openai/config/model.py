"""Where a model's weights come from, how vLLM serves it, and which DLC image runs it."""

import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.vllm_catalog import catalog_versions, load_catalog
from sagemaker_openai.catalog.vllm_flags import UserFlag, VllmArgValue
from sagemaker_openai.catalog.vllm_values import human_readable_int
from sagemaker_openai.config._base import ConfigWarning, Spec
from sagemaker_openai.config.operations import check_kms_key_arn
from sagemaker_openai.config.secret_names import holds_no_secret, is_secret_name

DEFAULT_HF_MODEL_ID = "Qwen/Qwen3-4B"

InferenceAmiVersion = Literal[
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2023-ami-sagemaker-inference-gpu-4-1",
]

_VLLM_ARG_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HF_MODEL_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_S3_PREFIX_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>(?:[^/]+/)+)$")
# ContainerDefinition.Environment limits (botocore): 1024 bytes per key and value, 32 KiB in all.
ENV_ENTRY_MAX = 1024
ENV_TOTAL_MAX = 32 * 1024


def _one_vllm_arg(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error for a value that fits none of VllmArgValue's forms, not one per form of the union."""
    try:
        return handler(value)
    except ValidationError:
        shown = "null" if value is None else type(value).__name__
        if isinstance(value, list):
            odd = next((e for e in value if not isinstance(e, str | int | float | dict)), None)
            shown = f"a list holding {'null' if odd is None else type(odd).__name__}"
        raise ValueError(
            f"a vLLM flag takes a string, a number, true/false, a mapping, or a list of strings, numbers or "
            f"mappings, not {shown}; remove the key to leave the flag off"
        ) from None


MIN_MAX_MODEL_LEN = 256


def max_model_len_tokens(value: int | str) -> int | None:
    """What vLLM's human_readable_int_or_auto makes of ``value``; None for auto (-1). Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a boolean")
    text = str(value).strip()
    if text == "-1" or text.lower() == "auto":
        return None
    return human_readable_int(text)


class VllmSettings(Spec):
    """vLLM server flags, rendered as ``SM_VLLM_*`` variables that the DLC turns into ``--flags``.

    Defaults suit Qwen3-4B on one 24 GiB L4. ``None`` leaves vLLM's own default. ``True`` gives a bare
    flag; ``False`` gives ``--no-<flag>`` so a flag that vLLM turns on by default can be turned off.
    The deployment checks every flag against the catalog of the image's vLLM release
    (``sagemaker_openai.catalog.vllm_flags``).
    """

    tensor_parallel_size: int = Field(1, ge=1, le=8)
    # vLLM reads --max-model-len with human_readable_int_or_auto: 32768, "32k", "32K", or "auto" (-1).
    max_model_len: int | str | None = 32768
    gpu_memory_utilization: float | None = Field(0.90, gt=0.0, le=0.99)
    max_num_seqs: int | None = Field(16, ge=1, le=4096)
    enable_auto_tool_choice: bool | None = True
    tool_call_parser: str | None = "hermes"
    reasoning_parser: str | None = "qwen3"
    enable_prefix_caching: bool | None = None
    dtype: str | None = None
    extra_args: dict[str, Annotated[VllmArgValue, WrapValidator(_one_vllm_arg)]] = Field(default_factory=dict)

    @field_validator("max_model_len", mode="wrap")
    @classmethod
    def _check_max_model_len(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> int | str | None:
        """One line for any wrong value (not one per form of the int | str union)."""
        if value is None:
            return None
        unreadable = ValueError(
            "must be a number of tokens such as 32768, 32k (32000) or 32K (32768), or auto"
        )
        if not isinstance(value, int | str):
            raise unreadable
        try:
            tokens = max_model_len_tokens(value)
        except ValueError:
            raise unreadable from None
        if tokens is not None and tokens < MIN_MAX_MODEL_LEN:
            raise ValueError(f"must be at least {MIN_MAX_MODEL_LEN} tokens, or auto")
        result: int | str = handler(value)
        return result

    def max_model_len_tokens(self) -> int | None:
        """max_model_len as a number of tokens; None for auto or unset (vLLM derives it from the model)."""
        return None if self.max_model_len is None else max_model_len_tokens(self.max_model_len)

    @field_validator("extra_args")
    @classmethod
    def _refuse_secrets(cls, extra_args: dict[str, VllmArgValue]) -> dict[str, VllmArgValue]:
        """A secret (hf_token, api_key...) would sit in clear in the template and the model's environment.

        Runs before the flag-name checks, so a kebab-case secret gets this message too. A boolean passes:
        a bare flag or its --no- form holds no secret.
        """
        for name, value in extra_args.items():
            if is_secret_name(name) and not holds_no_secret(value):
                raise ValueError(
                    f"key {name!r} would store a secret in plain text in the template; remove it "
                    "(stage gated weights to S3 and use s3_uri; SageMaker authenticates callers with IAM, "
                    "so vLLM needs no API key)"
                )
        return extra_args

    @model_validator(mode="after")
    def _check_extra_args(self) -> Self:
        typed = set(type(self).model_fields) - {"extra_args"}
        for name in self.extra_args:
            if not _VLLM_ARG_NAME.match(name):
                raise ValueError(
                    f"extra_args key {name!r} must be a vLLM flag in snake_case, e.g. kv_cache_dtype"
                )
            bare = name.removeprefix("no_")
            if bare in typed or name in typed:
                raise ValueError(f"extra_args key {name!r} duplicates the typed field {bare!r}; set that")
            if bare in {"model", "served_model_name", "port"}:
                raise ValueError(f"extra_args key {name!r} is set by the kit; use the model fields instead")
        if self.enable_auto_tool_choice and not self.tool_call_parser:
            raise ValueError(
                "enable_auto_tool_choice (--enable-auto-tool-choice) needs tool_call_parser "
                "(--tool-call-parser); set tool_call_parser (hermes for Qwen3), "
                "or enable_auto_tool_choice: null"
            )
        return self

    @classmethod
    def typed_flags(cls) -> frozenset[str]:
        """The vLLM flags that have a field of their own (the rest go in extra_args)."""
        return frozenset(cls.model_fields) - {"extra_args"}

    def user_flags(self, path: str) -> list[UserFlag]:
        """The flags this section passes to vLLM, each named by its key path under ``path``."""
        typed = [
            UserFlag(f"{path}.{name}", name, value, typed=True)
            for name, value in self.model_dump(exclude={"extra_args"}).items()
            if value is not None
        ]
        extra = [
            UserFlag(f"{path}.extra_args.{name}", name, value, typed=False)
            for name, value in self.extra_args.items()
        ]
        return typed + extra


class ModelSpec(Spec):
    """One model: where its weights come from and how vLLM serves it."""

    hf_model_id: str | None = Field(None, pattern=_HF_MODEL_ID.pattern)
    s3_uri: str | None = None
    served_model_name: str | None = Field(None, min_length=1, max_length=256)
    vllm: VllmSettings = Field(default_factory=VllmSettings)
    environment: dict[str, str] = Field(default_factory=dict)
    enable_network_isolation: bool | None = None
    # The customer managed key of the weights' bucket, when it is not the deployment's kms key.
    s3_kms_key_arn: str | None = None

    @model_validator(mode="after")
    def _check_source(self) -> Self:
        if self.hf_model_id is None and self.s3_uri is None:
            raise ValueError("provide either hf_model_id or s3_uri")
        if self.hf_model_id is not None and self.s3_uri is not None:
            raise ValueError("provide either hf_model_id or s3_uri, not both")
        if self.s3_uri is not None and not _S3_PREFIX_URI.match(self.s3_uri):
            raise ValueError(
                f"s3_uri {self.s3_uri!r} must be the S3 prefix of uncompressed weights, "
                "like s3://my-bucket/models/qwen3-4b/ (ending with /)"
            )
        if self.hf_model_id is not None and self.enable_network_isolation:
            raise ValueError(
                "enable_network_isolation cannot be true with hf_model_id: the container downloads the "
                "weights from the Hugging Face Hub; stage them to S3 and use s3_uri"
            )
        if self.s3_kms_key_arn is not None:
            if self.s3_uri is None:
                raise ValueError("s3_kms_key_arn applies to weights in S3; set s3_uri or remove it")
            check_kms_key_arn("s3_kms_key_arn", self.s3_kms_key_arn)
        for name in self.environment:
            if not _ENV_NAME.match(name):
                raise ValueError(
                    f"environment key {name!r} is not a valid variable name; use letters, digits and "
                    "underscores, not starting with a digit"
                )
            if name.startswith("SM_VLLM_") or name == "HF_MODEL_ID":
                raise ValueError(f"environment key {name!r} is set by the kit; use the vllm fields instead")
            if is_secret_name(name):
                raise ValueError(
                    f"environment key {name!r} would store a secret in plain text in the template; "
                    "stage gated weights to S3 and use s3_uri"
                )
        return self

    @property
    def served_name(self) -> str:
        """The name clients send as ``model``: the configured one, else the Hugging Face repo name."""
        if self.served_model_name:
            return self.served_model_name
        if self.hf_model_id:
            return self.hf_model_id.rsplit("/", 1)[-1].lower()
        return "model"

    @property
    def network_isolation(self) -> bool:
        """On by default when the weights come from S3: the container then needs no internet."""
        if self.enable_network_isolation is not None:
            return self.enable_network_isolation
        return self.s3_uri is not None

    def s3_location(self) -> tuple[str, str] | None:
        """(bucket, prefix) of the weights, the prefix ending with ``/``."""
        if self.s3_uri is None:
            return None
        match = _S3_PREFIX_URI.match(self.s3_uri)
        assert match is not None  # checked by the validator
        return match["bucket"], match["prefix"]


class ImageSpec(Spec):
    vllm_version: str = images.DEFAULT_VLLM_VERSION
    uri: str | None = None
    inference_ami_version: InferenceAmiVersion | None = None

    @model_validator(mode="after")
    def _check_image(self) -> Self:
        if self.uri is not None:
            images.parse_image_uri(self.uri)
        else:
            images.vllm_release(self.vllm_version)
        return self

    def flag_catalog_version(self) -> str | None:
        """The vLLM release the models' flags are checked against: the DLC's, or the one the tag names.

        The DLC's tag carries its vLLM version (DLC 0.30.0 runs vLLM 0.30.0). None when a custom
        image's tag names no version.
        """
        if self.uri is None:
            return images.vllm_release(self.vllm_version).version
        return images.vllm_version_in_tag(images.parse_image_uri(self.uri).tag)

    def warnings(self) -> list[ConfigWarning]:
        version = self.flag_catalog_version()
        if version is not None and load_catalog(version) is not None:
            return []
        unchecked = (
            "the models' vllm flags are not checked at synth (the kit has flag catalogs for vLLM "
            f"{', '.join(catalog_versions())}; `make vllm-catalog` adds one)"
        )
        if self.uri is None:
            return [ConfigWarning("vllm_version", f"no vLLM flag catalog for DLC {version}; {unchecked}")]
        named = f"names vLLM {version}, which has no flag catalog" if version else "names no vLLM version"
        return [ConfigWarning("uri", f"the image tag {named}; {unchecked}")]

    def default_ami_version(self) -> str | None:
        """The configured AMI, else the one whose driver matches the image's CUDA version."""
        if self.inference_ami_version is not None:
            return self.inference_ami_version
        tag = images.parse_image_uri(self.uri).tag if self.uri else images.vllm_release(self.vllm_version).tag
        return images.inference_ami_for_tag(tag)
