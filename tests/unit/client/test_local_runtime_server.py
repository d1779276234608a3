"""The local runtime over HTTP: SageMaker-shaped refusals, completions, streams, tools and relaying."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.servers.local_runtime.upstream import Upstream

from .conftest import RuntimeFactory
from .helpers import REGION

CHAT = {"model": "", "messages": [{"role": "user", "content": "hello local runtime"}]}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "days", "unit"],
        },
    },
}


@pytest.fixture
def token() -> str:
    return BearerTokenAuth(REGION).token()


def _post(url: str, body: object, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(url, json=body, headers=headers)


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    assert error["code"] == response.status_code
    assert response.headers["x-amzn-ErrorType"] == error["type"]
    return response.status_code, error["type"], error["message"]


def test_completion_on_a_single_model_endpoint(local_runtime: RuntimeFactory, token: str) -> None:
    server = local_runtime("ep", served_model_name="Qwen/Qwen3-4B")
    response = _post(f"{server.origin}/endpoints/ep/openai/v1/chat/completions", CHAT, token)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "Qwen/Qwen3-4B"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "local-runtime ep: hello local runtime"},
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


def test_a_served_model_name_refuses_other_names_as_vllm_does(
    local_runtime: RuntimeFactory, token: str
) -> None:
    strict = local_runtime("ep", served_model_name="Qwen/Qwen3-4B")
    url = f"{strict.origin}/endpoints/ep/openai/v1/chat/completions"
    named = _post(url, {**CHAT, "model": "Qwen/Qwen3-4B"}, token)
    assert (named.status_code, named.json()["model"]) == (200, "Qwen/Qwen3-4B")
    response = _post(url, {**CHAT, "model": "qwen"}, token)
    assert _error(response) == (404, "NotFoundError", "The model `qwen` does not exist.")
    lenient = local_runtime("ep")
    answer = _post(
        f"{lenient.origin}/endpoints/ep/openai/v1/chat/completions", {**CHAT, "model": "any"}, token
    )
    assert (answer.status_code, answer.json()["model"]) == (200, "any")


@pytest.mark.parametrize(
    ("header", "status", "error_type", "message"),
    [
        (None, 401, "UnauthorizedError", "Missing bearer token: send Authorization: Bearer <token>."),
        (
            "Bearer sk-not-sagemaker",
            401,
            "UnauthorizedError",
            "Malformed bearer token: a SageMaker token starts",
        ),
    ],
)
def test_requests_without_a_usable_token_get_401(
    local_runtime: RuntimeFactory, header: str | None, status: int, error_type: str, message: str
) -> None:
    server = local_runtime("ep")
    headers = {"Authorization": header} if header else {}
    response = httpx.post(
        f"{server.origin}/endpoints/ep/openai/v1/chat/completions", json=CHAT, headers=headers
    )
    code, kind, text = _error(response)
    assert (code, kind) == (status, error_type)
    assert text.startswith(message)


def test_foreign_signed_token_gets_403(local_runtime: RuntimeFactory) -> None:
    from sagemaker_openai.client.credentials import CredentialSnapshot

    class OtherKeys:
        def snapshot(self) -> CredentialSnapshot:
            return CredentialSnapshot("AKIAOTHEREXAMPLE0000", "other-secret", None, None)

    foreign = BearerTokenAuth(REGION, credentials=OtherKeys()).token()
    server = local_runtime("ep")
    response = _post(f"{server.origin}/endpoints/ep/openai/v1/chat/completions", CHAT, foreign)
    assert _error(response) == (
        403,
        "AccessDeniedException",
        "The bearer token was signed with credentials this runtime does not accept.",
    )


def test_authentication_comes_before_routing(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep")
    response = _post(f"{server.origin}/endpoints/unknown/openai/v1/chat/completions", CHAT, None)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("components", "path", "expected"),
    [
        ((), "/endpoints/other/openai/v1/chat/completions", (400, "Endpoint other not found.")),
        (
            ("ic-a",),
            "/endpoints/ep/openai/v1/chat/completions",
            (
                400,
                "Endpoint ep hosts inference components: an inference component name is required; "
                "call /endpoints/ep/inference-components/<name>/openai/v1.",
            ),
        ),
        (
            ("ic-a",),
            "/endpoints/ep/inference-components/ic-b/openai/v1/chat/completions",
            (400, "Inference component ic-b not found on endpoint ep."),
        ),
        (
            (),
            "/endpoints/ep/inference-components/ic-a/openai/v1/chat/completions",
            (400, "Inference component ic-a not found on endpoint ep."),
        ),
        ((), "/endpoints/ep/openai/v1/models", (404, "Only /openai/v1/chat/completions is served.")),
        ((), "/invocations", (404, "Not found: use /endpoints/{endpoint}/openai/v1/chat/completions.")),
    ],
)
def test_routes_are_refused_like_sagemaker(
    local_runtime: RuntimeFactory,
    token: str,
    components: tuple[str, ...],
    path: str,
    expected: tuple[int, str],
) -> None:
    server = local_runtime("ep", components)
    code, _, text = _error(_post(f"{server.origin}{path}", CHAT, token))
    assert (code, text) == expected


def test_each_component_answers_on_its_path(local_runtime: RuntimeFactory, token: str) -> None:
    server = local_runtime("ep", ("ic-a", "ic-b"))
    for component in ("ic-a", "ic-b"):
        url = f"{server.origin}/endpoints/ep/inference-components/{component}/openai/v1/chat/completions"
        body = _post(url, CHAT, token).json()
        assert body["choices"][0]["message"]["content"] == f"local-runtime {component}: hello local runtime"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Invalid chat completion request: Expecting property name"),
        (b"[]", "Invalid chat completion request: the body must be a JSON object"),
        (b'{"messages": []}', "Invalid chat completion request: 'messages' must be a non-empty list"),
        (
            b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
            "'max_tokens' must be at least 1",
        ),
    ],
)
def test_invalid_requests_get_400(
    local_runtime: RuntimeFactory, token: str, body: bytes, message: str
) -> None:
    server = local_runtime("ep")
    response = httpx.post(
        f"{server.origin}/endpoints/ep/openai/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    code, kind, text = _error(response)
    assert (code, kind) == (400, "BadRequestError")
    assert message in text


def test_a_request_without_content_length_gets_411(local_runtime: RuntimeFactory, token: str) -> None:
    server = local_runtime("ep")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(
            b"POST /endpoints/ep/openai/v1/chat/completions HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        status_line = connection.makefile("rb").readline()
    assert status_line.split(b" ")[:2] == [b"HTTP/1.1", b"411"]  # h11 sends no reason phrase


def test_streaming_is_server_sent_events_ending_in_done(local_runtime: RuntimeFactory, token: str) -> None:
    server = local_runtime("ep")
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream(
        "POST",
        f"{server.origin}/endpoints/ep/openai/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        raw = response.read().decode()
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert all(event.startswith("data: ") for event in events[:-2])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk["choices"])
    assert text == "local-runtime ep: hello local runtime"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}


def test_a_stream_head_cannot_be_taken_for_the_end_of_a_chunked_body(
    local_runtime: RuntimeFactory, token: str
) -> None:
    # The head is written before the first chunk; a relay that scans for b"0\r\n\r\n" must not stop at
    # a request id ending in 0.
    server = local_runtime("ep")
    body = json.dumps({**CHAT, "stream": True}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(
            b"POST /endpoints/ep/openai/v1/chat/completions HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {token}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        reader = connection.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += reader.readline()
    assert head.lower().endswith(b"transfer-encoding: chunked\r\n\r\n")
    assert b"x-amzn-requestid: " in head


def test_tools_are_called_then_their_result_is_answered(local_runtime: RuntimeFactory, token: str) -> None:
    server = local_runtime("ep")
    url = f"{server.origin}/endpoints/ep/openai/v1/chat/completions"
    question = {"role": "user", "content": "weather in Paris"}
    first = _post(url, {"messages": [question], "tools": [WEATHER_TOOL]}, token).json()["choices"][0]
    assert first["finish_reason"] == "tool_calls"
    (call,) = first["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {
        "city": "weather in Paris",
        "days": 3,
        "unit": "celsius",
    }
    again = _post(url, {"messages": [question], "tools": [WEATHER_TOOL]}, token).json()["choices"][0]
    assert again["message"]["tool_calls"] == [call]  # deterministic, id included

    followup = [question, first["message"], {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]
    final = _post(url, {"messages": followup, "tools": [WEATHER_TOOL]}, token).json()["choices"][0]
    assert final == {
        "index": 0,
        "message": {"role": "assistant", "content": "local-runtime ep: tool get_weather returned sunny"},
        "finish_reason": "stop",
    }


def test_streamed_tool_call(local_runtime: RuntimeFactory, token: str) -> None:
    server = local_runtime("ep")
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER_TOOL], "stream": True}
    raw = _post(f"{server.origin}/endpoints/ep/openai/v1/chat/completions", body, token).text
    chunks = [json.loads(e.removeprefix("data: ")) for e in raw.split("\n\n") if e and e != "data: [DONE]"]
    (delta,) = [c["choices"][0]["delta"] for c in chunks if "tool_calls" in c["choices"][0]["delta"]]
    assert delta["tool_calls"][0]["index"] == 0
    assert delta["tool_calls"][0]["function"]["name"] == "get_weather"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_no_auth_mode_needs_no_token(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep", auth=False)
    assert _post(f"{server.origin}/endpoints/ep/openai/v1/chat/completions", CHAT, None).status_code == 200


def test_ping(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep")
    assert httpx.get(f"{server.origin}/ping").json() == {"status": "Healthy"}


class _Upstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that records what it received."""

    protocol_version = "HTTP/1.1"
    received: ClassVar[list[tuple[str, dict[str, str], dict[str, Any]]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, dict(self.headers), body))
        if body.get("stream"):
            payload = b'data: {"choices": [{"index": 0, "delta": {"content": "up"}}]}\n\ndata: [DONE]\n\n'
            content_type = "text/event-stream"
        else:
            payload = json.dumps({"from": "upstream", "model": body["model"]}).encode()
            content_type = "application/json"
        self.send_response(201 if not body.get("stream") else 200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def upstream_url() -> Iterator[str]:
    _Upstream.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_relays_to_an_upstream_without_forwarding_the_token(
    local_runtime: RuntimeFactory, token: str, upstream_url: str
) -> None:
    server = local_runtime("ep", ("ic-a",), upstream=Upstream(upstream_url, api_key="upstream-key"))
    url = f"{server.origin}/endpoints/ep/inference-components/ic-a/openai/v1/chat/completions"
    response = _post(url, {**CHAT, "model": "Qwen/Qwen3-4B"}, token)
    assert (response.status_code, response.json()) == (201, {"from": "upstream", "model": "Qwen/Qwen3-4B"})
    streamed = _post(url, {**CHAT, "stream": True}, token)
    assert streamed.headers["Content-Type"] == "text/event-stream"
    assert (
        streamed.text == 'data: {"choices": [{"index": 0, "delta": {"content": "up"}}]}\n\ndata: [DONE]\n\n'
    )
    paths = [path for path, _, _ in _Upstream.received]
    assert paths == ["/v1/chat/completions", "/v1/chat/completions"]
    for _, headers, _ in _Upstream.received:
        assert headers["Authorization"] == "Bearer upstream-key"
        assert token not in json.dumps(headers)


def test_relay_still_checks_the_token(local_runtime: RuntimeFactory, upstream_url: str) -> None:
    server = local_runtime("ep", upstream=Upstream(upstream_url))
    assert _post(f"{server.origin}/endpoints/ep/openai/v1/chat/completions", CHAT, None).status_code == 401
    assert _Upstream.received == []


def test_unreachable_upstream_is_502(local_runtime: RuntimeFactory, token: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/v1"
    server = local_runtime("ep", upstream=Upstream(dead))
    response = _post(f"{server.origin}/endpoints/ep/openai/v1/chat/completions", CHAT, token)
    assert _error(response) == (502, "UpstreamError", f"The upstream {dead} failed: ConnectError.")
