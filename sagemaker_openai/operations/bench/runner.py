"""A bench run: each load level in turn against one model, reported as it finishes, then priced."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from sagemaker_openai.operations.bench.cost import usd_per_million_output_tokens
from sagemaker_openai.operations.bench.loadgen import Clock, Send, run_level
from sagemaker_openai.operations.bench.measure import LevelResult
from sagemaker_openai.operations.bench.prompts import RequestSpec
from sagemaker_openai.operations.bench.settings import LoadLevel, Slo, Stop


@dataclass(frozen=True)
class Plan:
    """What to run: the levels in order, when each stops, its warm-up (None: one request per stream, or
    one second of arrivals), the SLO, and the deployment's price per hour (all its instances) if known."""

    levels: list[LoadLevel]
    stop: Stop
    slo: Slo
    warmup: int | None = None
    usd_per_hour: Decimal | None = None
    seed: int = 0

    def warmup_for(self, level: LoadLevel) -> int:
        if self.warmup is not None:
            return self.warmup
        return level.concurrency if level.concurrency is not None else max(1, round(level.rate or 1))


async def run_plan(
    plan: Plan,
    send: Send,
    specs: Iterable[RequestSpec],
    *,
    on_level: Callable[[LevelResult], None] = lambda _: None,
    clock: Clock = time.perf_counter,
    cpu_clock: Clock = time.thread_time,
) -> list[LevelResult]:
    """Every level, one after another on the running loop; `on_level` hears of each as it ends."""
    requests = iter(specs)
    results = []
    for index, level in enumerate(plan.levels):
        run = await run_level(
            send,
            requests,
            level,
            plan.stop,
            warmup=plan.warmup_for(level),
            seed=plan.seed + index,
            clock=clock,
            cpu_clock=cpu_clock,
        )
        result = LevelResult(level, run.records, run.window, run.client, plan.slo)
        if plan.usd_per_hour is not None:
            throughput = result.per_second(result.output_tokens)
            result = replace(
                result,
                usd_per_million_output_tokens=usd_per_million_output_tokens(plan.usd_per_hour, throughput),
            )
        on_level(result)
        results.append(result)
    return results
