"""One streamed chat completion through the OpenAI SDK's async client, timed chunk by chunk.

The SDK parses the server-sent events; this only stamps each chunk that carries a token and reads the
`usage` chunk that `stream_options.include_usage` asks for. The SDK's own retries are off (the caller
builds the client with max_retries=0): a 429 or 5xx is counted as what it is, not hidden behind a retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import openai

from sagemaker_openai.operations.bench.measure import RequestRecord
from sagemaker_openai.operations.bench.prompts import RequestSpec

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

_NO_CAPACITY = "no capacity"


class StreamSender:
    """Sends each RequestSpec to `model` through `client` and records how its answer streamed back.

    `ignore_eos` adds vLLM's `ignore_eos` (generate up to max_tokens whatever the model would say), so
    the output length is the one asked for; servers other than vLLM may ignore or refuse the field.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        ignore_eos: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self._model = model
        self._ignore_eos = ignore_eos
        self._clock = clock

    async def __call__(self, spec: RequestSpec) -> RequestRecord:
        extra_body: dict[str, Any] = dict(spec.extra_body)
        if self._ignore_eos and spec.max_tokens is not None:
            extra_body.setdefault("ignore_eos", True)
        record = RequestRecord(sent=self._clock(), asked_tokens=spec.max_tokens)
        try:
            stream = await self._client.chat.completions.create(
                model=self._model,
                messages=cast("list[ChatCompletionMessageParam]", spec.messages),
                max_tokens=spec.max_tokens if spec.max_tokens is not None else openai.omit,
                stream=True,
                stream_options={"include_usage": True},
                extra_body=extra_body or None,
            )
            async with stream:
                async for chunk in stream:
                    self._take(record, chunk)
        except openai.APIStatusError as exc:
            record.error = _status_label(exc)
        except openai.APITimeoutError:
            record.error = "timeout"
        except openai.APIConnectionError:
            record.error = "connection"
        except openai.APIError:
            # An error event inside a stream that had started (the SDK raises it as it reads the event).
            record.error = "stream error"
        record.finished = self._clock()
        return record

    def _take(self, record: RequestRecord, chunk: ChatCompletionChunk) -> None:
        now = self._clock()
        if chunk.usage is not None:
            record.prompt_tokens = chunk.usage.prompt_tokens
            record.completion_tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            delta = choice.delta
            extra = delta.model_extra or {}
            if delta.content or delta.tool_calls or extra.get("reasoning_content") or extra.get("reasoning"):
                record.token_times.append(now)
                return


def _status_label(exc: openai.APIStatusError) -> str:
    """The status, with SageMaker's 400 for a model scaled to zero told apart from other 400s."""
    if exc.status_code == 400 and _NO_CAPACITY in str(exc.body or exc.message).lower():
        return "400 no capacity"
    return str(exc.status_code)
