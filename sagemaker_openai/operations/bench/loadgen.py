"""Load generation on one asyncio loop: a closed loop of N streams, or Poisson arrivals at a rate.

Each level runs on its own: its warm-up requests finish before its measured ones start, and every
measured request has finished before the level returns, so nothing carries over to the next level.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from sagemaker_openai.operations.bench.measure import ClientLoad, RequestRecord
from sagemaker_openai.operations.bench.prompts import RequestSpec
from sagemaker_openai.operations.bench.settings import LoadLevel, Stop

Send = Callable[[RequestSpec], Coroutine[Any, Any, RequestRecord]]
Clock = Callable[[], float]
_PROBE_INTERVAL = 0.005


@dataclass(frozen=True)
class LevelRun:
    records: list[RequestRecord]
    window: float
    client: ClientLoad


async def run_level(
    send: Send,
    specs: Iterator[RequestSpec],
    level: LoadLevel,
    stop: Stop,
    *,
    warmup: int,
    seed: int = 0,
    clock: Clock = time.perf_counter,
    cpu_clock: Clock = time.thread_time,
) -> LevelRun:
    """Warm up with `warmup` uncounted requests, then send the level's measured requests.

    `cpu_clock` reads the CPU time of the thread running the loop (the client's one busy thread).
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible arrivals, not secrets
    if warmup:
        await _send_load(send, specs, level, Stop(requests=warmup), rng=rng, clock=clock)
    probe = _TimerProbe()
    probing = asyncio.create_task(probe.run())
    cpu_before, started = cpu_clock(), clock()
    try:
        records = await _send_load(send, specs, level, stop, rng=rng, clock=clock)
    finally:
        probing.cancel()
    window, cpu = clock() - started, cpu_clock() - cpu_before
    return LevelRun(
        records, window, ClientLoad(wall_seconds=window, cpu_seconds=cpu, timer_lag_mean=probe.mean)
    )


async def _send_load(
    send: Send,
    specs: Iterator[RequestSpec],
    level: LoadLevel,
    stop: Stop,
    *,
    rng: random.Random,
    clock: Clock,
) -> list[RequestRecord]:
    deadline = clock() + stop.duration if stop.duration is not None else None
    if level.concurrency is not None:
        return await _closed_loop(
            send, specs, level.concurrency, requests=stop.requests, deadline=deadline, clock=clock
        )
    assert level.rate is not None
    return await _poisson_arrivals(
        send, specs, level.rate, requests=stop.requests, deadline=deadline, rng=rng, clock=clock
    )


async def _closed_loop(
    send: Send,
    specs: Iterator[RequestSpec],
    concurrency: int,
    *,
    requests: int | None,
    deadline: float | None,
    clock: Clock,
) -> list[RequestRecord]:
    """`concurrency` streams, each sending its next request as soon as its answer ends."""
    records: list[RequestRecord] = []
    started = 0

    async def stream() -> None:
        nonlocal started
        while (requests is None or started < requests) and (deadline is None or clock() < deadline):
            started += 1
            records.append(await send(next(specs)))

    await asyncio.gather(*(stream() for _ in range(concurrency)))
    return records


async def _poisson_arrivals(
    send: Send,
    specs: Iterator[RequestSpec],
    rate: float,
    *,
    requests: int | None,
    deadline: float | None,
    rng: random.Random,
    clock: Clock,
) -> list[RequestRecord]:
    """Requests at exponentially distributed gaps (mean 1/rate), whatever the answers' pace (open loop)."""
    sending: list[asyncio.Task[RequestRecord]] = []
    due = clock()
    while requests is None or len(sending) < requests:
        if deadline is not None and due >= deadline:
            break
        wait = due - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        sending.append(asyncio.create_task(send(next(specs))))
        due += rng.expovariate(rate)
    return list(await asyncio.gather(*sending))


class _TimerProbe:
    """How late the loop wakes a timer: near 0 when idle, the length of its busy turns when saturated."""

    def __init__(self) -> None:
        self._lags: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(_PROBE_INTERVAL)
            self._lags.append(max(0.0, loop.time() - before - _PROBE_INTERVAL))

    @property
    def mean(self) -> float:
        return sum(self._lags) / len(self._lags) if self._lags else 0.0
