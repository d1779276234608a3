"""The deployment config: one YAML file per deployment, validated once before any construct is built.

The pydantic models double as the typed props of the constructs, so code that builds a stack without
YAML gets the same checks. ``load_config`` turns every failure into one ``ConfigError`` line that names
the file as the user gave it, the field and what is allowed.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import ErrorDetails

from sagemaker_openai import images, naming
from sagemaker_openai.errors import ConfigError
from sagemaker_openai.instances import INSTANCES, InstanceSpec

DEFAULT_CONFIG_PATH = "config/qwen3-4b.yaml"
DEFAULT_HF_MODEL_ID = "Qwen/Qwen3-4B"
DEFAULT_INSTANCE_TYPE = "ml.g6.2xlarge"
SINGLE_MODEL_KEY = "default"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]
InferenceAmiVersion = Literal[
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2023-ami-sagemaker-inference-gpu-4-1",
]
# SageMaker's ContainerStartupHealthCheckTimeoutInSeconds and ModelDataDownloadTimeoutInSeconds range.
TimeoutSeconds = Annotated[int, Field(ge=60, le=3600)]
VllmArgValue = str | int | float | bool | list[str | int | float] | dict[str, Any]

_VLLM_ARG_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HF_MODEL_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_S3_PREFIX_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>(?:[^/]+/)+)$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$")
_TAG_KEY = re.compile(r"^[\w.:/=+\-@ ]{1,128}$")
# Secrets would sit in plain text in the model's environment and the CloudFormation template.
_SECRET_ENV_NAMES = frozenset({"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACEHUB_API_TOKEN"})
# ContainerDefinition.Environment limits (botocore): 1024 bytes per key and value, 32 KiB in all.
ENV_ENTRY_MAX = 1024
ENV_TOTAL_MAX = 32 * 1024


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VllmSettings(_Spec):
    """vLLM server flags, rendered as ``SM_VLLM_*`` variables that the DLC turns into ``--flags``.

    Defaults suit Qwen3-4B on one 24 GiB L4. ``None`` leaves vLLM's own default. ``True`` gives a bare
    flag; ``False`` gives ``--no-<flag>`` so a flag that vLLM turns on by default can be turned off.
    """

    tensor_parallel_size: int = Field(1, ge=1, le=8)
    max_model_len: int | None = Field(32768, ge=256)
    gpu_memory_utilization: float | None = Field(0.90, gt=0.0, le=0.99)
    max_num_seqs: int | None = Field(16, ge=1, le=4096)
    enable_auto_tool_choice: bool | None = True
    tool_call_parser: str | None = "hermes"
    reasoning_parser: str | None = "qwen3"
    enable_prefix_caching: bool | None = None
    dtype: str | None = None
    extra_args: dict[str, VllmArgValue] = Field(default_factory=dict)

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
            raise ValueError("enable_auto_tool_choice needs tool_call_parser (hermes for Qwen3)")
        return self


class ModelSpec(_Spec):
    """One model: where its weights come from and how vLLM serves it."""

    hf_model_id: str | None = Field(None, pattern=_HF_MODEL_ID.pattern)
    s3_uri: str | None = None
    served_model_name: str | None = Field(None, min_length=1, max_length=256)
    vllm: VllmSettings = Field(default_factory=VllmSettings)
    environment: dict[str, str] = Field(default_factory=dict)
    enable_network_isolation: bool | None = None

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
        for name in self.environment:
            if not _ENV_NAME.match(name):
                raise ValueError(f"environment key {name!r} is not a valid variable name")
            if name.startswith("SM_VLLM_") or name == "HF_MODEL_ID":
                raise ValueError(f"environment key {name!r} is set by the kit; use the vllm fields instead")
            if name in _SECRET_ENV_NAMES:
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


class ImageSpec(_Spec):
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

    def default_ami_version(self) -> str | None:
        """The configured AMI, else the one whose driver matches the image's CUDA version."""
        if self.inference_ami_version is not None:
            return self.inference_ami_version
        tag = images.parse_image_uri(self.uri).tag if self.uri else images.vllm_release(self.vllm_version).tag
        return images.inference_ami_for_tag(tag)


class InvokerSpec(_Spec):
    """Who may assume the invoker role. Empty means the deploying account (its IAM decides who)."""

    trusted_principals: list[str] = Field(default_factory=list)
    max_session_hours: int = Field(1, ge=1, le=12)
    # Inference-component mode: the model keys whose components the invoker may call (default: all).
    models: list[str] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _check_principals(self) -> Self:
        for principal in self.trusted_principals:
            if not (_ACCOUNT_ID.match(principal) or _IAM_ROLE_ARN.match(principal)):
                raise ValueError(
                    f"trusted_principals entry {principal!r} must be a 12-digit account ID or an IAM "
                    "role, user or root ARN"
                )
        return self


class LogsSpec(_Spec):
    retention_days: LogRetentionDays = 30
    retain_on_delete: bool = False


class DeploymentBase(_Spec):
    name: str = Field("qwen3-4b", max_length=naming.STACK_NAME_MAX, pattern=naming.STACK_NAME.pattern)
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = Field(1, ge=1, le=100)
    image: ImageSpec = Field(default_factory=ImageSpec)
    startup_health_check_timeout_seconds: TimeoutSeconds = 1200
    model_data_download_timeout_seconds: TimeoutSeconds = 1200
    routing_strategy: Literal["LEAST_OUTSTANDING_REQUESTS", "RANDOM"] = "LEAST_OUTSTANDING_REQUESTS"
    invoker: InvokerSpec = Field(default_factory=InvokerSpec)
    logs: LogsSpec = Field(default_factory=LogsSpec)
    tags: dict[str, str] = Field(default_factory=lambda: {"managed-by": "sagemaker-openai"})

    @model_validator(mode="after")
    def _check_deployment(self) -> Self:
        if self.instance_type not in INSTANCES:
            raise ValueError(
                f"instance_type {self.instance_type!r} is not in the kit's instance table; "
                f"use one of {', '.join(INSTANCES)}"
            )
        self._check_region()
        for key, value in self.tags.items():
            if not _TAG_KEY.match(key) or key.lower().startswith("aws:") or len(value) > 256:
                raise ValueError(
                    f"tag {key!r}: keys are 1-128 characters without the aws: prefix, values at most 256"
                )
        return self

    def _check_region(self) -> None:
        if self.region is None:
            return
        if self.image.uri is not None:
            image_region = images.parse_image_uri(self.image.uri).region
            if image_region != self.region:
                raise ValueError(
                    f"image.uri is in {image_region} but region is {self.region}; "
                    "SageMaker pulls images from the endpoint's region"
                )
            return
        release = images.vllm_release(self.image.vllm_version)
        if self.region not in release.registries:
            raise ValueError(
                f"region {self.region!r} has no vLLM DLC {release.version} image; supported: "
                f"{', '.join(release.regions)} (for China or GovCloud set image.uri to a full image URI)"
            )

    @property
    def instance(self) -> InstanceSpec:
        return INSTANCES[self.instance_type]

    @property
    def endpoint_name(self) -> str:
        return naming.endpoint_name(self.name)

    def supported_regions(self) -> list[str] | None:
        """Regions the image can be pulled in, or None when a full image URI pins one region."""
        if self.image.uri is not None:
            return None
        return images.vllm_release(self.image.vllm_version).regions


class SingleModelConfig(DeploymentBase):
    """One model on a single-model endpoint: the endpoint answers at ``/endpoints/<name>/openai/v1``."""

    mode: Literal["single_model"] = "single_model"
    model: ModelSpec = Field(default_factory=lambda: ModelSpec(hf_model_id=DEFAULT_HF_MODEL_ID))

    @model_validator(mode="after")
    def _check_single_model(self) -> Self:
        if self.invoker.models is not None:
            raise ValueError("invoker.models applies to inference_component mode only; remove it")
        gpus = self.instance.gpus
        if self.model.vllm.tensor_parallel_size > gpus:
            raise ValueError(
                f"model.vllm.tensor_parallel_size is {self.model.vllm.tensor_parallel_size} but "
                f"{self.instance_type} has {gpus} GPU(s); lower it or pick a larger instance_type"
            )
        return self


class CopiesSpec(_Spec):
    """How many copies of a component run, and when Application Auto Scaling adds or removes one."""

    initial: int = Field(1, ge=1)
    min: int = Field(1, ge=0)
    max: int = Field(1, ge=1)
    target_concurrent_requests_per_copy: float = Field(4.0, gt=0)
    scale_in_cooldown_seconds: int = Field(300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(60, ge=0, le=3600)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if not self.min <= self.initial <= self.max:
            raise ValueError(
                f"initial ({self.initial}) must lie between min ({self.min}) and max ({self.max})"
            )
        return self

    @property
    def scales_to_zero(self) -> bool:
        return self.min == 0


class ComponentSpec(ModelSpec):
    """One model of an inference-component endpoint, with its own resources, copies and URL."""

    key: str = Field(max_length=naming.MODEL_KEY_MAX, pattern=naming.MODEL_KEY.pattern)
    accelerators: int = Field(1, ge=1, le=8)
    cpu_cores: float = Field(2.0, ge=0.25)
    memory_mib: int = Field(8192, ge=128)
    copies: CopiesSpec = Field(default_factory=CopiesSpec)
    startup_health_check_timeout_seconds: TimeoutSeconds | None = None
    model_data_download_timeout_seconds: TimeoutSeconds | None = None

    @model_validator(mode="after")
    def _check_parallelism(self) -> Self:
        if self.vllm.tensor_parallel_size > self.accelerators:
            raise ValueError(
                f"vllm.tensor_parallel_size ({self.vllm.tensor_parallel_size}) is above accelerators "
                f"({self.accelerators}); vLLM needs one GPU per tensor-parallel rank"
            )
        return self

    @property
    def served_name(self) -> str:
        if self.served_model_name or self.hf_model_id:
            return super().served_name
        return self.key


class ManagedScalingSpec(_Spec):
    """Managed instance scaling of the endpoint's variant; ``min_instances: 0`` lets it scale to zero."""

    min_instances: int = Field(1, ge=0)
    max_instances: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is above max_instances ({self.max_instances})"
            )
        return self


class InferenceComponentConfig(DeploymentBase):
    """An endpoint that hosts one or more models as inference components, each at its own URL."""

    mode: Literal["inference_component"]
    models: list[ComponentSpec] = Field(min_length=1, max_length=50)
    managed_instance_scaling: ManagedScalingSpec = Field(default_factory=ManagedScalingSpec)

    @model_validator(mode="after")
    def _check_components(self) -> Self:
        self._check_keys()
        scaling = self.managed_instance_scaling
        if not scaling.min_instances <= self.instance_count <= scaling.max_instances:
            raise ValueError(
                f"instance_count ({self.instance_count}) must lie between managed_instance_scaling."
                f"min_instances ({scaling.min_instances}) and max_instances ({scaling.max_instances})"
            )
        self._check_fit()
        unknown = sorted(set(self.invoker.models or ()) - {model.key for model in self.models})
        if unknown:
            raise ValueError(f"invoker.models names unknown model keys {unknown}; use keys from models")
        return self

    def _check_keys(self) -> None:
        seen: dict[str, str] = {}
        for model in self.models:
            for kind, value in (
                ("key", model.key),
                ("output ID", naming.logical_id_suffix(model.key).lower()),
                ("component name", naming.inference_component_name(self.name, model.key)),
            ):
                other = seen.get(f"{kind}:{value}")
                if other is not None:
                    raise ValueError(
                        f"models: keys {other!r} and {model.key!r} give the same {kind} {value!r}; rename one"
                    )
                seen[f"{kind}:{value}"] = model.key

    def _check_fit(self) -> None:
        spec = self.instance
        for model in self.models:
            over = [
                f"{what} {need} > {have}"
                for what, need, have in (
                    ("accelerators", model.accelerators, spec.gpus),
                    ("cpu_cores", model.cpu_cores, spec.vcpus),
                    ("memory_mib", model.memory_mib, spec.memory_mib),
                )
                if need > have
            ]
            if over:
                raise ValueError(
                    f"model {model.key!r}: one copy does not fit on one {self.instance_type} "
                    f"({', '.join(over)}); lower its resources or pick a larger instance_type"
                )
        unplaced = _first_fit(self.models, spec, self.instance_count)
        if unplaced:
            demand = ", ".join(f"{m.key}: {m.copies.initial} x {m.accelerators} GPU" for m in self.models)
            raise ValueError(
                f"the initial copies do not fit on {self.instance_count} x {self.instance_type} "
                f"({spec.gpus} GPU, {spec.vcpus} vCPU, {spec.memory_mib} MiB each): {demand}; "
                f"no room for {', '.join(sorted(set(unplaced)))}; raise instance_count or lower "
                "copies.initial, accelerators, cpu_cores or memory_mib"
            )

    def component_name(self, model: ComponentSpec) -> str:
        return naming.inference_component_name(self.name, model.key)


def _first_fit(models: list[ComponentSpec], spec: InstanceSpec, instances: int) -> list[str]:
    """Place every initial copy on the instances, largest first; return the keys of copies left over."""
    free = [[float(spec.gpus), float(spec.vcpus), float(spec.memory_mib)] for _ in range(instances)]
    copies = sorted(
        (m for m in models for _ in range(m.copies.initial)),
        key=lambda m: (m.accelerators, m.memory_mib, m.cpu_cores),
        reverse=True,
    )
    unplaced: list[str] = []
    for model in copies:
        need = (model.accelerators, model.cpu_cores, model.memory_mib)
        for room in free:
            if all(have >= want for have, want in zip(room, need, strict=True)):
                for i, want in enumerate(need):
                    room[i] -= want
                break
        else:
            unplaced.append(model.key)
    return unplaced


KitConfig = SingleModelConfig | InferenceComponentConfig
DeploymentConfig = Annotated[KitConfig, Field(discriminator="mode")]
_ADAPTER: TypeAdapter[KitConfig] = TypeAdapter(DeploymentConfig)


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
    model: type[BaseModel] | None = _MODE_CLASSES.get(mode, SingleModelConfig)
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
    loc = tuple(part for part in error["loc"] if part not in _MODE_CLASSES)
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
    if error["type"] == "string_pattern_mismatch" and loc and loc[-1] == "name":
        message = (
            "must start with a letter and hold only letters, digits and hyphens, "
            f"ending with a letter or digit (at most {naming.STACK_NAME_MAX} characters)"
        )
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
    if mode not in _MODE_CLASSES:
        raise ConfigError(f"{source}: mode: must be one of {', '.join(_MODE_CLASSES)} (got {mode!r})")
    try:
        return _ADAPTER.validate_python(raw)
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


_MODE_CLASSES: dict[str, type[BaseModel]] = {
    "single_model": SingleModelConfig,
    "inference_component": InferenceComponentConfig,
}
