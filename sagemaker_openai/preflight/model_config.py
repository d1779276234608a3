"""The model's config.json against its vLLM flags: max_model_len and tensor_parallel_size.

vLLM refuses at start-up (after the weights are downloaded, so after minutes) a ``max_model_len``
above the length it derives from the model's config.json, and a ``tensor_parallel_size`` that does
not divide the model's attention heads. Offline synth cannot see config.json; this check reads it
from the model's S3 prefix (``s3:GetObject``) or from the Hugging Face Hub when this machine reaches
it, and derives both numbers as the image's vLLM release does (``vllm/config/model.py``
``_get_and_verify_max_len``, ``ModelConfig.verify_with_parallel_config``). What differs between
releases (the length keys, the RoPE types whose factor is already applied: YaRN from 0.30.0) is read
from the release's flag catalog.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sagemaker_openai.catalog.vllm_catalog import catalog_versions, load_catalog
from sagemaker_openai.config import ModelSpec
from sagemaker_openai.preflight.report import Context, Finding, Skipped, needs, ok, problem, skipped

# vLLM's escape hatch: with it set, a longer max_model_len is only a warning.
_ALLOW_LONG = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"

HubReader = Callable[[str], Mapping[str, Any]]


def hub_config(repo_id: str, client: httpx.Client | None = None) -> Mapping[str, Any]:
    """config.json of a public Hugging Face Hub repository: one GET, no retries (a pre-flight takes seconds).

    The URL is huggingface_hub's (it honours HF_ENDPOINT); a gated repository answers 401 and is skipped.
    """
    from huggingface_hub import hf_hub_url  # noqa: PLC0415 - only this check needs the Hub

    with client or httpx.Client(timeout=5.0) as http:
        response = http.get(hf_hub_url(repo_id, "config.json"), follow_redirects=True)
    response.raise_for_status()
    data: Mapping[str, Any] = response.json()
    return data


# Replaced in tests: the check never reaches the network there.
read_hub_config: HubReader = hub_config


def text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The language model's part of config.json (``text_config`` of a multimodal model)."""
    nested = config.get("text_config")
    return nested if isinstance(nested, Mapping) else config


@dataclass(frozen=True)
class LengthRules:
    """The keys a release reads a model's length from (smallest wins); the RoPE types it leaves unscaled."""

    length_keys: tuple[str, ...]
    prescaled_rope_types: frozenset[str]


def length_rules(version: str | None) -> LengthRules:
    """The release's rules, from its catalog; the newest catalogued release's for a custom image."""
    catalog = load_catalog(version) if version else None
    if catalog is None:
        catalog = load_catalog(catalog_versions()[-1])
    assert catalog is not None
    return LengthRules(catalog.max_len["length_keys"], frozenset(catalog.max_len["prescaled_rope_types"]))


def derived_max_len(config: Mapping[str, Any], rules: LengthRules) -> tuple[float, str | None]:
    """The longest context vLLM derives from config.json, and the key it came from (inf, None: none).

    The smallest of the length keys (``model_max_length`` wins when set), times the RoPE scaling
    factor unless the RoPE type already scales ``max_position_embeddings`` (Llama 3, LongRoPE; YaRN
    from vLLM 0.30.0) or the model is Gemma 3.
    """
    text = text_config(config)
    derived, key = math.inf, None
    for name in rules.length_keys:
        value = text.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < derived:
                key = name
            derived = min(derived, value)
    model_max_length = text.get("model_max_length")
    if isinstance(model_max_length, int | float) and model_max_length:
        derived, key = model_max_length, "model_max_length"
    if derived == math.inf:
        return derived, None
    model_type = str(text.get("model_type") or config.get("model_type") or "")
    layers = _rope_layers(text)
    if layers and "gemma3" not in model_type:
        factor: Any = 1.0
        for layer in layers:
            rope_type = layer.get("rope_type", layer.get("type", "default"))
            if rope_type not in rules.prescaled_rope_types:
                factor = layer.get("factor", factor)
        derived *= float(factor) if isinstance(factor, int | float) else 1.0
    return derived, key


def _rope_layers(text: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The RoPE parameters per layer type: ``rope_parameters`` (transformers 5) or ``rope_scaling``."""
    rope = text.get("rope_parameters") or text.get("rope_scaling")
    if not isinstance(rope, Mapping):
        return []
    values = list(rope.values())
    if values and all(isinstance(v, Mapping) or v is None for v in values):  # nested by layer type
        return [v for v in values if isinstance(v, Mapping)]
    return [rope]


def attention_heads(config: Mapping[str, Any]) -> int:
    """``num_attention_heads`` of the language model, 0 when config.json does not say."""
    heads = text_config(config).get("num_attention_heads", 0)
    return heads if isinstance(heads, int) and not isinstance(heads, bool) else 0


def model_problems(where: str, model: ModelSpec, config: Mapping[str, Any], rules: LengthRules) -> list[str]:
    """What vLLM would refuse about this model's flags given its config.json, one line each."""
    problems = []
    wanted = model.vllm.max_model_len_tokens()  # None: auto or unset, vLLM fits it to the model
    allowed = model.environment.get(_ALLOW_LONG, "").strip().lower() in ("1", "true")
    derived, key = derived_max_len(config, rules)
    if wanted is not None and not allowed and wanted > derived:
        # vLLM lets a larger config.json model_max_length stand in (Command-R and the like).
        model_max_length = text_config(config).get("model_max_length")
        if not isinstance(model_max_length, int | float) or wanted > model_max_length:
            problems.append(
                f"{where}.vllm.max_model_len: {wanted} is more than the model supports ({key}="
                f"{derived:g} in its config.json, as vLLM derives it); set max_model_len to {int(derived)} "
                "or less"
            )
    heads = attention_heads(config)
    size = model.vllm.tensor_parallel_size
    if heads and heads % size:
        divisors = [n for n in range(1, 9) if heads % n == 0]
        problems.append(
            f"{where}.vllm.tensor_parallel_size: {size} does not divide the model's {heads} attention "
            f"heads (num_attention_heads in its config.json); use one of {', '.join(map(str, divisors))}"
        )
    return problems


def _read_config(ctx: Context, model: ModelSpec) -> Mapping[str, Any]:
    location = model.s3_location()
    if location is not None:
        bucket, prefix = location
        with needs("s3:GetObject"):
            body = ctx.client("s3").get_object(Bucket=bucket, Key=f"{prefix}config.json")["Body"].read()
        data: Mapping[str, Any] = json.loads(body)
        return data
    assert model.hf_model_id is not None  # a model has one of the two sources
    return read_hub_config(model.hf_model_id)


def check_model_config(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    rules = length_rules(ctx.config.image.flag_catalog_version())
    for where, model in ctx.config.model_specs():
        name = f"model config {where}"
        source = model.s3_uri or f"the Hugging Face Hub ({model.hf_model_id})"
        try:
            config = _read_config(ctx, model)
        except Skipped as denied:
            findings.append(skipped(name, f"skipped: needs {denied.action}"))
            continue
        except ValueError as exc:  # JSONDecodeError
            findings.append(
                problem(name, f"config.json in {source} is not JSON ({exc}); stage the model again")
            )
            continue
        except Exception as exc:  # the Hub unreachable, the repository gated or missing
            if model.hf_model_id is None:
                raise
            why = type(exc).__name__
            if isinstance(exc, httpx.HTTPStatusError):
                status = exc.response.status_code
                why = f"HTTP {status} (gated or private: stage its weights to S3 with stage-weights)"
            findings.append(skipped(name, f"skipped: could not read config.json from {source}: {why}"))
            continue
        problems = model_problems(where, model, config, rules)
        findings += [problem(name, line) for line in problems]
        if not problems:
            derived, _ = derived_max_len(config, rules)
            length = "no length in config.json" if derived == math.inf else f"supports {derived:g} tokens"
            findings.append(
                ok(name, f"{length}, {attention_heads(config)} attention heads (config.json from {source})")
            )
    return findings
