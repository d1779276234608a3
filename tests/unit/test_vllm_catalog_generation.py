"""The catalog generator: what it reads from a release's source; the checked-in files are its output."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from sagemaker_openai.catalog import images
from sagemaker_openai.catalog.vllm_catalog import CATALOG_DIR, catalog_path, catalog_versions, load_catalog
from scripts.vllm_catalog import REVIEWED_UNEXTRACTED, dump, max_len_rules, read_sums, start_up_checks
from scripts.vllm_introspect import converter


def test_the_checked_in_catalogs_are_the_files_the_generator_recorded() -> None:
    # make vllm-catalog writes SHA256SUMS beside the catalogs; an edit by hand shows here.
    sums = read_sums()
    assert sorted(sums) == sorted(path.name for path in CATALOG_DIR.glob("vllm-*.json"))
    for name, digest in sums.items():
        assert hashlib.sha256((CATALOG_DIR / name).read_bytes()).hexdigest() == digest, name
    for version in catalog_versions():
        text = catalog_path(version).read_text()
        assert dump(json.loads(text)) == text, f"{version}: not in the generator's layout"


def test_every_unextracted_start_up_check_has_been_reviewed() -> None:
    # A new release that adds a check the generator cannot read as a rule fails here until someone
    # reads it in the release's source and adds it, with why, to REVIEWED_UNEXTRACTED.
    for version in images.known_vllm_versions():
        catalog = load_catalog(version)
        assert catalog is not None
        unreviewed = [e["check"] for e in catalog.unextracted if e["check"] not in REVIEWED_UNEXTRACTED]
        assert unreviewed == [], f"vLLM {version}: review these start-up checks: {unreviewed}"


def test_each_catalog_records_converters_config_classes_registries_and_rules() -> None:
    for version in images.known_vllm_versions():
        catalog = load_catalog(version)
        assert catalog is not None
        flags = catalog.flags
        assert (flags["max_model_len"].convert, flags["max_num_batched_tokens"].convert) == (
            "human_readable_int_or_auto",
            "human_readable_int",
        ), version
        tensor_parallel = flags["tensor_parallel_size"]
        assert (tensor_parallel.convert, tensor_parallel.bounds) == ("int", {"ge": 1})
        assert flags["gpu_memory_utilization"].convert == "float"
        assert flags["limit_mm_per_prompt"].convert == "json.loads"
        # compilation_config is parsed into the class; speculative_config with json.loads, the class later
        assert (flags["compilation_config"].convert, flags["compilation_config"].config) == (
            "config",
            "CompilationConfig",
        )
        assert (flags["speculative_config"].convert, flags["speculative_config"].config) == (
            "json.loads",
            "SpeculativeConfig",
        )
        assert {"mode", "pass_config", "cudagraph_mode"} <= set(catalog.config_classes["CompilationConfig"])
        assert catalog.config_classes["CompilationConfig"]["pass_config"] == "PassConfig"
        assert {"kv_connector", "kv_role"} <= set(catalog.config_classes["KVTransferConfig"])
        assert {"awq", "gptq", "fp8"} <= set(catalog.registries["quantization"])
        conflicts = [list(pair) for pair in catalog.conflicts]
        assert ["data_parallel_hybrid_lb", "data_parallel_external_lb"] in conflicts
        assert catalog.refuse_when, version


def test_the_generator_reads_each_form_of_start_up_check() -> None:
    serve = (
        "def validate_parsed_serve_args(args):\n"
        "    validate_chat_template(args.chat_template)\n"
        "    if args.enable_auto_tool_choice and not args.tool_call_parser:\n"
        "        raise TypeError('Error: --enable-auto-tool-choice requires --tool-call-parser')\n"
        "    if getattr(args, 'sse_keep_alive_interval', 0) < 0:\n"
        "        raise ValueError('Error: must be non-negative')\n"
        "    if getattr(args, 'a', False) and getattr(args, 'b', False):\n"
        "        raise ValueError('y')\n"
        "    if args.c and args.d:\n"
        "        print('not refused')\n"
        "    logger.info('%s', args.e)\n"
    )
    engine = (
        "class EngineArgs:\n"
        "    def create_engine_config(self, headless):\n"
        "        assert not (self.x and self.y)\n"
        "        assert self.enable_prefix_caching is not None, 'set by now'\n"
        "        if self.nnodes > 1 and self.data_parallel_backend != 'mp':\n"
        "            raise ValueError(f'`--nnodes {self.nnodes}` requires mp')\n"
        "        if self.kda == 'fused' and not current_platform.is_rocm():\n"
        "            raise ValueError('ROCm only')\n"
        "        if self.kda == 'flashkda' and not current_platform.is_cuda():\n"
        "            raise ValueError('CUDA only')\n"
        "        self.rank = 0\n"
        "        if self.rank is None:\n"
        "            raise ValueError('derived')\n"
        "        if self.outer:\n"
        "            if self.inner > 2:\n"
        "                raise ValueError('nested')\n"
        "        else:\n"
        "            if self.other:\n"
        "                raise ValueError('else branch')\n"
        "        if world_size % self.nnodes:\n"
        "            raise ValueError('w')\n"
    )
    assert start_up_checks([serve, engine]) == {
        "requires": [["enable_auto_tool_choice", "tool_call_parser"]],
        "conflicts": [["a", "b"], ["x", "y"]],
        "refuse_when": [
            {"when": [["sse_keep_alive_interval", "<", 0]], "message": "must be non-negative"},
            {
                "when": [["nnodes", ">", 1], ["data_parallel_backend", "!=", "mp"]],
                "message": "`--nnodes ...` requires mp",
            },
            {"when": [["kda", "==", "fused"]], "message": "ROCm only"},
            {"when": [["outer", "truthy", None], ["inner", ">", 2]], "message": "nested"},
        ],
        "unextracted": [
            {"where": "validate_parsed_serve_args", "check": "validate_chat_template(args.chat_template)"},
            {"where": "create_engine_config", "check": "self.enable_prefix_caching is not None"},
            {"where": "create_engine_config", "check": "self.rank is None"},
            {"where": "create_engine_config", "check": "self.other"},
            {"where": "create_engine_config", "check": "world_size % self.nnodes"},
        ],
    }


@dataclass
class _Config:
    mode: int = 0


def _vllm_named(function: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    function.__name__ = name
    function.__module__ = "vllm.utils.argparse_utils"
    return function


def test_the_introspector_names_the_converter_vllm_wraps() -> None:
    # vLLM's optional_type and parse_type keep the wrapped callable as `return_type` in their closure.
    def optional_type(return_type: Callable[[str], Any]) -> Callable[[str], Any]:
        def _optional_type(val: str) -> Any:
            return None if val in ("", "None") else return_type(val)

        return _optional_type

    def parse_dataclass(val: str, cls: type = _Config) -> Any:
        return cls(**json.loads(val))

    def human_readable_int(text: str) -> int:
        return int(text)

    human = _vllm_named(human_readable_int, "human_readable_int")
    assert converter(int) == ("int", False, None)
    assert converter(optional_type(float)) == ("float", True, None)
    assert converter(optional_type(json.loads)) == ("json.loads", True, None)
    assert converter(parse_dataclass) == ("config", False, _Config)
    assert converter(human) == ("human_readable_int", False, None)
    assert converter(None) == ("str", False, None)
    assert converter(lambda s: s.lower()) == ("custom", False, None)


@pytest.mark.parametrize("check", sorted(REVIEWED_UNEXTRACTED))
def test_each_reviewed_check_says_why(check: str) -> None:
    assert len(REVIEWED_UNEXTRACTED[check]) > 20


def test_the_generator_reads_how_the_release_derives_a_models_length() -> None:
    keys = "class C:\n    def f(self):\n        possible_keys = ['max_position_embeddings', 'n_positions']\n"
    model = (
        "def _get_and_verify_max_len(hf_config):\n"
        "    for rp in rope_parameters.values():\n"
        "        if rope_type not in ('su', 'yarn'):\n"
        "            scaling_factor = rp['factor']\n"
    )
    assert max_len_rules("9.9.9", model, keys) == {
        "length_keys": ["max_position_embeddings", "n_positions"],
        "prescaled_rope_types": ["su", "yarn"],
    }
    with pytest.raises(SystemExit, match=r"vllm 9\.9\.9: the max_model_len derivation moved"):
        max_len_rules("9.9.9", "def other(): pass\n", keys)
    newest, before = load_catalog("0.30.0"), load_catalog("0.29.0")
    assert newest is not None
    assert before is not None
    assert "yarn" in newest.max_len["prescaled_rope_types"]
    assert "yarn" not in before.max_len["prescaled_rope_types"]
