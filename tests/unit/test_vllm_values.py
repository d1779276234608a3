"""Each flag value read the way its vLLM release will: one class of mistake per test, each a real flag.

Every line below is the exact refusal after the file name; each case passed synth before the catalog
recorded converters, config-class fields, value registries and start-up rules.
"""

import copy
import json
import subprocess
import sys
from typing import Any

import pytest

from sagemaker_openai.catalog.vllm_catalog import load_catalog
from sagemaker_openai.catalog.vllm_env import container_environment
from sagemaker_openai.catalog.vllm_values import convert, human_readable_int
from sagemaker_openai.config import parse_config
from sagemaker_openai.errors import ConfigError
from tests.conftest import CONFIG_DIR, ROOT, load_yaml

QWEN3_4B = load_yaml(CONFIG_DIR / "qwen3-4b.yaml")
HUMAN = "an integer such as 8192, 8k (8000) or 8K (8192)"


def _config(extra: dict[str, Any], vllm_version: str | None = None, **vllm: Any) -> dict[str, Any]:
    data = copy.deepcopy(QWEN3_4B)
    data["model"]["vllm"].update(vllm)
    data["model"]["vllm"]["extra_args"] = extra
    if vllm_version is not None:
        data["image"] = {"vllm_version": vllm_version}
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message.removeprefix("cfg.yaml: ")


# (extra_args, image.vllm_version or None for the default 0.30.0, the exact line)
REFUSED: dict[str, tuple[dict[str, Any], str | None, str]] = {
    # Types: the converter the release records for the flag
    "auto where only --max-model-len takes it": (
        {"max_num_batched_tokens": "auto"},
        None,
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens reads 'auto' with "
        f"human_readable_int in vLLM 0.30.0, which refuses it; write {HUMAN}",
    ),
    "a decimal with a binary suffix": (
        {"max_num_batched_tokens": "1.5K"},
        None,
        "model.vllm.extra_args.max_num_batched_tokens: --max-num-batched-tokens reads '1.5K' with "
        f"human_readable_int in vLLM 0.30.0, which refuses it; write {HUMAN}",
    ),
    "a float for an int flag": (
        {"max_logprobs": 2.5},
        None,
        "model.vllm.extra_args.max_logprobs: --max-logprobs reads 2.5 with int in vLLM 0.30.0, which "
        "refuses it; write an integer",
    ),
    "a word for a float flag": (
        {"mm_processor_cache_gb": "lots"},
        None,
        "model.vllm.extra_args.mm_processor_cache_gb: --mm-processor-cache-gb reads 'lots' with float in "
        "vLLM 0.30.0, which refuses it; write a number",
    ),
    "a list element of the wrong type": (
        {"cudagraph_capture_sizes": [1, 2, "four"]},
        None,
        "model.vllm.extra_args.cudagraph_capture_sizes: --cudagraph-capture-sizes reads 'four' with int in "
        "vLLM 0.30.0, which refuses it; write an integer",
    ),
    "a mapping as a list element where vLLM reads integers": (
        {"cudagraph_capture_sizes": [{"size": 8}]},
        None,
        "model.vllm.extra_args.cudagraph_capture_sizes: --cudagraph-capture-sizes reads {'size': 8} with int "
        "in vLLM 0.30.0, which refuses it; write an integer",
    ),
    # JSON flags and the fields of the config class behind them
    "JSON that does not parse": (
        {"compilation_config": "{mode: 3"},
        None,
        "model.vllm.extra_args.compilation_config: --compilation-config reads its value as JSON in vLLM "
        "0.30.0, and '{mode: 3' does not parse; write a mapping (or a string that parses as a JSON object)",
    ),
    "JSON that does not parse, json.loads flag": (
        {"limit_mm_per_prompt": "{image: 2}"},
        None,
        "model.vllm.extra_args.limit_mm_per_prompt: --limit-mm-per-prompt reads its value as JSON in vLLM "
        "0.30.0, and '{image: 2}' does not parse; write JSON: a mapping, a list, or a string that parses as "
        "JSON",
    ),
    "a misspelt compilation_config key": (
        {"compilation_config": {"mod": 3}},
        None,
        "model.vllm.extra_args.compilation_config: --compilation-config: CompilationConfig has no key 'mod' "
        "in vLLM 0.30.0; did you mean mode?",
    ),
    "a misspelt key of a nested config class": (
        {"compilation_config": {"pass_config": {"fuse_nrm": True}}},
        None,
        "model.vllm.extra_args.compilation_config: --compilation-config: PassConfig has no key "
        "'pass_config.fuse_nrm' in vLLM 0.30.0; did you mean pass_config.fuse_norm_quant?",
    ),
    "a misspelt speculative_config key (read with json.loads, checked against SpeculativeConfig)": (
        {"speculative_config": {"method": "ngram", "num_speculative_token": 3}},
        None,
        "model.vllm.extra_args.speculative_config: --speculative-config: SpeculativeConfig has no key "
        "'num_speculative_token' in vLLM 0.30.0; did you mean num_speculative_tokens?",
    ),
    "a misspelt kv_transfer_config key in a JSON string": (
        {"kv_transfer_config": '{"kv_conector": "NixlConnector", "kv_role": "kv_both"}'},
        None,
        "model.vllm.extra_args.kv_transfer_config: --kv-transfer-config: KVTransferConfig has no key "
        "'kv_conector' in vLLM 0.30.0; did you mean kv_connector?",
    ),
    # Known value sets argparse does not hold
    "an unknown quantization method": (
        {"quantization": "fp4"},
        None,
        "model.vllm.extra_args.quantization: vLLM 0.30.0 has no quantization method 'fp4'; did you mean "
        "mxfp4? known: auto_awq, auto_gptq, awq, awq_marlin, compressed-tensors, deepseek_v4_fp8, "
        "experts_int8, fbgemm_fp8, fp8, fp8_per_block, fp8_per_channel, fp8_per_tensor, fp_quant, "
        "gpt_oss_mxfp4, gptq, gptq_marlin, humming, inc, int8_per_channel_weight_only, modelopt, "
        "modelopt_fp4, modelopt_mixed, modelopt_mxfp8, moe_wna16, mxfp4, mxfp8, nvfp4_per_token, online, "
        "quark, torchao",
    ),
    "a deprecated quantization method without its flag": (
        {"quantization": "fbgemm_fp8"},
        None,
        "model.vllm.extra_args.quantization: the quantization method 'fbgemm_fp8' is deprecated in vLLM "
        "0.30.0, which refuses it without --allow-deprecated-quantization; set "
        "extra_args.allow_deprecated_quantization: true, or choose another",
    ),
    # Start-up validation: signs and ranges, mutually exclusive, requires another
    "a negative keep-alive interval": (
        {"sse_keep_alive_interval": -5},
        None,
        "model.vllm.extra_args.sse_keep_alive_interval: vLLM 0.30.0 refuses --sse-keep-alive-interval -5 "
        "at start-up: --sse-keep-alive-interval must be a non-negative integer (0 disables keep-alive "
        "comments); change the value",
    ),
    "below a config field's bound": (
        {"max_loras": 0},
        None,
        "model.vllm.extra_args.max_loras: --max-loras must be >= 1 in vLLM 0.30.0 (got 0); set a value >= 1",
    ),
    "at a config field's open upper bound": (
        {"watermark": 1.0},
        None,
        "model.vllm.extra_args.watermark: --watermark must be < 1 in vLLM 0.30.0 (got 1.0); set a value < 1",
    ),
    "two load-balancing modes at once": (
        {"data_parallel_hybrid_lb": True, "data_parallel_external_lb": True},
        None,
        "model.vllm.extra_args.data_parallel_hybrid_lb: --data-parallel-hybrid-lb cannot be used with "
        "--data-parallel-external-lb (model.vllm.extra_args.data_parallel_external_lb) in vLLM 0.30.0; "
        "remove one of them",
    ),
    "a flag that requires another value of a second flag": (
        {"nnodes": 2, "data_parallel_backend": "ray"},
        None,
        "model.vllm.extra_args.nnodes: vLLM 0.30.0 refuses --nnodes 2 with --data-parallel-backend ray at "
        "start-up: Invalid data-parallel launch options: `--nnodes ...` requires `--data-parallel-backend "
        "mp`; got `--data-parallel-backend ...`. Use the MP backend or set `--nnodes 1`; change the value",
    ),
    "a backend the DLC's platform refuses": (
        {"kda_prefill_backend": "fused"},
        None,
        "model.vllm.extra_args.kda_prefill_backend: vLLM 0.30.0 refuses --kda-prefill-backend fused at "
        "start-up: --kda-prefill-backend=fused is only available on ROCm; change the value",
    ),
    # Flags from another release
    "a flag of a later release": (
        {"sse_keep_alive_interval": 15},
        "0.28.0",
        "model.vllm.extra_args.sse_keep_alive_interval: vLLM 0.28.0 has no flag --sse-keep-alive-interval: "
        "it needs image.vllm_version 0.29.0 or later; set it, or remove the key",
    ),
    "a flag an earlier release removed": (
        {"calculate_kv_scales": True},
        None,
        "model.vllm.extra_args.calculate_kv_scales: vLLM 0.30.0 has no flag --calculate-kv-scales: it was "
        "removed in vLLM 0.28.0 (the last release with it is 0.27.1); remove the key",
    ),
    # Config schema refusals are one line, not one per form of the union
    "null for a flag": (
        {"enforce_eager": None},
        None,
        "model.vllm.extra_args.enforce_eager: a vLLM flag takes a string, a number, true/false, a mapping, "
        "or a list of strings, numbers or mappings, not null; remove the key to leave the flag off",
    ),
    "a list of lists": (
        {"lora_modules": [["a", "s3://b/a"]]},
        None,
        "model.vllm.extra_args.lora_modules: a vLLM flag takes a string, a number, true/false, a mapping, "
        "or a list of strings, numbers or mappings, not a list holding list; remove the key to leave the "
        "flag off",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_each_value_vllm_refuses_stops_synth_with_one_line(case: str) -> None:
    extra, version, expected = REFUSED[case]
    assert _error(_config(extra, version)) == expected


ACCEPTED: dict[str, dict[str, Any]] = {
    "human-readable integers": {"max_num_batched_tokens": "8k", "kv_cache_memory_bytes": "2G"},
    "an optional converter's None": {"max_num_scheduled_tokens": "None"},
    "config-class keys, nested, as a mapping": {"compilation_config": {"mode": 3, "pass_config": {}}},
    "a config-class JSON string with a human-readable number": {
        "kv_transfer_config": '{"kv_connector": "OffloadingConnector", "kv_role": "kv_both", '
        '"kv_buffer_size": 1g}'
    },
    "a registered and an allowed deprecated quantization": {
        "quantization": "fbgemm_fp8",
        "allow_deprecated_quantization": True,
    },
    "numbers at their bounds": {"max_loras": 1, "watermark": 0.0, "sse_keep_alive_interval": 0},
    "more nodes on the mp backend (its default)": {"nnodes": 2},
    "a JSON flag whose keys vLLM does not fix": {"limit_mm_per_prompt": {"image": 2, "video": 0}},
}


@pytest.mark.parametrize("case", ACCEPTED, ids=list(ACCEPTED))
def test_values_vllm_accepts_pass(case: str) -> None:
    assert parse_config(_config(ACCEPTED[case]))


def test_a_list_of_mappings_is_written_as_vllm_takes_it_and_rendered_one_json_argument_each() -> None:
    modules = [{"name": "sql", "path": "/opt/ml/model/sql"}, {"name": "chat", "path": "/opt/ml/model/chat"}]
    config = parse_config(_config({"enable_lora": True, "lora_modules": modules}, "0.28.0"))
    env = container_environment(config.model)  # type: ignore[union-attr]
    # The 0.28.0+ entrypoint splits the array: one argument per element, each as compact JSON, which
    # vLLM's LoRAParserAction reads as {name, path}.
    assert env["SM_VLLM_LORA_MODULES"] == (
        '[{"name":"sql","path":"/opt/ml/model/sql"},{"name":"chat","path":"/opt/ml/model/chat"}]'
    )


@pytest.mark.parametrize(
    ("vllm", "expected"),
    [
        (
            {"extra_args": {"no_enable_prefix_caching": True}, "enable_prefix_caching": True},
            "model.vllm: extra_args key 'no_enable_prefix_caching' duplicates the typed field "
            "'enable_prefix_caching'; set that",
        ),
        (
            {"extra_args": {"tensor_parallel_size": 2}},
            "model.vllm: extra_args key 'tensor_parallel_size' duplicates the typed field "
            "'tensor_parallel_size'; set that",
        ),
    ],
)
def test_a_typed_flag_set_again_through_extra_args_stays_refused(vllm: dict[str, Any], expected: str) -> None:
    data = copy.deepcopy(QWEN3_4B)
    data["model"]["vllm"].update(vllm)
    assert _error(data) == expected


@pytest.mark.parametrize("variable", ["SM_VLLM_MAX_MODEL_LEN", "SM_VLLM_NO_ENABLE_PREFIX_CACHING"])
def test_a_typed_flag_set_again_through_the_environment_stays_refused(variable: str) -> None:
    data = copy.deepcopy(QWEN3_4B)
    data["model"]["environment"] = {variable: "4096"}
    assert _error(data) == (
        f"model: environment key {variable!r} is set by the kit; use the vllm fields instead"
    )


def test_the_converters_mirror_vllms() -> None:
    catalog = load_catalog("0.30.0")
    assert catalog is not None
    assert [human_readable_int(t) for t in ("25.6k", "1K", " 7 ", "2M")] == [25600, 1024, 7, 2 * 2**20]
    max_model_len = catalog.flags["max_model_len"]
    assert (max_model_len.convert, convert(max_model_len, "auto"), convert(max_model_len, "-1")) == (
        "human_readable_int_or_auto",
        -1,
        -1,
    )
    with pytest.raises(ValueError, match="invalid literal"):
        convert(catalog.flags["max_num_batched_tokens"], "auto")
    hf_overrides = catalog.flags["hf_overrides"]
    assert hf_overrides.convert == "union_dict_and_str"
    assert convert(hf_overrides, "plain") == "plain"
    assert convert(hf_overrides, '{"a": 1}') == {"a": 1}


def test_the_benchmark_runs_its_config_of_every_class() -> None:
    # bench/bench_vllm_flags.py validates that config before timing it: a refusal would stop it here.
    bench = ROOT / "bench/bench_vllm_flags.py"
    result = subprocess.run(
        [sys.executable, str(bench), "--runs", "1", "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert {"checked_ms", "busy_ms", "added_ms", "imports_ms"} <= set(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("written", "rendered"), [("auto", "auto"), ("32k", "32k"), ("32K", "32K"), (-1, "-1")]
)
def test_max_model_len_takes_what_vllm_reads_for_it(written: object, rendered: str) -> None:
    # --max-model-len is read with human_readable_int_or_auto: auto (or -1) fits it to the model.
    data = copy.deepcopy(QWEN3_4B)
    data["model"]["vllm"]["max_model_len"] = written
    env = container_environment(parse_config(data).model)  # type: ignore[union-attr]
    assert env["SM_VLLM_MAX_MODEL_LEN"] == rendered


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (
            "lots",
            "must be a number of tokens such as 32768, 32k (32000) or 32K (32768), or auto (got 'lots')",
        ),
        (
            "1.5K",
            "must be a number of tokens such as 32768, 32k (32000) or 32K (32768), or auto (got '1.5K')",
        ),
        ("0.1k", "must be at least 256 tokens, or auto (got '0.1k')"),
    ],
)
def test_max_model_len_refuses_what_vllm_cannot_read(written: str, problem: str) -> None:
    data = copy.deepcopy(QWEN3_4B)
    data["model"]["vllm"]["max_model_len"] = written
    assert _error(data) == f"model.vllm.max_model_len: {problem}"


def test_a_parser_name_of_another_release_says_which_release_has_it() -> None:
    data = _config({}, "0.23.0", tool_call_parser="kimi_k3", reasoning_parser="glm47")
    assert _error(data) == (
        "model.vllm.tool_call_parser: vLLM 0.23.0 registers no tool-call parser 'kimi_k3': it needs "
        "image.vllm_version 0.27.1 or later; set it, or remove the key; model.vllm.reasoning_parser: vLLM "
        "0.23.0 registers no reasoning parser 'glm47': it needs image.vllm_version 0.24.0 or later; set it, "
        "or remove the key"
    )
