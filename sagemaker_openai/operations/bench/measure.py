"""Figures from streamed answers: one record per request, and the statistics of a level.

Definitions (all measured on the client, from the stream itself):
- TTFT: from sending the request to the first chunk that carries a token (content, reasoning or a tool
  call); chunks that only open the answer do not count.
- ITL: the gaps between consecutive token-carrying chunks, pooled over the level's requests.
- TPOT: per request, (end-to-end - TTFT) / (output tokens - 1), with the output tokens from `usage`.
- Throughput: completed requests, output tokens and all tokens per second of the level's measured window
  (from its first request sent to its last answer finished).
Failed requests are counted by status and left out of every latency and throughput figure.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sagemaker_openai.operations.bench.settings import LoadLevel, Slo

PERCENTILES = (50, 90, 99)


@dataclass
class RequestRecord:
    """One request: when it was sent, when each token-carrying chunk came, and how it ended."""

    sent: float
    finished: float = 0.0
    token_times: list[float] = field(default_factory=list)
    # None for a success; else "429", "400 no capacity", "503", "timeout", "connection", "stream error", ...
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # The max_tokens the request asked for (None: the server's default).
    asked_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.token_times)

    @property
    def usage_reported(self) -> bool:
        return self.completion_tokens is not None

    @property
    def ttft(self) -> float:
        return self.token_times[0] - self.sent

    @property
    def e2e(self) -> float:
        return self.finished - self.sent

    @property
    def itls(self) -> list[float]:
        times = self.token_times
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    @property
    def output_tokens(self) -> int:
        """From `usage` when the answer reported it, else the token-carrying chunks counted."""
        return self.completion_tokens if self.completion_tokens is not None else len(self.token_times)

    @property
    def mean_itl(self) -> float | None:
        gaps = self.itls
        return sum(gaps) / len(gaps) if gaps else None

    @property
    def tpot(self) -> float | None:
        tokens = self.output_tokens
        return (self.e2e - self.ttft) / (tokens - 1) if tokens > 1 else None

    def meets(self, slo: Slo) -> bool:
        if not self.ok:
            return False
        checks = ((slo.ttft, self.ttft), (slo.itl, self.mean_itl), (slo.tpot, self.tpot), (slo.e2e, self.e2e))
        return all(limit is None or value is None or value <= limit for limit, value in checks)


@dataclass(frozen=True)
class Stats:
    """Mean and percentiles of a list of seconds; all None when there were none."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            return cls(0, None, None, None, None)
        ordered = sorted(values)
        p50, p90, p99 = (percentile(ordered, p) for p in PERCENTILES)
        return cls(len(values), sum(values) / len(values), p50, p90, p99)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p90": self.p90, "p99": self.p99}


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted values, linearly interpolated between the closest ranks."""
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class ClientLoad:
    """What the bench's own event loop spent during a level: CPU seconds, and how late its timers woke."""

    wall_seconds: float
    cpu_seconds: float
    timer_lag_mean: float

    @property
    def cpu_fraction(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


# The loop runs on one core: past these, chunks wait for the client and the figures measure it.
SATURATED_CPU_FRACTION = 0.85
SATURATED_TIMER_LAG = 0.010


@dataclass(frozen=True)
class LevelResult:
    level: LoadLevel
    records: list[RequestRecord] = field(repr=False)
    window: float
    client: ClientLoad
    slo: Slo
    # Set by the cost step: dollars per million output tokens at this level.
    usd_per_million_output_tokens: float | None = None

    @property
    def completed(self) -> list[RequestRecord]:
        return [record for record in self.records if record.ok]

    @property
    def errors(self) -> dict[str, int]:
        counts = Counter(record.error or "empty answer" for record in self.records if not record.ok)
        return dict(sorted(counts.items()))

    @property
    def ttft(self) -> Stats:
        return Stats.of([record.ttft for record in self.completed])

    @property
    def itl(self) -> Stats:
        return Stats.of([gap for record in self.completed for gap in record.itls])

    @property
    def tpot(self) -> Stats:
        return Stats.of([value for record in self.completed if (value := record.tpot) is not None])

    @property
    def e2e(self) -> Stats:
        return Stats.of([record.e2e for record in self.completed])

    @property
    def output_tokens(self) -> int:
        return sum(record.output_tokens for record in self.completed)

    @property
    def total_tokens(self) -> int:
        return self.output_tokens + sum(record.prompt_tokens or 0 for record in self.completed)

    def per_second(self, amount: float) -> float:
        return amount / self.window if self.window > 0 else 0.0

    @property
    def good(self) -> int:
        return sum(record.meets(self.slo) for record in self.records)

    @property
    def slo_attainment(self) -> float:
        return self.good / len(self.records) if self.records else 0.0

    @property
    def usage_source(self) -> str:
        """ "usage" when every completed answer reported its tokens, "chunks" when none did, else "mixed"."""
        reported = {record.usage_reported for record in self.completed}
        return {frozenset({True}): "usage", frozenset({False}): "chunks"}.get(frozenset(reported), "mixed")

    @property
    def short_answers(self) -> int:
        """Completed answers with fewer output tokens than their max_tokens."""
        return sum(
            record.asked_tokens is not None and record.output_tokens < record.asked_tokens
            for record in self.completed
        )

    @property
    def client_saturated(self) -> bool:
        return (
            self.client.cpu_fraction >= SATURATED_CPU_FRACTION
            or self.client.timer_lag_mean >= SATURATED_TIMER_LAG
        )

    @property
    def client_cpu_per_request(self) -> float | None:
        return self.client.cpu_seconds / len(self.records) if self.records else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": {"concurrency": self.level.concurrency, "rate": self.level.rate},
            "requests": len(self.records),
            "completed": len(self.completed),
            "errors": self.errors,
            "window_seconds": self.window,
            "ttft_seconds": self.ttft.as_dict(),
            "itl_seconds": self.itl.as_dict(),
            "tpot_seconds": self.tpot.as_dict(),
            "e2e_seconds": self.e2e.as_dict(),
            "request_throughput": self.per_second(len(self.completed)),
            "output_token_throughput": self.per_second(self.output_tokens),
            "total_token_throughput": self.per_second(self.total_tokens),
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "token_counts_from": self.usage_source,
            "answers_shorter_than_max_tokens": self.short_answers,
            "goodput": self.per_second(self.good),
            "slo_attainment": self.slo_attainment,
            "usd_per_million_output_tokens": self.usd_per_million_output_tokens,
            "client": {
                "cpu_seconds": self.client.cpu_seconds,
                "cpu_fraction_of_one_core": self.client.cpu_fraction,
                "cpu_seconds_per_request": self.client_cpu_per_request,
                "timer_lag_mean_seconds": self.client.timer_lag_mean,
                "saturated": self.client_saturated,
            },
        }
