"""Waiting out HTTP 400 "no capacity" while a scaled-to-zero inference component starts a copy.

SageMaker answers at once with 400 "Inference Component has no capacity to process this request" until a
copy runs again, which takes minutes, so the SDK's quick retries (which skip 400s anyway) cannot help.
These transports resend such requests with growing pauses until a deadline. They sit below the auth, so a
token that expires during a long wait is answered 401, renewed by BearerTokenAuth, and resent; the
deadline travels with the request, so that resend does not restart the wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import httpx

log = logging.getLogger(__name__)

NO_CAPACITY = b"no capacity"
FIRST_PAUSE = 15.0
MAX_PAUSE = 60.0
_DEADLINE = "sagemaker_openai.capacity_deadline"


def _log_note(message: str) -> None:
    log.warning("%s", message)


class _WaitPolicy:
    def __init__(
        self,
        max_wait: float,
        clock: Callable[[], float],
        notify: Callable[[str], None] | None,
    ) -> None:
        if max_wait <= 0:
            raise ValueError("max_wait must be positive; leave the transport out to not wait.")
        self.max_wait = max_wait
        self.clock = clock
        self.notify = notify or _log_note

    def deadline(self, request: httpx.Request) -> float:
        deadline: float = request.extensions.setdefault(_DEADLINE, self.clock() + self.max_wait)
        return deadline

    def pause(self, response: httpx.Response, body: bytes, deadline: float, previous: float) -> float:
        """Seconds to wait before resending, or 0 to hand the response back."""
        if response.status_code != 400 or NO_CAPACITY not in body.lower():
            return 0.0
        pause = min(previous * 2 if previous else FIRST_PAUSE, MAX_PAUSE, deadline - self.clock())
        if pause > 0:
            self.notify(f"no capacity yet (a copy of the model is starting); retrying in {pause:.0f} s")
        return max(pause, 0.0)


def _replay(response: httpx.Response, body: bytes) -> httpx.Response:
    """The already-read response, as a fresh one the client can read again."""
    return httpx.Response(
        response.status_code, headers=response.headers, content=body, extensions=response.extensions
    )


class CapacityWaitTransport(httpx.BaseTransport):
    """Resends "no capacity" answers through `transport` for up to `max_wait` seconds per request."""

    def __init__(
        self,
        transport: httpx.BaseTransport,
        *,
        max_wait: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self._transport = transport
        self._policy = _WaitPolicy(max_wait, clock, notify)
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = self._policy.deadline(request)
        pause = 0.0
        while True:
            response = self._transport.handle_request(request)
            if response.status_code != 400:
                return response
            body = response.read()
            response.close()
            pause = self._policy.pause(response, body, deadline, pause)
            if not pause:
                return _replay(response, body)
            self._sleep(pause)

    def close(self) -> None:
        self._transport.close()


class AsyncCapacityWaitTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of CapacityWaitTransport."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        max_wait: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self._transport = transport
        self._policy = _WaitPolicy(max_wait, clock, notify)
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = self._policy.deadline(request)
        pause = 0.0
        while True:
            response = await self._transport.handle_async_request(request)
            if response.status_code != 400:
                return response
            body = await response.aread()
            await response.aclose()
            pause = self._policy.pause(response, body, deadline, pause)
            if not pause:
                return _replay(response, body)
            await self._sleep(pause)

    async def aclose(self) -> None:
        await self._transport.aclose()
