"""Deterministic OpenAI chat completions, so clients and agents can be tested without a model.

Without tools the answer repeats the last user message. When the request offers tools and the last message
is not a tool result, the answer calls the first tool (or the one `tool_choice` names) with arguments built
from its JSON schema; once a tool result is the last message, the answer reports it. With vLLM's
`ignore_eos` and a `max_tokens`, the answer is exactly that many words (tokens, here) long, as vLLM's is.

`StreamPacer` sends streamed answers at a model's pace (for benchmarks): a first-token delay, a delay
between tokens, and a limit on the answers generated at once beyond which requests queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any


class InvalidRequest(ValueError):
    """The request body is not a chat completion request (answered with 400)."""


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Reply:
    content: str | None
    tool_call: ToolCall | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def reply_to(request: Mapping[str, Any], *, target: str) -> Reply:
    """The deterministic answer to a chat completion request sent to `target` (endpoint or component)."""
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise InvalidRequest("'messages' must be a non-empty list of message objects")
    prompt_tokens = sum(len(_text(message.get("content")).split()) for message in messages)
    last = messages[-1]
    tool = _tool_to_call(request)
    if last.get("role") == "tool":
        name = _tool_name_for(messages, last.get("tool_call_id"))
        content = f"local-runtime {target}: tool {name} returned {_text(last.get('content'))}"
    elif tool is not None:
        call = _call(tool, _last_user_text(messages))
        return Reply(None, call, "tool_calls", prompt_tokens, len(call.arguments.split()))
    else:
        content = f"local-runtime {target}: {_last_user_text(messages)}"
    words = content.split(" ")
    limit = _max_tokens(request)
    finish_reason = "stop"
    if limit is not None and request.get("ignore_eos") is True:
        # vLLM generates past the end-of-sequence token up to max_tokens: repeat the answer until then.
        words, finish_reason = list(itertools.islice(itertools.cycle(words), limit)), "length"
    elif limit is not None and len(words) > limit:
        words, finish_reason = words[:limit], "length"
    return Reply(" ".join(words), None, finish_reason, prompt_tokens, len(words))


def completion_body(reply: Reply, *, completion_id: str, created: int, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_call is not None:
        message["tool_calls"] = [_tool_call_json(reply.tool_call)]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": reply.usage(),
    }


def stream_chunks(
    reply: Reply, *, completion_id: str, created: int, model: str, include_usage: bool
) -> Iterator[dict[str, Any]]:
    """The chunks of a streamed answer, as vLLM sends them (the caller frames them as SSE)."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if reply.tool_call is not None:
        yield chunk({"tool_calls": [{"index": 0, **_tool_call_json(reply.tool_call)}]})
    else:
        words = (reply.content or "").split(" ")
        for index, word in enumerate(words):
            yield chunk({"content": word if index == 0 else f" {word}"})
    yield chunk({}, reply.finish_reason)
    if include_usage:
        yield {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": reply.usage(),
        }


class StreamPacer:
    """Paces streamed answers as a model generating them would.

    Legacy pacing (`first_token_delay` None): every chunk `token_delay` seconds after the one before (the
    first after one). With `first_token_delay`: the opening chunks and the first token come that long after
    the answer's turn, each later token `token_delay` after the one before, and the closing chunks (finish,
    usage) at once. With `max_num_seqs`, at most that many answers generate at once and the rest wait their
    turn in arrival order, as vLLM queues beyond its --max-num-seqs; the wait adds to time to first token.
    """

    def __init__(
        self,
        *,
        token_delay: float = 0.0,
        first_token_delay: float | None = None,
        max_num_seqs: int | None = None,
    ) -> None:
        self._token_delay = token_delay
        self._first_token_delay = first_token_delay
        self._slots = asyncio.Semaphore(max_num_seqs) if max_num_seqs is not None else None

    def _turn(self) -> AbstractAsyncContextManager[object]:
        return self._slots if self._slots is not None else nullcontext()

    def delays(self, chunks: Iterable[dict[str, Any]]) -> Iterator[tuple[float, dict[str, Any]]]:
        """Each chunk with the seconds to wait before sending it."""
        if self._first_token_delay is None:
            yield from ((self._token_delay, chunk) for chunk in chunks)
            return
        tokens_sent = 0
        for index, chunk in enumerate(chunks):
            if index == 0:
                delay = self._first_token_delay
            elif _carries_token(chunk):
                delay = self._token_delay if tokens_sent else 0.0
            else:
                delay = 0.0
            tokens_sent += _carries_token(chunk)
            yield delay, chunk

    async def events(self, chunks: Iterable[dict[str, Any]]) -> AsyncGenerator[bytes, None]:
        """The chunks as server-sent events ending in [DONE], paced; close it to give up its turn."""
        async with self._turn():
            loop = asyncio.get_running_loop()
            due = loop.time()
            for delay, chunk in self.delays(chunks):
                if delay:
                    # On a fixed schedule: the loop's timers wake up to a millisecond late, and with several
                    # streams interleaved, sleeping `delay` after each chunk would add that up (+15 % at 8
                    # streams). Fallen behind by more than the delay itself (a busy machine), it goes on from
                    # now instead of sending the missed chunks in a burst a client would time as 0 apart.
                    due += delay
                    now = loop.time()
                    if now - due > delay:
                        due = now
                    await asyncio.sleep(due - now)
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            yield b"data: [DONE]\n\n"


def _carries_token(chunk: Mapping[str, Any]) -> bool:
    choices = chunk.get("choices") or []
    delta = choices[0].get("delta", {}) if choices else {}
    return bool(delta.get("content") or delta.get("tool_calls"))


def _text(content: object) -> str:
    """Message content as text: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _max_tokens(request: Mapping[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = request.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise InvalidRequest(f"'{name}' must be at least 1")
            return value
    return None


def _tool_to_call(request: Mapping[str, Any]) -> dict[str, Any] | None:
    tools = request.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    functions: list[dict[str, Any]] = [
        tool["function"]
        for tool in tools
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    ]
    if len(functions) != len(tools) or not all(isinstance(f.get("name"), str) for f in functions):
        raise InvalidRequest("each tool must be {'type': 'function', 'function': {'name': ...}}")
    choice = request.get("tool_choice", "auto")
    if choice == "none":
        return None
    if choice in ("auto", "required"):
        return functions[0]
    function_choice = choice.get("function") if isinstance(choice, dict) else None
    wanted = function_choice.get("name") if isinstance(function_choice, dict) else None
    if not isinstance(wanted, str):
        raise InvalidRequest(
            "'tool_choice' must be 'none', 'auto', 'required' or "
            "{'type': 'function', 'function': {'name': ...}}"
        )
    for function in functions:
        if function["name"] == wanted:
            return function
    raise InvalidRequest(f"tool_choice names {wanted!r}, which is not among the tools")


def _call(function: Mapping[str, Any], user_text: str) -> ToolCall:
    schema = function.get("parameters")
    properties: dict[str, Any] = schema.get("properties", {}) if isinstance(schema, dict) else {}
    required = schema.get("required") if isinstance(schema, dict) else None
    names = required if isinstance(required, list) else list(properties)
    arguments = {name: _example_value(properties.get(name, {}), user_text) for name in names}
    encoded = json.dumps(arguments, sort_keys=True)
    digest = hashlib.sha256(f"{function['name']}:{encoded}".encode()).hexdigest()
    return ToolCall(call_id=f"call_{digest[:24]}", name=function["name"], arguments=encoded)


def _example_value(schema: object, user_text: str) -> object:
    if not isinstance(schema, dict):
        return user_text
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    examples: dict[str, object] = {
        "integer": len(user_text.split()),
        "number": float(len(user_text.split())),
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }
    return examples.get(kind, user_text) if isinstance(kind, str) else user_text


def _tool_name_for(messages: list[dict[str, Any]], call_id: object) -> str:
    for message in messages:
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict) and call.get("id") == call_id:
                function = call.get("function")
                return str(function.get("name", call_id) if isinstance(function, dict) else call_id)
    return str(call_id)


def _tool_call_json(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
