"""The pre-flight tests never reach the Hugging Face Hub: the model-config check reads a stand-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sagemaker_openai.preflight import model_config

# The fields of Qwen/Qwen3-4B's config.json that the model-config check reads, as the Hub publishes them
# (written down here, not fetched: unverified from this machine, which does not reach the Hub).
QWEN3_4B_CONFIG: Mapping[str, Any] = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "max_position_embeddings": 40960,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "rope_scaling": None,
}


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> dict[str, Mapping[str, Any]]:
    """Hub repositories by ID; a test may add its own. Any other ID is unreachable."""
    repos: dict[str, Mapping[str, Any]] = {"Qwen/Qwen3-4B": QWEN3_4B_CONFIG}

    def read(repo_id: str) -> Mapping[str, Any]:
        if repo_id not in repos:
            raise ConnectionError(f"{repo_id}: the tests do not reach the Hub")
        return repos[repo_id]

    monkeypatch.setattr(model_config, "read_hub_config", read)
    return repos
