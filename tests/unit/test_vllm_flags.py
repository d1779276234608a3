"""The vLLM flag catalogs and the synth-time check: one test per mistake with its exact line."""

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.vllm_catalog import Catalog, Flag, catalog_path, catalog_versions, load_catalog
from sagemaker_openai.catalog.vllm_env import container_environment
from sagemaker_openai.catalog.vllm_flags import UserFlag, check_flags, splits_arrays
from sagemaker_openai.config import ModelSpec, VllmSettings, collect_warnings, parse_config
from sagemaker_openai.errors import ConfigError
from scripts.vllm_catalog import check_plausible, dump, read_lock, start_up_pairings
from tests.conftest import CONFIG_DIR, ROOT, load_yaml

QWEN3_4B = load_yaml(CONFIG_DIR / "qwen3-4b.yaml")
DLC_0_27_TAG = "0.27.1-gpu-py312-cu130-ubuntu22.04-sagemaker"


def _config(vllm: dict[str, Any] | None = None, image: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of config/qwen3-4b.yaml with these vllm settings (extra_args and typed fields) merged in."""
    data = copy.deepcopy(QWEN3_4B)
    data["model"]["vllm"].update(vllm or {})
    if image is not None:
        data["image"] = image
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message.removeprefix("cfg.yaml: ")


def _catalog(version: str = "0.30.0") -> Catalog:
    catalog = load_catalog(version)
    assert catalog is not None
    return catalog


# One entry per mistake the issue lists: the vllm settings, and the exact line after the file name.
MISTAKES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown flag in extra_args": (
        {"extra_args": {"disable_log_stat": True}},
        "model.vllm.extra_args.disable_log_stat: vLLM 0.30.0 has no flag --disable-log-stat; "
        "did you mean disable_log_stats (--disable-log-stats)?",
    ),
    "unknown flag, nothing close": (
        {"extra_args": {"turbo_mode": 1}},
        "model.vllm.extra_args.turbo_mode: vLLM 0.30.0 has no flag --turbo-mode; "
        "remove it, or check `vllm serve --help` of vLLM 0.30.0",
    ),
    "false on a flag without a --no- form": (
        {"extra_args": {"disable_log_stats": False}},
        "model.vllm.extra_args.disable_log_stats: --disable-log-stats has no --no- form in vLLM 0.30.0, "
        "so false cannot pass; remove the key to leave it off",
    ),
    "the string 'true' for a flag that needs a value": (
        {"extra_args": {"max_num_batched_tokens": "true"}},
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens needs a value, but the "
        "DLC's entrypoint reads the string 'true' as a bare --max-num-batched-tokens; give the value itself",
    ),
    "the string 'false' for a flag that needs a value": (
        {"extra_args": {"kv_cache_dtype": "False"}},
        "model.vllm.extra_args.kv_cache_dtype: --kv-cache-dtype needs a value, but the DLC's entrypoint "
        "reads the string 'False' as no flag at all; give the value itself; allowed: auto, bfloat16, "
        "float16, fp8, fp8_ds_mla, fp8_e4m3, fp8_e5m2, fp8_inc, fp8_per_token_head, int4_per_token_head, "
        "int8_per_token_head, nvfp4, nvfp4_4over6, nvfp4_ds_mla, turboquant_3bit_nc, turboquant_4bit_nc, "
        "turboquant_k3v4_nc, turboquant_k8v4",
    ),
    "an empty string for a flag that needs a value": (
        {"extra_args": {"max_num_batched_tokens": ""}},
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens needs a value, but the "
        "DLC's entrypoint reads the string '' as a bare --max-num-batched-tokens; give the value itself",
    ),
    "the string 'false' for a store_true flag": (
        {"extra_args": {"headless": "false"}},
        "model.vllm.extra_args.headless: the string 'false' is not a boolean, and --headless has no "
        "--no- form; remove the key",
    ),
    "the string 'true' for a boolean flag": (
        {"extra_args": {"enforce_eager": " TRUE "}},
        "model.vllm.extra_args.enforce_eager: the string ' TRUE ' is not a boolean; "
        "write true without quotes",
    ),
    "the string 'false' for a flag with an optional value": (
        {"extra_args": {"hf_token": "false"}},
        "model.vllm.extra_args.hf_token: the DLC's entrypoint reads the string 'false' as no flag at all; "
        "write true without quotes for the bare flag, or give the value itself",
    ),
    "a number for a choice flag": (
        {"extra_args": {"kv_cache_dtype": 8}},
        "model.vllm.extra_args.kv_cache_dtype: --kv-cache-dtype takes a name, not the number 8; allowed: "
        "auto, bfloat16, float16, fp8, fp8_ds_mla, fp8_e4m3, fp8_e5m2, fp8_inc, fp8_per_token_head, "
        "int4_per_token_head, int8_per_token_head, nvfp4, nvfp4_4over6, nvfp4_ds_mla, turboquant_3bit_nc, "
        "turboquant_4bit_nc, turboquant_k3v4_nc, turboquant_k8v4",
    ),
    "a list for a scalar flag": (
        {"extra_args": {"max_num_batched_tokens": [8192, 16384]}},
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens takes one value in "
        "vLLM 0.30.0, not a list",
    ),
    "a string that the entrypoint splits as a JSON array": (
        {"extra_args": {"max_num_batched_tokens": "[8192, 16384]"}},
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens takes one value in "
        "vLLM 0.30.0, not a list",
    ),
    "an empty list": (
        {"extra_args": {"lora_modules": []}},
        "model.vllm.extra_args.lora_modules: an empty list passes nothing to --lora-modules; remove the key",
    ),
    "a list element outside the choices": (
        {"extra_args": {"collect_detailed_traces": ["model", "gpu"]}},
        "model.vllm.extra_args.collect_detailed_traces: --collect-detailed-traces does not accept 'gpu' "
        "in vLLM 0.30.0; allowed: all, model, worker, model,worker, model,all, worker,model, worker,all, "
        "all,model, all,worker",
    ),
    "a mapping for a scalar flag": (
        {"extra_args": {"max_num_batched_tokens": {"decode": 8192}}},
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens takes one int value, "
        "not a mapping",
    ),
    "true for a flag that needs a value": (
        {"extra_args": {"max_num_batched_tokens": True}},
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens needs a value in "
        "vLLM 0.30.0, and true would pass it bare; give the value",
    ),
    "a value for a flag that takes none": (
        {"extra_args": {"disable_log_stats": 1}},
        "model.vllm.extra_args.disable_log_stats: --disable-log-stats takes no value in vLLM 0.30.0; "
        "write true to pass it, or remove the key",
    ),
    "a dtype the release does not accept": (
        {"dtype": "float8"},
        "model.vllm.dtype: --dtype does not accept 'float8' in vLLM 0.30.0; "
        "allowed: auto, bfloat16, float, float16, float32, half",
    ),
    "a kv_cache_dtype the release does not accept": (
        {"extra_args": {"kv_cache_dtype": "fp4"}},
        "model.vllm.extra_args.kv_cache_dtype: --kv-cache-dtype does not accept 'fp4' in vLLM 0.30.0; "
        "allowed: auto, bfloat16, float16, fp8, fp8_ds_mla, fp8_e4m3, fp8_e5m2, fp8_inc, fp8_per_token_head, "
        "int4_per_token_head, int8_per_token_head, nvfp4, nvfp4_4over6, nvfp4_ds_mla, turboquant_3bit_nc, "
        "turboquant_4bit_nc, turboquant_k3v4_nc, turboquant_k8v4",
    ),
    "--no- form given false": (
        {"extra_args": {"no_enable_chunked_prefill": False}},
        "model.vllm.extra_args.no_enable_chunked_prefill: --no-enable-chunked-prefill takes no value; "
        "write true, or set enable_chunked_prefill: false",
    ),
    "a flag that needs another": (
        {"extra_args": {"enable_log_outputs": True}},
        "model.vllm.extra_args.enable_log_outputs: --enable-log-outputs needs --enable-log-requests in "
        "vLLM 0.30.0; set model.vllm.extra_args.enable_log_requests, or leave enable_log_outputs off",
    ),
    "a flag that needs another, which is turned off": (
        {"extra_args": {"enable_log_outputs": True, "no_enable_log_requests": True}},
        "model.vllm.extra_args.enable_log_outputs: --enable-log-outputs needs --enable-log-requests in "
        "vLLM 0.30.0; set model.vllm.extra_args.enable_log_requests, or leave enable_log_outputs off",
    ),
    "two flags the release refuses together": (
        {"extra_args": {"enable_per_request_metrics": True, "disable_log_stats": True}},
        "model.vllm.extra_args.enable_per_request_metrics: --enable-per-request-metrics cannot be used "
        "with --disable-log-stats (model.vllm.extra_args.disable_log_stats) in vLLM 0.30.0; "
        "remove one of them",
    ),
    "enable_auto_tool_choice without a parser": (
        {"tool_call_parser": None},
        "model.vllm: enable_auto_tool_choice (--enable-auto-tool-choice) needs tool_call_parser "
        "(--tool-call-parser); set tool_call_parser (hermes for Qwen3), or enable_auto_tool_choice: null",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=list(MISTAKES))
def test_each_mistake_stops_synth_with_one_line(mistake: str) -> None:
    vllm, expected = MISTAKES[mistake]
    assert _error(_config(vllm)) == expected


def test_unregistered_parsers_name_the_closest_and_list_the_registered_ones() -> None:
    catalog = _catalog()
    assert _error(_config({"tool_call_parser": "hermez"})) == (
        "model.vllm.tool_call_parser: vLLM 0.30.0 registers no tool-call parser 'hermez'; "
        f"did you mean hermes? registered: {', '.join(catalog.tool_call_parsers)}"
    )
    assert _error(_config({"reasoning_parser": "qwen"})) == (
        "model.vllm.reasoning_parser: vLLM 0.30.0 registers no reasoning parser 'qwen'; "
        f"did you mean qwen3? registered: {', '.join(catalog.reasoning_parsers)}"
    )


def test_a_parser_plugin_may_register_other_names() -> None:
    config = parse_config(
        _config({"tool_call_parser": "mine", "extra_args": {"tool_parser_plugin": "/opt/ml/model/p.py"}})
    )
    assert config.model.vllm.tool_call_parser == "mine"  # type: ignore[union-attr]


def test_problems_of_several_models_share_one_line_and_name_each_model() -> None:
    models = [
        {"key": "a", "hf_model_id": "Qwen/Qwen3-4B"},
        {
            "key": "b",
            "hf_model_id": "Qwen/Qwen3-4B",
            "vllm": {"dtype": "fp8", "extra_args": {"max_model_length": 1}},
        },
    ]
    data = {"mode": "inference_component", "instance_type": "ml.g6.12xlarge", "models": models}
    assert _error(data) == (
        "models[1].vllm.dtype: --dtype does not accept 'fp8' in vLLM 0.30.0; allowed: auto, bfloat16, "
        "float, float16, float32, half; models[1].vllm.extra_args.max_model_length: vLLM 0.30.0 has no "
        "flag --max-model-length; did you mean max_model_len (--max-model-len)?"
    )


def test_valid_flags_of_the_release_pass_and_render() -> None:
    extra = {
        "kv_cache_dtype": "fp8",
        "enable_chunked_prefill": False,
        "limit_mm_per_prompt": {"image": 0},
        "no_enable_log_requests": True,
        "allowed_origins": ["https://example.com"],
        "lora_modules": ["a=s3://b/a", "b=s3://b/b"],
        "max_num_batched_tokens": 8192,
        "hf_token": True,
        "collect_detailed_traces": ["model", "worker"],
        "chat_template": "[not JSON",  # a string the entrypoint leaves whole
    }
    config = parse_config(_config({"dtype": "bfloat16", "enable_prefix_caching": False, "extra_args": extra}))
    env = container_environment(config.model)  # type: ignore[union-attr]
    assert env["SM_VLLM_KV_CACHE_DTYPE"] == "fp8"
    assert env["SM_VLLM_NO_ENABLE_CHUNKED_PREFILL"] == "true"
    assert env["SM_VLLM_LIMIT_MM_PER_PROMPT"] == '{"image":0}'
    # 0.28.0+ split an array into one argument per element, except --allowed-origins (one token).
    assert env["SM_VLLM_LORA_MODULES"] == '["a=s3://b/a","b=s3://b/b"]'
    assert env["SM_VLLM_ALLOWED_ORIGINS"] == '["https://example.com"]'


def test_lists_before_dlc_0_28_are_refused_except_the_single_token_flags() -> None:
    image = {"vllm_version": "0.27.1"}
    assert _error(_config({"extra_args": {"lora_modules": ["a=s3://b/a"]}}, image)) == (
        "model.vllm.extra_args.lora_modules: the entrypoint of DLC 0.27.1 may pass a list to "
        "--lora-modules as one literal token; use image.vllm_version 0.28.0 or later for list values"
    )
    assert parse_config(_config({"extra_args": {"allowed_origins": ["*"]}}, image))
    assert parse_config(_config({"extra_args": {"lora_modules": ["a=s3://b/a"]}}, {"vllm_version": "0.28.0"}))
    assert (splits_arrays("0.27.1"), splits_arrays("0.28.0"), splits_arrays(None)) == (False, True, True)


def test_a_custom_image_follows_the_version_its_tag_names() -> None:
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm:{DLC_0_27_TAG}"
    assert _error(_config({"extra_args": {"lora_modules": ["x=y"]}}, {"uri": uri})).startswith(
        "model.vllm.extra_args.lora_modules: the entrypoint of DLC 0.27.1 may pass a list"
    )
    assert images.vllm_version_in_tag(DLC_0_27_TAG) == "0.27.1"
    assert images.vllm_version_in_tag("server-sagemaker-cuda-v2.3") is None


def test_an_image_without_a_catalog_is_accepted_with_one_warning() -> None:
    unchecked = (
        "the models' vllm flags are not checked at synth (the kit has flag catalogs for vLLM "
        f"{', '.join(catalog_versions())}; `make vllm-catalog` adds one)"
    )
    custom = parse_config(
        _config(
            {"extra_args": {"anything": "goes"}},
            {"uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm:server-sagemaker-cuda-v2.3"},
        )
    )
    assert collect_warnings(custom) == [f"image.uri: the image tag names no vLLM version; {unchecked}"]
    newer = parse_config(_config(image={"uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm:0.99.0"}))
    assert collect_warnings(newer) == [
        f"image.uri: the image tag names vLLM 0.99.0, which has no flag catalog; {unchecked}"
    ]


@pytest.fixture
def without_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr("sagemaker_openai.catalog.vllm_catalog.CATALOG_DIR", tmp_path)
    load_catalog.cache_clear()
    yield
    load_catalog.cache_clear()


@pytest.mark.usefixtures("without_catalogs")
def test_a_dlc_version_without_a_catalog_warns_that_its_flags_are_unchecked() -> None:
    config = parse_config(_config({"extra_args": {"anything": "goes"}}))
    assert collect_warnings(config) == [
        "image.vllm_version: no vLLM flag catalog for DLC 0.30.0; the models' vllm flags are not checked "
        "at synth (the kit has flag catalogs for vLLM ; `make vllm-catalog` adds one)"
    ]


def test_a_catalog_of_another_format_or_release_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sagemaker_openai.catalog.vllm_catalog.CATALOG_DIR", tmp_path)
    (tmp_path / "vllm-9.9.9.json").write_text(json.dumps({"format": 2, "vllm": "9.9.8"}))
    load_catalog.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"vllm-9.9.9.json: not a format-2 catalog of vLLM 9.9.9"):
            load_catalog("9.9.9")
    finally:
        load_catalog.cache_clear()


def test_false_on_a_typed_field_without_a_no_form_says_to_set_it_to_null() -> None:
    catalog = Catalog(
        vllm="0.0.1",
        flags={"enable_auto_tool_choice": Flag("enable_auto_tool_choice", "flag")},
        tool_call_parsers=(),
        reasoning_parsers=(),
        requires=(),
        conflicts=(),
        source={},
    )
    flag = UserFlag("model.vllm.enable_auto_tool_choice", "enable_auto_tool_choice", False, typed=True)
    assert check_flags([flag], catalog, dlc_version="0.0.1", vllm_path="model.vllm", typed_fields=()) == [
        "model.vllm.enable_auto_tool_choice: --enable-auto-tool-choice has no --no- form in vLLM 0.0.1, "
        "so false cannot pass; set it to null to leave it off"
    ]


def test_there_is_a_catalog_for_every_dlc_version_the_kit_offers_with_its_pinned_source() -> None:
    pins = read_lock()
    for version in images.known_vllm_versions():
        catalog = _catalog(version)
        assert catalog.source["sha256"] == pins[version], version
        assert catalog.source["sdist"] == f"vllm-{version}.tar.gz"
        assert "vllm/engine/arg_utils.py" in catalog.source["files"]
        assert VllmSettings.typed_flags() <= set(catalog.flags), f"a typed field is not a flag of {version}"
        assert ["enable_auto_tool_choice", "tool_call_parser"] in [list(p) for p in catalog.requires]


def test_the_0_30_0_catalog_agrees_with_vllm_0_30_0() -> None:
    catalog = _catalog("0.30.0")
    store_true = ("disable_log_stats", "aggregate_engine_logging", "data_parallel_multi_port_external_lb")
    for name in (*store_true, "headless", "grpc"):
        assert catalog.flags[name].kind == "flag", name
        assert not catalog.flags[name].has_no_form
    assert catalog.flags["dtype"].choices == ("auto", "bfloat16", "float", "float16", "float32", "half")
    assert catalog.flags["enable_chunked_prefill"].has_no_form
    assert {"auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"} <= set(
        catalog.flags["kv_cache_dtype"].choices or ()
    )
    assert {"hermes", "llama3_json", "mistral"} <= set(catalog.tool_call_parsers)
    assert "qwen3" in catalog.reasoning_parsers
    assert (catalog.flags["limit_mm_per_prompt"].type, catalog.flags["served_model_name"].kind) == (
        "json",
        "list",
    )
    assert catalog.source["files"]["vllm/entrypoints/launchers/cli_args.py"]
    assert ("enable_per_request_metrics", "disable_log_stats") in catalog.conflicts
    # Read as on the DLC's CUDA platform, not this machine's.
    assert catalog.flags["mm_processor_device"].choices == ("auto", "cpu", "cuda")


def test_the_generator_reads_start_up_pairings_and_writes_what_it_reads() -> None:
    source = (
        "def validate_parsed_serve_args(args):\n"
        "    if args.enable_auto_tool_choice and not args.tool_call_parser:\n"
        "        raise TypeError('x')\n"
        "    if getattr(args, 'a', False) and getattr(args, 'b', False):\n"
        "        raise ValueError('y')\n"
        "    if args.c and args.d:\n"
        "        print('not refused')\n"
    )
    assert start_up_pairings(source) == {
        "requires": [["enable_auto_tool_choice", "tool_call_parser"]],
        "conflicts": [["a", "b"]],
    }
    text = catalog_path("0.30.0").read_text()
    assert dump(json.loads(text)) == text, "the checked-in file is the generator's output"
    swallowed = {"flags": {"model": {"kind": "value"}}, "tool_call_parsers": [], "reasoning_parsers": []}
    with pytest.raises(SystemExit, match=r"vllm 9.9.9: implausible parser \(1 flags, missing \['dtype'"):
        check_plausible("9.9.9", swallowed)


def test_model_spec_without_a_deployment_is_not_checked() -> None:
    # Constructs built in code take a ModelSpec; the catalog needs the deployment's image to choose.
    spec = ModelSpec(hf_model_id="a/b", vllm={"extra_args": {"not_a_flag": 1}})
    assert container_environment(spec)["SM_VLLM_NOT_A_FLAG"] == "1"


def test_app_py_stops_on_a_flag_mistake_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "qwen3-4b.yaml"
    text = (CONFIG_DIR / "qwen3-4b.yaml").read_text()
    bad.write_text(text.replace("    # extra_args:", "    extra_args: {disable_log_stats: false}\n    #", 1))
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "app.py"],
        cwd=ROOT,
        env={
            "CDK_CONTEXT_JSON": json.dumps({"config": str(bad)}),
            "PATH": f"{ROOT / 'node_modules/.bin'}:/usr/bin:/bin",  # jsii runs on the pinned Node 22
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"Error: {bad}: model.vllm.extra_args.disable_log_stats: --disable-log-stats has no --no- form in "
        "vLLM 0.30.0, so false cannot pass; remove the key to leave it off"
    ]
