"""Every bad input ends in one ConfigError line that names the file, the field and what is allowed."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field

from sagemaker_openai.config import (
    ComponentSpec,
    ConfigWarning,
    InferenceComponentConfig,
    SingleModelConfig,
    Spec,
    collect_warnings,
    load_config,
    parse_config,
)
from sagemaker_openai.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIGS, ROOT

IC_MODEL: dict[str, Any] = {"key": "chat", "hf_model_id": "Qwen/Qwen3-4B"}


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def _file_error(tmp_path: Path, text: str | None, **kwargs: Any) -> str:
    path = tmp_path / "deploy.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: p.name)
def test_example_configs_are_valid(path: Path) -> None:
    assert load_config(str(path)).name


def test_defaults_are_qwen3_4b_on_one_g6_2xlarge() -> None:
    config = parse_config({})
    assert isinstance(config, SingleModelConfig)
    assert (config.name, config.instance_type, config.instance_count) == ("qwen3-4b", "ml.g6.2xlarge", 1)
    assert config.model.hf_model_id == "Qwen/Qwen3-4B"
    assert config.image.vllm_version == "0.30.0"
    assert config.image.default_ami_version() == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert config.startup_health_check_timeout_seconds == 1200
    assert config.logs.retention_days == 30


def test_missing_file(tmp_path: Path) -> None:
    assert _file_error(tmp_path, None) == "config file not found (pass -c config=PATH or CONFIG=PATH)"


def test_invalid_yaml(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "name: [unclosed\n").startswith("invalid YAML: line 2: ")


def test_empty_file(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "# nothing\n") == (
        "the config file is empty; see config/qwen3-4b.yaml for an example"
    )


def test_list_instead_of_mapping(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "- name: a\n") == (
        "the config must be a mapping of fields (name: ..., model: ...), not a list"
    )


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    assert _file_error(tmp_path, "name: a\ninstance_count: 1\nname: b\n") == "line 3: duplicate key 'name'"


def test_wrong_type() -> None:
    assert _error({"instance_count": "two"}) == (
        "cfg.yaml: instance_count: Input should be a valid integer, unable to parse string as an integer "
        "(got 'two')"
    )


def test_unknown_key_lists_the_allowed_ones() -> None:
    assert _error({"model": {"hf_model_id": "a/b", "vlm": {}}}) == (
        "cfg.yaml: model.vlm: unknown field; allowed here: enable_network_isolation, environment, "
        "hf_model_id, s3_kms_key_arn, s3_uri, served_model_name, vllm"
    )


def test_unknown_instance_type() -> None:
    message = _error({"instance_type": "ml.t2.medium"})
    assert message.startswith(
        "cfg.yaml: instance_type 'ml.t2.medium' is not in the kit's instance table; use one of ml.g5"
    )


@pytest.mark.parametrize("name", ["9lives", "has_underscore", "ends-", "x" * 64, ""])
def test_bad_stack_name(name: str) -> None:
    message = _error({"name": name})
    assert message.startswith("cfg.yaml: name: ")
    assert "letters, digits and hyphens" in message or "at most 63 characters" in message


def test_stack_name_override_is_checked_and_named(tmp_path: Path) -> None:
    message = _file_error(tmp_path, "name: fine\n", stack_name="bad_name")
    assert message.startswith("name (from -c stack_name): must start with a letter")
    path = tmp_path / "deploy.yaml"
    assert load_config(str(path), stack_name="ci-run-42").name == "ci-run-42"


def test_unsupported_region() -> None:
    message = _error({"region": "cn-north-1"})
    assert message.startswith(
        "cfg.yaml: region 'cn-north-1' has no vLLM DLC 0.30.0 image; supported: af-south-1"
    )
    assert message.endswith("(for China or GovCloud set image.uri to a full image URI)")


def test_image_uri_region_must_match() -> None:
    uri = "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
    assert _error({"region": "us-east-1", "image": {"uri": uri}}) == (
        "cfg.yaml: image.uri is in cn-north-1 but region is us-east-1; "
        "SageMaker pulls images from the endpoint's region"
    )


def test_unknown_vllm_version_and_bad_image_uri() -> None:
    assert "image.vllm_version: unknown vLLM DLC version '0.1.0'" in _error(
        {"image": {"vllm_version": "0.1.0"}}
    )
    assert "image.uri: 'vllm:latest' is not an ECR image URI" in _error({"image": {"uri": "vllm:latest"}})


def _model(**fields: Any) -> dict[str, Any]:
    return {"model": {"hf_model_id": "a/b", **fields}}


# One case per validator: the config, then the whole line after "cfg.yaml: " (field path, problem, fix).
VALIDATORS: dict[str, tuple[dict[str, Any], str]] = {
    "vllm-flag-name": (
        _model(vllm={"extra_args": {"Bad-Flag": 1}}),
        "model.vllm: extra_args key 'Bad-Flag' must be a vLLM flag in snake_case, e.g. kv_cache_dtype",
    ),
    "vllm-duplicate-typed-field": (
        _model(vllm={"extra_args": {"no_max_model_len": 1}}),
        "model.vllm: extra_args key 'no_max_model_len' duplicates the typed field 'max_model_len'; set that",
    ),
    "vllm-kit-flag": (
        _model(vllm={"extra_args": {"port": 1}}),
        "model.vllm: extra_args key 'port' is set by the kit; use the model fields instead",
    ),
    "vllm-tool-choice-needs-parser": (
        _model(vllm={"tool_call_parser": None}),
        "model.vllm: enable_auto_tool_choice (--enable-auto-tool-choice) needs tool_call_parser "
        "(--tool-call-parser); set tool_call_parser (hermes for Qwen3), or enable_auto_tool_choice: null",
    ),
    "model-no-source": ({"model": {}}, "model: provide either hf_model_id or s3_uri"),
    "model-two-sources": (
        _model(s3_uri="s3://b/p/"),
        "model: provide either hf_model_id or s3_uri, not both",
    ),
    "model-s3-prefix": (
        {"model": {"s3_uri": "s3://bucket/weights"}},
        "model: s3_uri 's3://bucket/weights' must be the S3 prefix of uncompressed weights, like "
        "s3://my-bucket/models/qwen3-4b/ (ending with /)",
    ),
    "model-isolation-with-hub": (
        _model(enable_network_isolation=True),
        "model: enable_network_isolation cannot be true with hf_model_id: the container downloads the "
        "weights from the Hugging Face Hub; stage them to S3 and use s3_uri",
    ),
    "model-env-name": (
        _model(environment={"1X": "v"}),
        "model: environment key '1X' is not a valid variable name; use letters, digits and underscores, "
        "not starting with a digit",
    ),
    "model-env-kit-variable": (
        _model(environment={"SM_VLLM_FOO": "1"}),
        "model: environment key 'SM_VLLM_FOO' is set by the kit; use the vllm fields instead",
    ),
    "model-env-secret": (
        _model(environment={"HF_TOKEN": "x"}),
        "model: environment key 'HF_TOKEN' would store a secret in plain text in the template; stage gated "
        "weights to S3 and use s3_uri",
    ),
    "model-hf-id-pattern": (
        {"model": {"hf_model_id": "a b"}},
        "model.hf_model_id: must be a Hugging Face repository ID such as Qwen/Qwen3-4B (got 'a b')",
    ),
    "region-pattern": (
        {"region": "useast"},
        "region: must be an AWS region code such as us-east-1 (got 'useast')",
    ),
    "invoker-principal": (
        {"invoker": {"trusted_principals": ["alice"]}},
        "invoker: trusted_principals entry 'alice' must be a 12-digit account ID or an IAM role, user or "
        "root ARN",
    ),
    "invoker-session-bound": (
        {"invoker": {"max_session_hours": 13}},
        "invoker.max_session_hours: Input should be less than or equal to 12 (got 13)",
    ),
    "invoker-models-single": (
        {"invoker": {"models": ["a"]}},
        "invoker.models applies to inference_component mode only; remove it",
    ),
    "tag-key": (
        {"tags": {"aws:x": "y"}},
        "tags: key 'aws:x': keys are 1-128 letters, digits, spaces and _.:/=+-@ without the aws: prefix, "
        "values at most 256 characters",
    ),
    "log-retention": (
        {"logs": {"retention_days": 10}},
        "logs.retention_days: Input should be 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, "
        "1096, 1827, 2192, 2557, 2922, 3288 or 3653 (got 10)",
    ),
    "routing-strategy": (
        {"routing_strategy": "ROUND_ROBIN"},
        "routing_strategy: Input should be 'LEAST_OUTSTANDING_REQUESTS', 'RANDOM' or 'PREFIX_AWARE' "
        "(got 'ROUND_ROBIN')",
    ),
    "component-parallelism": (
        {
            "mode": "inference_component",
            "instance_type": "ml.g6.12xlarge",
            "models": [IC_MODEL | {"vllm": {"tensor_parallel_size": 2}}],
        },
        "models[0]: vllm.tensor_parallel_size (2) is above accelerators (1); vLLM needs one GPU per "
        "tensor-parallel rank",
    ),
    "component-key-pattern": (
        {"mode": "inference_component", "models": [IC_MODEL | {"key": "Chat"}]},
        "models[0].key: must hold only lowercase letters, digits and hyphens, starting and ending with a "
        "letter or digit (at most 63 characters) (got 'Chat')",
    ),
    "copies-initial-range": (
        {"mode": "inference_component", "models": [IC_MODEL | {"copies": {"initial": 3, "max": 2}}]},
        "models[0].copies: initial (3) must lie between min (1) and max (2)",
    ),
    "instance-count-range": (
        {"mode": "inference_component", "instance_count": 2, "models": [IC_MODEL]},
        "instance_count (2) must lie between managed_instance_scaling.min_instances (1) and "
        "max_instances (1)",
    ),
    "invoker-models-unknown": (
        {"mode": "inference_component", "invoker": {"models": ["other"]}, "models": [IC_MODEL]},
        "invoker.models names unknown model keys ['other']; use keys from models",
    ),
    "image-uri": (
        {"image": {"uri": "vllm:latest"}},
        "image.uri: 'vllm:latest' is not an ECR image URI; expected "
        "<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>",
    ),
    "mode-not-a-name": (
        {"mode": ["x"]},
        "mode: must be one of single_model, inference_component (got ['x'])",
    ),
}


@pytest.mark.parametrize(("data", "expected"), VALIDATORS.values(), ids=VALIDATORS.keys())
def test_each_validator_names_the_field_and_what_is_allowed(data: dict[str, Any], expected: str) -> None:
    assert _error(data) == f"cfg.yaml: {expected}"


def test_scale_to_zero_needs_every_component_at_zero_copies() -> None:
    """AWS: an endpoint with several components releases its instances only when all can reach 0 copies."""
    models = [
        IC_MODEL | {"copies": {"min": 0}},
        {"key": "b", "hf_model_id": "x/y", "copies": {"min": 1}},
        {"key": "c", "hf_model_id": "x/z", "copies": {"min": 2, "initial": 2, "max": 2}},
    ]
    scaling = {"min_instances": 0, "max_instances": 2}
    assert _error(_ic(models, instance_type="ml.g6.12xlarge", managed_instance_scaling=scaling)) == (
        "cfg.yaml: managed_instance_scaling.min_instances is 0 but these models keep at least one copy, so "
        "the endpoint never releases its last instance: b (models[1].copies.min: 1), "
        "c (models[2].copies.min: 2); set copies.min: 0 on each of them, or min_instances to 1 or more"
    )
    at_zero = [{**model, "copies": {"min": 0, "initial": 1, "max": 2}} for model in models]
    config = parse_config(_ic(at_zero, instance_type="ml.g6.12xlarge", managed_instance_scaling=scaling))
    assert isinstance(config, InferenceComponentConfig)


def test_timeouts_are_bounded_by_what_sagemaker_allows() -> None:
    assert _error({"startup_health_check_timeout_seconds": 7200}) == (
        "cfg.yaml: startup_health_check_timeout_seconds: "
        "Input should be less than or equal to 3600 (got 7200)"
    )


def test_tensor_parallel_size_beyond_the_gpus() -> None:
    assert _error({"model": {"hf_model_id": "a/b", "vllm": {"tensor_parallel_size": 2}}}) == (
        "cfg.yaml: model.vllm.tensor_parallel_size is 2 but ml.g6.2xlarge has 1 GPU(s); "
        "lower it or pick a larger instance_type"
    )


def _ic(models: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"mode": "inference_component", "name": "multi", "models": models, **extra}


def test_inference_component_config_parses() -> None:
    config = parse_config(_ic([IC_MODEL]))
    assert isinstance(config, InferenceComponentConfig)
    assert config.component_name(config.models[0]) == "multi-chat"


def test_gpus_over_subscribed_names_models_and_numbers() -> None:
    models: list[dict[str, Any]] = [
        IC_MODEL | {"copies": {"initial": 2, "max": 2}},
        {"key": "b", "hf_model_id": "x/y"},
    ]
    assert _error(_ic(models)) == (
        "cfg.yaml: the initial copies do not fit on 1 x ml.g6.2xlarge (1 GPU, 8 vCPU, 32768 MiB each): "
        "chat: 2 x 1 GPU, b: 1 x 1 GPU; no room for b, chat; raise instance_count or lower copies.initial, "
        "accelerators, cpu_cores or memory_mib"
    )


def test_one_copy_larger_than_an_instance() -> None:
    assert _error(_ic([IC_MODEL | {"accelerators": 2}])) == (
        "cfg.yaml: model 'chat': one copy does not fit on one ml.g6.2xlarge (accelerators 2 > 1); "
        "lower its resources or pick a larger instance_type"
    )


def test_duplicate_model_keys() -> None:
    assert _error(_ic([IC_MODEL, IC_MODEL], instance_type="ml.g6.12xlarge")) == (
        "cfg.yaml: models: keys 'chat' and 'chat' give the same key 'chat'; rename one"
    )


def test_keys_that_collide_as_output_ids() -> None:
    models: list[dict[str, Any]] = [IC_MODEL | {"key": "qwen3-4b"}, IC_MODEL | {"key": "qwen34b"}]
    assert "give the same output ID 'qwen34b'" in _error(_ic(models, instance_type="ml.g6.12xlarge"))


@pytest.mark.parametrize("key", ["Chat", "-chat", "chat_1", "x" * 64])
def test_invalid_model_key(key: str) -> None:
    assert _error(_ic([IC_MODEL | {"key": key}])).startswith("cfg.yaml: models[0].key: ")


def test_min_above_max() -> None:
    assert _error(_ic([IC_MODEL | {"copies": {"min": 3, "max": 2}}])) == (
        "cfg.yaml: models[0].copies: min (3) is above max (2)"
    )
    assert _error(_ic([IC_MODEL], managed_instance_scaling={"min_instances": 2, "max_instances": 1})) == (
        "cfg.yaml: managed_instance_scaling: min_instances (2) is above max_instances (1)"
    )


def test_invoker_models_must_exist() -> None:
    assert "invoker.models names unknown model keys ['other']" in _error(
        _ic([IC_MODEL], invoker={"models": ["other"]})
    )
    assert "invoker.models applies to inference_component mode only" in _error({"invoker": {"models": ["a"]}})


def test_unknown_mode() -> None:
    assert _error({"mode": "serverless"}) == (
        "cfg.yaml: mode: must be one of single_model, inference_component (got 'serverless')"
    )


class _Leaf(Spec):
    limit: int = 1

    def warnings(self) -> list[ConfigWarning]:
        return [ConfigWarning("limit", "is low")] if self.limit < 2 else []


class _Root(Spec):
    leaf: _Leaf = _Leaf()
    leaves: list[_Leaf] = Field(default_factory=list)

    def warnings(self) -> list[ConfigWarning]:
        return [ConfigWarning("", "whole-config advice")]


def test_collect_warnings_prefixes_each_nested_field_path() -> None:
    root = _Root(leaves=[_Leaf(limit=5), _Leaf(limit=0)])
    assert collect_warnings(root) == [
        "<config>: whole-config advice",
        "leaf.limit: is low",
        "leaves[1].limit: is low",
    ]


def test_example_configs_have_no_warnings() -> None:
    for path in EXAMPLE_CONFIGS:
        assert collect_warnings(load_config(str(path))) == [], path.name


def test_role_chaining_past_one_hour_is_a_warning() -> None:
    role = "arn:aws:iam::444455556666:role/ci"
    config = parse_config({"invoker": {"trusted_principals": ["111122223333", role], "max_session_hours": 4}})
    assert collect_warnings(config) == [
        f"invoker.max_session_hours: is 4 but a role ({role}) that assumes the invoker role is role "
        "chaining, which AWS caps at 1 hour (AssumeRole with a longer DurationSeconds fails); lower it to 1, "
        "or trust an account or user for sessions longer than an hour"
    ]
    for quiet in (
        {"trusted_principals": [role], "max_session_hours": 1},
        {
            "trusted_principals": ["111122223333", "arn:aws:iam::444455556666:user/alice"],
            "max_session_hours": 12,
        },
    ):
        assert collect_warnings(parse_config({"invoker": quiet})) == [], quiet


def test_hub_models_beside_s3_models_are_named_as_not_isolated() -> None:
    s3 = {"key": "s3-model", "s3_uri": "s3://bucket/models/a/"}
    opted_out = {"key": "open", "s3_uri": "s3://bucket/models/b/", "enable_network_isolation": False}
    config = parse_config(_ic([IC_MODEL, s3, opted_out], instance_type="ml.g6.12xlarge"))
    assert isinstance(config, InferenceComponentConfig)
    assert not config.network_isolation
    assert collect_warnings(config) == [
        "models: not network-isolated: chat (hf_model_id: downloads from the Hugging Face Hub), open "
        "(enable_network_isolation: false); so the endpoint config's EnableNetworkIsolation stays off and "
        "s3-model rely on their model's own flag, which AWS does not document for inference components; "
        "stage every model's weights to S3 (s3_uri) to isolate them all"
    ]
    all_s3 = parse_config(_ic([s3], name="isolated"))
    assert isinstance(all_s3, InferenceComponentConfig)
    assert all_s3.network_isolation
    assert collect_warnings(all_s3) == []


# --- The README's configuration tables and the commented examples in config/*.yaml ------------------

_README_NAME = re.compile(r"`([a-z_][a-z0-9_.]*)`")
# The README table under this heading describes one entry of `models` (ComponentSpec); the others describe
# top-level fields.
_PER_MODEL_HEADING = "Inference components"


def _readme_fields() -> tuple[list[str], list[str]]:
    """(top-level field paths, per-model field paths) named in the first column of the README's tables.

    A cell may list several fields: `a.b.c`, `d` names a.b.c and a.b.d.
    """
    top: list[str] = []
    per_model: list[str] = []
    heading = ""
    in_table = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("| Field |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
        if not in_table or line.startswith("|---"):
            continue
        parent = ""
        for name in _README_NAME.findall(line.split("|")[1]):
            if "." in name:
                parent = name.rsplit(".", 1)[0]
            path = name if "." in name or not parent else f"{parent}.{name}"
            (per_model if heading.startswith(_PER_MODEL_HEADING) else top).append(path)
    return top, per_model


def _sub_spec(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if (found := _sub_spec(arg)) is not None and getattr(annotation, "__origin__", None) is not list:
            return found
    return None


def _has_field(model: type[BaseModel], path: str) -> bool:
    current: type[BaseModel] | None = model
    for part in path.split("."):
        if current is None or part not in current.model_fields:
            return False
        current = _sub_spec(current.model_fields[part].annotation)
    return True


def _leaf_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    leaves: list[str] = []
    for name, field in model.model_fields.items():
        sub = _sub_spec(field.annotation)
        leaves += [f"{prefix}{name}"] if sub is None else _leaf_fields(sub, f"{prefix}{name}.")
    return leaves


TOP_FIELDS, PER_MODEL_FIELDS = _readme_fields()
ROOTS: tuple[type[BaseModel], ...] = (SingleModelConfig, InferenceComponentConfig)


def test_readme_tables_name_only_real_fields_and_every_field() -> None:
    assert len(TOP_FIELDS) > 30, "the README's top-level table was found"
    assert len(PER_MODEL_FIELDS) > 8, "the README's per-model table was found"
    assert [f for f in TOP_FIELDS if not any(_has_field(root, f) for root in ROOTS)] == []
    assert [f for f in PER_MODEL_FIELDS if not _has_field(ComponentSpec, f)] == []
    documented = set(TOP_FIELDS) | set(PER_MODEL_FIELDS)
    undocumented = {f for root in ROOTS for f in _leaf_fields(root) if not f.startswith("models")}
    undocumented |= {f for f in _leaf_fields(ComponentSpec) if f"model.{f}" not in documented}
    assert sorted(undocumented - documented) == [], "add a row to the README's configuration tables"


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return data | {head: _set(dict(data.get(head) or {}), rest, value) if rest else value}


@pytest.mark.parametrize("path", TOP_FIELDS, ids=str)
def test_every_top_level_readme_field_is_checked_and_named(path: str) -> None:
    base: dict[str, Any] = {} if _has_field(SingleModelConfig, path) else _ic([IC_MODEL])
    problems = _error(_set(base, path, [{}])).removeprefix("cfg.yaml: ").split("; ")
    assert any(problem.startswith((f"{path}: ", f"{path}[")) for problem in problems), problems


@pytest.mark.parametrize("path", PER_MODEL_FIELDS, ids=str)
def test_every_per_model_readme_field_is_checked_and_named(path: str) -> None:
    message = _error(_ic([_set(IC_MODEL, path, [{}])]))
    assert message.startswith(f"cfg.yaml: models[0].{path}"), message


_COMMENTED_FIELD = re.compile(r"^(?P<indent>\s*)# (?P<field>[a-z][a-z0-9_]*: .*)$")
_INSTEAD_OF = re.compile(r"instead of (?P<key>[a-z][a-z0-9_]*)")


def _commented_examples() -> list[tuple[Path, int]]:
    return [
        (path, number)
        for path in EXAMPLE_CONFIGS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines())
        if _COMMENTED_FIELD.match(line)
    ]


def test_the_commented_examples_are_found() -> None:
    assert {(path.name, number + 1) for path, number in _commented_examples()} >= {
        ("qwen3-4b.yaml", 13),
        ("qwen3-4b.yaml", 22),
    }


@pytest.mark.parametrize(
    ("path", "number"), _commented_examples(), ids=lambda v: v.name if isinstance(v, Path) else f"line{v + 1}"
)
def test_each_commented_example_validates_when_uncommented(path: Path, number: int) -> None:
    """`# field: value` lines in config/*.yaml are examples; `instead of KEY` on one replaces KEY."""
    lines = path.read_text(encoding="utf-8").splitlines()
    match = _COMMENTED_FIELD.match(lines[number])
    assert match is not None
    lines[number] = match["indent"] + match["field"]
    if (replaced := _INSTEAD_OF.search(match["field"])) is not None:
        sibling = f"{match['indent']}{replaced['key']}:"
        lines = [line for line in lines if not line.startswith(sibling)]
    data = yaml.safe_load("\n".join(lines))
    parse_config(data, source=f"{path.name} line {number + 1}")
