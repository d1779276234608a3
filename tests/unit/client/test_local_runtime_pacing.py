"""local-runtime for benchmarks: a first-token delay, a queue past --max-num-seqs, and ignore_eos."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import pytest

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli.main import run
from sagemaker_openai.servers.local_runtime.completions import StreamPacer, reply_to, stream_chunks


def _chunks(words: str, *, usage: bool = True) -> list[dict[str, Any]]:
    reply = reply_to(
        {"messages": [{"role": "user", "content": words}], "max_tokens": 3, "ignore_eos": True}, target="t"
    )
    return list(stream_chunks(reply, completion_id="c", created=0, model="m", include_usage=usage))


def test_ignore_eos_answers_exactly_max_tokens_words() -> None:
    reply = reply_to(
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 40, "ignore_eos": True}, target="t"
    )
    assert reply.completion_tokens == 40
    assert len((reply.content or "").split(" ")) == 40
    assert reply.finish_reason == "length"
    short = reply_to({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 40}, target="t")
    assert (short.completion_tokens, short.finish_reason) == (3, "stop")


def test_the_first_token_comes_after_its_delay_then_one_per_token_delay() -> None:
    pacer = StreamPacer(token_delay=0.02, first_token_delay=0.5)
    delays = [delay for delay, _ in pacer.delays(_chunks("a b c"))]
    # role, three tokens, finish, usage
    assert delays == [0.5, 0.0, 0.02, 0.02, 0.0, 0.0]
    legacy = StreamPacer(token_delay=0.02)
    assert [delay for delay, _ in legacy.delays(_chunks("a b c"))] == [0.02] * 6


def test_answers_beyond_max_num_seqs_wait_their_turn() -> None:
    pacer = StreamPacer(token_delay=0.01, first_token_delay=0.03, max_num_seqs=1)

    async def first_token_after(started: float) -> float:
        """Reads the whole answer, as a client does, and says when its first token came."""
        first = None
        async for event in pacer.events(_chunks("a b c", usage=False)):
            if first is None and b'"content": "local-runtime' in event:
                first = time.perf_counter() - started
        assert first is not None
        return first

    async def main() -> list[float]:
        started = time.perf_counter()
        return list(await asyncio.gather(*(first_token_after(started) for _ in range(3))))

    ttfts = sorted(asyncio.run(main()))
    answer = 0.03 + 2 * 0.01
    assert ttfts[0] == pytest.approx(0.03, abs=0.02)
    assert ttfts[1] >= 0.03 + answer
    assert ttfts[2] >= 0.03 + 2 * answer


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-num-seqs", "0"], "Error: --max-num-seqs must be at least 1"),
        (["--first-token-delay", "-1"], "Error: --first-token-delay must be between 0 and 60 seconds"),
    ],
)
def test_bad_pacing_flags_get_one_line(flags: list[str], message: str) -> None:
    err = io.StringIO()
    code = run(
        ["local-runtime", "--endpoint", "e", "--no-auth", "--port", "0", *flags], CliContext(stderr=err)
    )
    assert code == 1
    assert err.getvalue().startswith(message)
    assert err.getvalue().count("\n") == 1
