"""The requests a bench sends: synthetic prompts of a given length, or chat requests read from a JSONL file.

Synthetic prompts are built from common English words that the usual tokenizers (Llama, Qwen, Mistral,
GPT) each encode as one token when preceded by a space, so N words are about N tokens; the chat template
adds a few more. The answer's `usage` gives the true counts, and the report uses those.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_openai.operations.bench.settings import BenchSettingsError, Spread

_WORD_TEXT = (
    "time year people way day man thing woman life child world school state family student group country "
    "problem hand part place case week company system program question work government number night point "
    "home water room mother area money story fact month lot right study book eye job word business issue "
    "side kind head house service friend father power hour game line end member law car city name team "
    "minute idea kid body back parent face others level office door health person art war history party "
    "result change morning reason research girl guy moment air teacher force education"
)
_WORDS = _WORD_TEXT.split()
# Fields a JSONL line may not set: the bench streams every request and names the model itself.
_OWN_FIELDS = frozenset({"stream", "stream_options", "model", "n"})


@dataclass(frozen=True)
class RequestSpec:
    """One chat request: its messages, the output length asked for, and any other body fields."""

    messages: list[dict[str, Any]]
    max_tokens: int | None
    extra_body: dict[str, Any] = field(default_factory=dict)


class SyntheticPrompts:
    """Prompts of `input_tokens` words each, after `shared_prefix_tokens` words every prompt shares.

    The shared prefix is the same for every request, so a server's prefix cache (and SageMaker's
    prefix-aware routing) can reuse it; the rest differs from request to request, so nothing else can.
    """

    def __init__(
        self, *, input_tokens: Spread, output_tokens: Spread, shared_prefix_tokens: int = 0, seed: int = 0
    ) -> None:
        self._input = input_tokens
        self._output = output_tokens
        self._rng = random.Random(seed)  # noqa: S311 - reproducible workloads, not secrets
        self.shared_prefix = _words(random.Random(seed + 1), shared_prefix_tokens)  # noqa: S311

    def __iter__(self) -> Iterator[RequestSpec]:
        for number in itertools.count():
            own = _words(self._rng, self._input.sample(self._rng))
            # A request number up front makes each prompt differ right after the prefix.
            own[0] = f"{number}"
            content = " ".join([*self.shared_prefix, *own])
            yield RequestSpec([{"role": "user", "content": content}], self._output.sample(self._rng))


class JsonlRequests:
    """Chat requests, one JSON object per line ({"messages": [...], ...}), sent in order and repeated."""

    def __init__(self, path: Path, *, max_tokens: Spread | None = None, seed: int = 0) -> None:
        self._specs = _read_jsonl(path)
        self._max_tokens = max_tokens
        self._rng = random.Random(seed)  # noqa: S311 - reproducible workloads, not secrets

    def __iter__(self) -> Iterator[RequestSpec]:
        for spec in itertools.cycle(self._specs):
            if self._max_tokens is None:
                yield spec
            else:
                yield RequestSpec(spec.messages, self._max_tokens.sample(self._rng), spec.extra_body)


def _words(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(_WORDS) for _ in range(count)]


def _read_jsonl(path: Path) -> list[RequestSpec]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BenchSettingsError(
            f"--prompts-file {path}: cannot read it ({exc.strerror}); fix the path"
        ) from None
    specs = [
        _spec(line, f"--prompts-file {path} line {number}")
        for number, line in enumerate(lines, 1)
        if line.strip()
    ]
    if not specs:
        raise BenchSettingsError(f"--prompts-file {path} holds no requests; put one JSON object per line")
    return specs


def _spec(line: str, where: str) -> RequestSpec:
    try:
        body = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BenchSettingsError(
            f"{where} is not JSON ({exc.msg}); put one chat request object per line"
        ) from None
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BenchSettingsError(
            f'{where} has no "messages" list of message objects; e.g. {{"messages": [...]}}'
        )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise BenchSettingsError(f"{where}: max_tokens must be a whole number of at least 1")
    extra = {
        key: value
        for key, value in body.items()
        if key not in _OWN_FIELDS and key not in ("messages", "max_tokens", "max_completion_tokens")
    }
    return RequestSpec(messages, max_tokens, extra)
