"""The local runtime's deterministic answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_openai.servers.local_runtime.completions import InvalidRequest, Reply, reply_to, stream_chunks

ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "boolean"}}},
    },
}
SEARCH_TOOL = {"type": "function", "function": {"name": "search"}}


def _ask(content: Any, **request: Any) -> Reply:
    return reply_to({"messages": [{"role": "user", "content": content}], **request}, target="ic-a")


def test_the_answer_repeats_the_last_user_message_including_content_parts() -> None:
    reply = _ask([{"type": "text", "text": "two"}, {"type": "text", "text": "parts"}])
    assert (reply.content, reply.finish_reason) == ("local-runtime ic-a: two parts", "stop")
    assert (reply.prompt_tokens, reply.completion_tokens) == (2, 4)


@pytest.mark.parametrize("limit_field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_finish_reason_length(limit_field: str) -> None:
    reply = _ask("one two three four", **{limit_field: 3})
    assert (reply.content, reply.finish_reason, reply.completion_tokens) == (
        "local-runtime ic-a: one",
        "length",
        3,
    )


def test_first_tool_is_called_with_arguments_from_its_schema() -> None:
    reply = _ask("add these", tools=[ADD_TOOL, SEARCH_TOOL])
    assert reply.content is None
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_call is not None
    assert reply.tool_call.name == "add"
    assert json.loads(reply.tool_call.arguments) == {"a": 2.0, "b": True}
    assert reply.tool_call.call_id.startswith("call_")


def test_tool_choice_picks_or_suppresses_a_tool() -> None:
    named = _ask(
        "x", tools=[ADD_TOOL, SEARCH_TOOL], tool_choice={"type": "function", "function": {"name": "search"}}
    )
    assert named.tool_call is not None
    assert named.tool_call.name == "search"
    assert named.tool_call.arguments == "{}"
    assert _ask("x", tools=[ADD_TOOL], tool_choice="none").tool_call is None
    with pytest.raises(InvalidRequest, match="tool_choice names 'nope'"):
        _ask("x", tools=[ADD_TOOL], tool_choice={"type": "function", "function": {"name": "nope"}})


def test_malformed_tools_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="each tool must be"):
        _ask("x", tools=[{"type": "function"}])


def test_stream_without_usage_ends_with_the_finish_reason() -> None:
    chunks = list(stream_chunks(_ask("hi"), completion_id="c", created=1, model="m", include_usage=False))
    assert [chunk["choices"][0]["delta"] for chunk in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "local-runtime"},
        {"content": " ic-a:"},
        {"content": " hi"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
