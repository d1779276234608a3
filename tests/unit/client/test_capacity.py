"""Waiting out a scaled-to-zero model: resend 400 "no capacity" with growing pauses, up to a deadline."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sagemaker_openai.client import BearerTokenAuth, openai_client
from sagemaker_openai.client.capacity import AsyncCapacityWaitTransport, CapacityWaitTransport
from sagemaker_openai.client.factories import connection_pool

from .helpers import REGION, CountingTokenFactory

NO_CAPACITY = {"error": {"message": "Inference Component has no capacity to process this request."}}
COMPLETION = {
    "id": "c",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "awake"}, "finish_reason": "stop"}],
}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.notes: list[str] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def _scripted(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[tuple[bytes, str | None]]]:
    """A transport answering `responses` in turn; records each request's body and Authorization header."""
    queue: list[httpx.Response] = list(responses)
    seen: list[tuple[bytes, str | None]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append((request.content, request.headers.get("Authorization")))
        return queue.pop(0)

    return httpx.MockTransport(respond), seen


def _sync(transport: httpx.BaseTransport, time: FakeTime, max_wait: float) -> CapacityWaitTransport:
    return CapacityWaitTransport(
        transport, max_wait=max_wait, sleep=time.sleep, clock=time.clock, notify=time.notes.append
    )


def test_resends_until_a_copy_answers() -> None:
    time = FakeTime()
    mock, seen = _scripted(
        httpx.Response(400, json=NO_CAPACITY),
        httpx.Response(400, json=NO_CAPACITY),
        httpx.Response(400, json=NO_CAPACITY),
        httpx.Response(200, json={"ok": True}),
    )
    with httpx.Client(transport=_sync(mock, time, 900)) as client:
        response = client.post("http://127.0.0.1/x", json={"q": 1})
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert time.slept == [15.0, 30.0, 60.0]
    assert time.notes[0] == "no capacity yet (a copy of the model is starting); retrying in 15 s"
    assert [content for content, _ in seen] == [b'{"q":1}'] * 4


def test_gives_the_400_back_at_the_deadline_with_its_body() -> None:
    time = FakeTime()
    mock, _ = _scripted(*[httpx.Response(400, json=NO_CAPACITY) for _ in range(3)])
    with httpx.Client(transport=_sync(mock, time, 40)) as client:
        response = client.post("http://127.0.0.1/x")
    assert time.slept == [15.0, 25.0]
    assert (response.status_code, response.json()) == (400, NO_CAPACITY)


def test_other_answers_pass_straight_through() -> None:
    time = FakeTime()
    mock, seen = _scripted(httpx.Response(400, json={"error": {"message": "bad request"}}))
    with httpx.Client(transport=_sync(mock, time, 900)) as client:
        response = client.post("http://127.0.0.1/x")
    assert (response.status_code, response.json()) == (400, {"error": {"message": "bad request"}})
    assert (len(seen), time.slept) == (1, [])


def test_a_token_renewed_mid_wait_keeps_the_same_deadline() -> None:
    time = FakeTime()
    factory = CountingTokenFactory()
    mock, seen = _scripted(
        httpx.Response(400, json=NO_CAPACITY),
        httpx.Response(401),  # the token expired during the pause: BearerTokenAuth renews and resends
        httpx.Response(400, json=NO_CAPACITY),
        httpx.Response(400, json=NO_CAPACITY),
    )
    auth = BearerTokenAuth(REGION, token_factory=factory)
    with httpx.Client(auth=auth, transport=_sync(mock, time, 20)) as client:
        response = client.post("http://127.0.0.1/x")
    assert response.status_code == 400
    assert time.slept == [15.0, 5.0]  # one 20 s budget across the resend, not two
    first, renewed = (f"Bearer {token}" for token in factory.issued)
    assert [authorization for _, authorization in seen] == [first, first, renewed, renewed]


def test_async_transport_waits_without_blocking_the_loop() -> None:
    time = FakeTime()
    responses = [httpx.Response(400, json=NO_CAPACITY), httpx.Response(200, json={"ok": True})]

    async def respond(request: httpx.Request) -> httpx.Response:
        return responses.pop(0)

    async def main() -> httpx.Response:
        transport = AsyncCapacityWaitTransport(
            httpx.MockTransport(respond), max_wait=60, sleep=time.async_sleep, clock=time.clock
        )
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.post("http://127.0.0.1/x")

    response = asyncio.run(main())
    assert response.status_code == 200
    assert time.slept == [15.0]


def test_openai_client_on_a_waiting_pool(counting_factory: CountingTokenFactory) -> None:
    time = FakeTime()
    mock, _ = _scripted(httpx.Response(400, json=NO_CAPACITY), httpx.Response(200, json=COMPLETION))
    pool = connection_pool(
        auth=BearerTokenAuth(REGION, token_factory=counting_factory),
        wait_for_capacity=600,
        transport=mock,
        sleep=time.sleep,
        clock=time.clock,
        notify=time.notes.append,
    )
    client = openai_client(
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/openai/v1", http_client=pool
    )
    reply = client.chat.completions.create(model="", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "awake"
    assert time.slept == [15.0]
    with pytest.raises(ValueError, match=r"Provide either wait_for_capacity or http_client"):
        openai_client("http://127.0.0.1/e/openai/v1", region=REGION, http_client=pool, wait_for_capacity=60)


def test_a_non_positive_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="max_wait must be positive"):
        CapacityWaitTransport(httpx.MockTransport(lambda r: httpx.Response(200)), max_wait=0)
