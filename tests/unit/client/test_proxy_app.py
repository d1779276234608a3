"""The proxy in-process, before an in-process local-runtime (two inference components) or a mock SageMaker."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest
from botocore.credentials import Credentials

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.client.token_format import TOKEN_PREFIX
from sagemaker_openai.servers.local_runtime import (
    EndpointLayout,
    LocalRuntimeServer,
    RuntimeSettings,
    TokenVerifier,
)
from sagemaker_openai.servers.proxy.app import MAX_BODY_BYTES, ProxySettings, build_app
from sagemaker_openai.servers.proxy.routes import ModelRoutes, Route
from sagemaker_openai.servers.proxy.server import ProxyServer

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION

KEYS = ("qwen", "llama")
SERVED = "served-model"
TOKEN_DELAY = 0.05
NO_CAPACITY = {
    "error": {
        "message": "Inference Component has no capacity to process this request. "
        "ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by "
        "invoking UpdateInferenceComponentRuntimeConfig API."
    }
}
Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


@pytest.fixture(scope="module")
def auth() -> BearerTokenAuth:
    """One auth for every proxy of the module: its token is minted once."""
    return BearerTokenAuth(REGION, credentials=Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY))


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntimeServer]:
    verifier = TokenVerifier(SessionCredentials(Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY)), region=REGION)
    settings = RuntimeSettings(
        layout=EndpointLayout("demo-ep", tuple(f"demo-{key}" for key in KEYS)),
        verifier=verifier,
        served_model_name=SERVED,
        token_delay=TOKEN_DELAY,
    )
    with LocalRuntimeServer(settings).running() as server:
        yield server


def _routes(origin: str) -> ModelRoutes:
    base = f"{origin}/endpoints/demo-ep/inference-components"
    return ModelRoutes(
        {key: Route(key, f"{base}/demo-{key}/openai/v1/chat/completions", SERVED) for key in KEYS}
    )


@contextmanager
def _proxy(settings: ProxySettings) -> Iterator[ProxyServer]:
    with ProxyServer(build_app(settings), host="127.0.0.1", port=0).running() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(runtime: LocalRuntimeServer, auth: BearerTokenAuth) -> Iterator[ProxyServer]:
    with _proxy(ProxySettings(routes=_routes(runtime.origin), auth=auth)) as server:
        yield server


@pytest.fixture
def client(proxy: ProxyServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.base_url, api_key="any key", max_retries=0) as sdk:
        yield sdk


def _mocked(auth: BearerTokenAuth, handler: Handler, **settings: object) -> ProxySettings:
    return ProxySettings(
        routes=_routes("https://runtime.sagemaker.us-east-1.amazonaws.com"),
        auth=auth,
        transport=httpx.MockTransport(handler),
        **settings,  # type: ignore[arg-type]
    )


def test_each_model_is_reached_by_its_key_and_sent_as_its_served_name(client: openai.OpenAI) -> None:
    for key in KEYS:
        completion = client.chat.completions.create(
            model=key, messages=[{"role": "user", "content": f"hello {key}"}]
        )
        # local-runtime answers 404 to any name but SERVED, as vLLM does.
        assert completion.model == SERVED
        assert completion.choices[0].message.content == f"local-runtime demo-{key}: hello {key}"


def test_streams_pass_through_chunk_by_chunk(client: openai.OpenAI) -> None:
    started = time.monotonic()
    arrivals: list[float] = []
    words: list[str] = []
    with client.chat.completions.create(
        model="llama", messages=[{"role": "user", "content": "one two three four five"}], stream=True
    ) as stream:
        for chunk in stream:
            arrivals.append(time.monotonic() - started)
            if chunk.choices and chunk.choices[0].delta.content:
                words.append(chunk.choices[0].delta.content)
    assert "".join(words) == "local-runtime demo-llama: one two three four five"
    # Nine chunks, each TOKEN_DELAY apart at the runtime: a buffering proxy would deliver them together.
    assert arrivals[-1] - arrivals[0] >= 6 * TOKEN_DELAY


def test_models_are_listed_and_an_unknown_one_is_404_naming_them(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["qwen", "llama"]
    assert client.models.retrieve("llama").owned_by == "sagemaker-openai"
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body == {
        "message": "The model `gpt-4o` does not exist on this proxy; its models are qwen, llama.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


@pytest.mark.parametrize(
    ("headers", "content", "status", "message"),
    [
        (
            {"Content-Type": "text/plain"},
            b"{}",
            415,
            "Send the request body as JSON with Content-Type: application/json.",
        ),
        ({"Content-Type": "application/json"}, b"{not json", 400, "The request body is not valid JSON."),
        ({"Content-Type": "application/json"}, b"[]", 400, "The request body must be a JSON object."),
        (
            {"Content-Type": "application/json"},
            b" " * (MAX_BODY_BYTES + 1),
            413,
            f"The request body exceeds {MAX_BODY_BYTES} bytes.",
        ),
        ({"Host": "attacker.example"}, b"{}", 403, None),
    ],
)
def test_malformed_requests_get_openai_errors_from_the_proxy(
    proxy: ProxyServer, headers: dict[str, str], content: bytes, status: int, message: str | None
) -> None:
    response = httpx.post(f"{proxy.base_url}/chat/completions", content=content, headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert message is None or error["message"] == message


def _raw_exchange(server: ProxyServer, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send raw bytes; the status line, headers and body of the answer, read until the server closes."""
    host, port = server.origin.removeprefix("http://").rsplit(":", 1)
    received = b""
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status_line.encode(), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"NOT A REQUEST LINE AT ALL\r\n\r\n", id="request-line"),
        # A JSON body sent chunked whose chunk size is not hex: the parser fails while the app reads it.
        pytest.param(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            id="chunk-size",
        ),
    ],
)
def test_a_request_the_http_parser_cannot_read_gets_hypercorns_plain_400(
    proxy: ProxyServer, request_bytes: bytes
) -> None:
    status_line, headers, body = _raw_exchange(proxy, request_bytes)
    assert status_line.split(b" ")[:2] == [b"HTTP/1.1", b"400"]
    assert (headers["content-length"], headers["connection"]) == ("0", "close")
    assert body == b""


def test_other_paths_are_404_and_healthz_answers(proxy: ProxyServer) -> None:
    response = httpx.post(f"{proxy.base_url}/embeddings", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "POST /v1/embeddings is not served: this proxy serves POST /v1/chat/completions, GET /v1/models "
        "and GET /healthz."
    )
    assert httpx.get(f"{proxy.origin}/healthz").json() == {"status": "ok"}


def test_the_callers_headers_stay_at_the_proxy_and_the_token_goes_on(auth: BearerTokenAuth) -> None:
    seen: list[httpx.Request] = []

    async def sagemaker(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"ok": True}, headers={"x-amzn-RequestId": "req-1", "Set-Cookie": "a=b"}
        )

    with _proxy(_mocked(auth, sagemaker)) as server:
        response = httpx.post(
            f"{server.base_url}/chat/completions",
            json={"model": "qwen", "messages": []},
            headers={"Authorization": "Bearer caller-key", "X-Caller-Secret": "s", "Cookie": "c=d"},
        )
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert response.headers["x-amzn-requestid"] == "req-1"
    assert "set-cookie" not in response.headers
    (request,) = seen
    assert str(request.url).endswith("/inference-components/demo-qwen/openai/v1/chat/completions")
    assert request.headers["Authorization"].startswith(f"Bearer {TOKEN_PREFIX}")
    assert not {"x-caller-secret", "cookie"} & set(request.headers)
    assert json.loads(request.content) == {"model": SERVED, "messages": []}


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (400, NO_CAPACITY, {"x-amzn-ErrorType": "ValidationError"}),
        (424, {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "OriginalStatusCode": 400}, {}),
        (429, {"message": "Rate exceeded"}, {"Retry-After": "2"}),
    ],
)
def test_sagemakers_answers_reach_the_caller_as_they_are(
    auth: BearerTokenAuth, status: int, body: dict[str, object], headers: dict[str, str]
) -> None:
    async def sagemaker(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    with _proxy(_mocked(auth, sagemaker)) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json={"model": "qwen", "messages": []})
    assert (response.status_code, response.json()) == (status, body)
    for name, value in headers.items():
        assert response.headers[name] == value


def test_a_token_echoed_in_an_error_is_redacted(auth: BearerTokenAuth) -> None:
    async def sagemaker(request: httpx.Request) -> httpx.Response:
        echoed = {"message": f"Refused {request.headers['Authorization']}"}
        return httpx.Response(403, json=echoed, headers={"x-amzn-ErrorType": "AccessDeniedException"})

    with _proxy(_mocked(auth, sagemaker)) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json={"model": "qwen", "messages": []})
    assert response.status_code == 403
    assert response.json() == {"message": f"Refused Bearer {TOKEN_PREFIX}<redacted>"}
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"


def test_wait_for_capacity_resends_until_a_copy_answers(auth: BearerTokenAuth) -> None:
    answers = [httpx.Response(400, json=NO_CAPACITY), httpx.Response(200, json={"ok": True})]
    notes: list[str] = []

    async def sagemaker(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    # The first pause is the rest of the wait (under 15 s): short here.
    with _proxy(_mocked(auth, sagemaker, wait_for_capacity=0.5, notify=notes.append)) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json={"model": "qwen", "messages": []})
    assert (response.status_code, response.json(), answers) == (200, {"ok": True}, [])
    assert len(notes) == 1
    assert notes[0].startswith("no capacity yet (a copy of the model is starting); retrying in")


def test_an_unreachable_model_is_a_502(auth: BearerTokenAuth) -> None:
    async def sagemaker(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _proxy(_mocked(auth, sagemaker)) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json={"model": "llama", "messages": []})
    assert response.status_code == 502
    assert response.json()["error"] == {
        "message": "Cannot reach model llama (ConnectError: connection refused).",
        "type": "api_error",
        "param": None,
        "code": None,
    }


def test_a_cookie_sagemaker_sets_for_one_caller_is_not_sent_for_the_next(auth: BearerTokenAuth) -> None:
    cookies_sent: list[str | None] = []

    async def sagemaker(request: httpx.Request) -> httpx.Response:
        cookies_sent.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"ok": True}, headers={"Set-Cookie": "AWSALB=caller-a; Path=/"})

    with _proxy(_mocked(auth, sagemaker)) as server:
        for _ in range(2):
            chat = {"model": "qwen", "messages": []}
            response = httpx.post(f"{server.base_url}/chat/completions", json=chat)
            assert response.status_code == 200
    assert cookies_sent == [None, None]


def test_a_model_that_drops_the_connection_is_a_502_not_a_timeout(auth: BearerTokenAuth) -> None:
    # A real socket that reads the request and closes: aiohttp's "server disconnected".
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def drop_each() -> None:
            for _ in range(2):  # the token's renewal on a refusal does not apply: one try each
                connection, _ = listener.accept()
                with connection:
                    connection.recv(65536)

        dropper = threading.Thread(target=drop_each, daemon=True)
        dropper.start()
        settings = ProxySettings(routes=_routes(f"http://127.0.0.1:{port}"), auth=auth)
        chat = {"model": "qwen", "messages": []}
        with _proxy(settings) as server:
            response = httpx.post(f"{server.base_url}/chat/completions", json=chat)
    assert response.status_code == 502
    assert response.json()["error"]["message"].startswith("Cannot reach model qwen (RemoteProtocolError: ")


def test_an_api_key_guards_everything_but_healthz(auth: BearerTokenAuth, runtime: LocalRuntimeServer) -> None:
    settings = ProxySettings(
        routes=_routes(runtime.origin), auth=auth, api_key="s3cret", api_key_source="the key in $PROXY_KEY"
    )
    with _proxy(settings) as server:
        wrong = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError) as caught:
            wrong.models.list()
        assert caught.value.body == {
            "message": "Missing or incorrect API key: send the key in $PROXY_KEY as the API key "
            "(Authorization: Bearer KEY).",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
        with openai.OpenAI(base_url=server.base_url, api_key="s3cret", max_retries=0) as right:
            answer = right.chat.completions.create(model="qwen", messages=[{"role": "user", "content": "k"}])
        assert answer.choices[0].message.content == "local-runtime demo-qwen: k"
        assert httpx.get(f"{server.origin}/healthz").status_code == 200


def test_a_stop_lets_an_open_stream_finish(
    auth: BearerTokenAuth, runtime: LocalRuntimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = ProxyServer(
        build_app(ProxySettings(routes=_routes(runtime.origin), auth=auth)), host="127.0.0.1", port=0
    )
    lines: list[str] = []
    # A long timeout: run alone, this test mints the module's first token (seconds of imports).
    with server.running(), httpx.Client(base_url=server.base_url, timeout=60) as http:
        body = {"model": "qwen", "stream": True, "messages": [{"role": "user", "content": "a b c d e f"}]}
        with http.stream("POST", "/chat/completions", json=body) as response:
            stream = response.iter_lines()
            lines.append(next(stream))
            threading.Thread(target=server.stop).start()
            lines.extend(stream)
    data = [line.removeprefix("data: ") for line in lines if line]
    assert data[-1] == "[DONE]"
    words = [json.loads(chunk)["choices"][0]["delta"].get("content", "") for chunk in data[:-1]]
    assert "".join(words) == "local-runtime demo-qwen: a b c d e f"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.origin}/healthz")
    assert TOKEN_PREFIX not in caplog.text
