"""The live progress of a bench run: a line per level as it ends, and on a terminal a line kept up to date."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from sagemaker_openai.operations.bench.loadgen import Send
from sagemaker_openai.operations.bench.measure import LevelResult, RequestRecord
from sagemaker_openai.operations.bench.prompts import RequestSpec
from sagemaker_openai.operations.bench.report import progress_line
from sagemaker_openai.operations.bench.settings import LoadLevel

_CLEAR_LINE = "\r\033[K"


class LiveProgress:
    """Counts the requests `send` sends and answers; `level_ended` prints a level's line.

    On a terminal, a line below is rewritten every `interval` seconds with the level under way, its
    requests sent and answered so far (warm-up included) and the time since it started.
    """

    def __init__(self, out: TextIO, levels: list[LoadLevel], *, interval: float = 1.0) -> None:
        self._out = out
        self._levels = levels
        self._interval = interval
        self._live = out.isatty()
        self._level = 0
        self._started = time.monotonic()
        self.sent = 0
        self.answered = 0

    def counting(self, send: Send) -> Send:
        async def counted(spec: RequestSpec) -> RequestRecord:
            self.sent += 1
            try:
                return await send(spec)
            finally:
                self.answered += 1

        return counted

    def level_ended(self, result: LevelResult) -> None:
        prefix = _CLEAR_LINE if self._live else ""
        print(prefix + progress_line(result), file=self._out, flush=True)
        self._level += 1
        self._started = time.monotonic()
        self.sent = self.answered = 0

    @contextmanager
    def ticking(self) -> Iterator[None]:
        """Rewrites the live line while the block runs (on a terminal only)."""
        task = asyncio.get_running_loop().create_task(self._tick()) if self._live else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self._level < len(self._levels):
                label = self._levels[self._level].label
                elapsed = time.monotonic() - self._started
                self._out.write(
                    f"{_CLEAR_LINE}{label}: {self.answered}/{self.sent} answered, {elapsed:.0f} s"
                )
                self._out.flush()
