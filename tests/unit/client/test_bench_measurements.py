"""`sagemaker-openai bench` against an in-process local-runtime with known delays: the figures come out right.

Tolerances: ITL p50 within 10 % of the token delay; TTFT p50 from the first-token delay to it plus 80 ms
(the client's own request overhead on a shared, busy 2-core machine); token counts exact.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from sagemaker_openai.client.factories import async_connection_pool, async_openai_client
from sagemaker_openai.operations.bench.measure import LevelResult
from sagemaker_openai.operations.bench.prompts import RequestSpec, SyntheticPrompts
from sagemaker_openai.operations.bench.report import BenchRun, conclusions
from sagemaker_openai.operations.bench.runner import Plan, run_plan
from sagemaker_openai.operations.bench.settings import LoadLevel, Slo, Spread, Stop
from sagemaker_openai.operations.bench.stream import StreamSender
from sagemaker_openai.servers.local_runtime import EndpointLayout, LocalRuntimeServer, RuntimeSettings

TOKEN_DELAY = 0.02
FIRST_TOKEN_DELAY = 0.1
OVERHEAD = 0.08


Runtime = Callable[..., str]


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """Starts no-auth local-runtimes with the given RuntimeSettings fields; yields their base URL."""
    with ExitStack() as stack:

        def start(**settings: Any) -> str:
            server = LocalRuntimeServer(
                RuntimeSettings(layout=EndpointLayout("bench"), verifier=None, **settings)
            )
            stack.enter_context(server.running())
            return server.base_urls()[0]

        yield start


def _bench(
    base_url: str,
    plan: Plan,
    specs: Iterable[RequestSpec],
    *,
    busy_client: bool = False,
    ignore_eos: bool = True,
) -> list[LevelResult]:
    async def main() -> list[LevelResult]:
        client = async_openai_client(base_url, http_client=async_connection_pool(auth=None), max_retries=0)
        async with client:
            burner = asyncio.create_task(_burn()) if busy_client else None
            try:
                return await run_plan(plan, StreamSender(client, "", ignore_eos=ignore_eos), specs)
            finally:
                if burner is not None:
                    burner.cancel()

    return asyncio.run(main())


async def _burn() -> None:
    """Keeps the client's loop busy, as thousands of streams parsed on one core would."""
    while True:
        until = time.perf_counter() + 0.03
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(0)


def _prompts(output_tokens: int) -> SyntheticPrompts:
    return SyntheticPrompts(input_tokens=Spread(6), output_tokens=Spread(output_tokens))


def test_itl_ttft_and_token_counts_match_the_configured_server(runtime: Runtime) -> None:
    url = runtime(token_delay=TOKEN_DELAY, first_token_delay=FIRST_TOKEN_DELAY)
    plan = Plan([LoadLevel(concurrency=1)], Stop(requests=5), Slo(), warmup=1)
    (level,) = _bench(url, plan, _prompts(10))
    assert level.itl.p50 == pytest.approx(TOKEN_DELAY, rel=0.10)
    assert level.ttft.p50 is not None
    assert FIRST_TOKEN_DELAY <= level.ttft.p50 <= FIRST_TOKEN_DELAY + OVERHEAD
    assert len(level.records) == 5
    assert [record.completion_tokens for record in level.records] == [10] * 5
    assert [len(record.token_times) for record in level.records] == [10] * 5
    assert level.usage_source == "usage"
    assert level.output_tokens == 50
    # Six prompt words each (local-runtime counts words as tokens).
    assert level.total_tokens == 50 + 5 * 6
    assert level.itl.count == 5 * 9


def test_queueing_adds_to_ttft_and_each_level_starts_afresh(runtime: Runtime) -> None:
    # One answer at a time: at concurrency 4 each request waits for those ahead of it; the level at
    # concurrency 1 that follows finds the queue empty again.
    url = runtime(token_delay=0.01, first_token_delay=0.05, max_num_seqs=1)
    plan = Plan([LoadLevel(concurrency=4), LoadLevel(concurrency=1)], Stop(requests=4), Slo(), warmup=0)
    crowded, alone = _bench(url, plan, _prompts(5))
    answer_time = 0.05 + 4 * 0.01
    assert [len(crowded.records), len(alone.records)] == [4, 4]
    assert crowded.ttft.p99 is not None
    assert crowded.ttft.p99 >= 0.05 + 3 * answer_time
    assert crowded.ttft.p50 is not None
    assert crowded.ttft.p50 >= 0.05 + answer_time
    assert alone.ttft.p50 is not None
    assert 0.05 <= alone.ttft.p50 <= 0.05 + OVERHEAD
    # Every request of a level was sent after the previous level's last answer ended.
    assert min(r.sent for r in alone.records) >= max(r.finished for r in crowded.records)


def test_errors_are_counted_by_status_and_left_out_of_the_figures(runtime: Runtime) -> None:
    url = runtime(token_delay=0.005, first_token_delay=0.01)
    good = RequestSpec([{"role": "user", "content": "a b c"}], 5)
    refused = RequestSpec([{"role": "user", "content": "a b c"}], 0)  # local-runtime answers 400
    specs = iter([good, refused] * 3)
    plan = Plan([LoadLevel(concurrency=1)], Stop(requests=6), Slo(ttft=1.0), warmup=0)
    (level,) = _bench(url, plan, specs)
    assert level.errors == {"400": 3}
    assert len(level.completed) == 3
    assert level.ttft.count == 3
    assert level.e2e.count == 3
    assert level.itl.count == 3 * 4
    assert level.output_tokens == 15
    assert level.slo_attainment == 0.5
    assert level.ttft.p99 is not None
    assert level.ttft.p99 >= 0.01


def test_without_a_usage_block_tokens_are_counted_as_chunks_with_a_warning(runtime: Runtime) -> None:
    url = runtime(token_delay=0.002, first_token_delay=0.002, stream_usage=False)
    plan = Plan([LoadLevel(concurrency=2)], Stop(requests=4), Slo(), warmup=0)
    (level,) = _bench(url, plan, _prompts(7))
    assert level.usage_source == "chunks"
    assert level.output_tokens == 4 * 7
    run = BenchRun({}, [level], 0.9)
    assert any(
        "no usage block" in line and line.startswith("Warning: concurrency 2") for line in conclusions(run)
    )


def test_a_client_bound_run_is_flagged(runtime: Runtime) -> None:
    url = runtime(token_delay=0.01, first_token_delay=0.01)
    plan = Plan([LoadLevel(concurrency=2)], Stop(requests=4), Slo(), warmup=0)
    (level,) = _bench(url, plan, _prompts(20), busy_client=True)
    assert level.client_saturated
    run = BenchRun({}, [level], 0.9)
    assert any("the client was saturated" in line for line in conclusions(run))


def test_poisson_arrivals_send_the_requests_asked_for(runtime: Runtime) -> None:
    url = runtime(token_delay=0.001, first_token_delay=0.001)
    plan = Plan([LoadLevel(rate=40.0)], Stop(requests=8), Slo(), warmup=0, seed=3)
    (level,) = _bench(url, plan, _prompts(3))
    assert len(level.records) == 8
    sent = sorted(record.sent for record in level.records)
    # Open loop: arrivals do not wait for answers, so they spread over about 8 / 40 s, not 8 answers.
    assert 0.02 < sent[-1] - sent[0] < 1.0


def test_answers_shorter_than_asked_are_warned_of_when_ignore_eos_was_sent(runtime: Runtime) -> None:
    # A server that ignores ignore_eos: local-runtime answers short without it.
    url = runtime(token_delay=0.001, first_token_delay=0.001)
    plan = Plan([LoadLevel(concurrency=1)], Stop(requests=2), Slo(), warmup=0)
    (level,) = _bench(url, plan, _prompts(50), ignore_eos=False)
    assert level.short_answers == 2
    warned = [line for line in conclusions(BenchRun({"ignore_eos": True}, [level], 0.9)) if "shorter" in line]
    assert warned == [
        "Warning: concurrency 1: 2 of 2 answers were shorter than their max_tokens although ignore_eos was "
        "sent: the server may not honour it (vLLM does), so output lengths varied; compare levels by tokens "
        "per second, not by requests."
    ]
    assert not [
        line for line in conclusions(BenchRun({"ignore_eos": False}, [level], 0.9)) if "shorter" in line
    ]
