"""One signing per renewal, however many threads, tasks and event loops ask at once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
from botocore.credentials import CredentialProvider

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import CredentialSnapshot

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, CountingTokenFactory

WORKERS = 24


class StaticKeys:
    def snapshot(self) -> CredentialSnapshot:
        return CredentialSnapshot(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, None, None)


class GatedFactory(CountingTokenFactory):
    """Blocks each signing until released, so every caller piles up behind the first one."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(
        self, *, region: str, aws_credentials_provider: CredentialProvider, expiry: timedelta
    ) -> str:
        self.entered.set()
        assert self.release.wait(10), "the test never released the signer"
        return super().__call__(
            region=region, aws_credentials_provider=aws_credentials_provider, expiry=expiry
        )


def _echo_transport() -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, text=request.headers["Authorization"]))


def _release_when_piled_up(factory: GatedFactory, started: Callable[[], int]) -> None:
    """Let the signer finish once the first caller is inside it and every other caller has started."""
    assert factory.entered.wait(10)
    deadline = time.monotonic() + 10
    while started() < WORKERS and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.05)  # let the stragglers reach the lock; correctness does not depend on it
    factory.release.set()


def test_threads_share_one_signing() -> None:
    factory = GatedFactory()
    auth = BearerTokenAuth("us-east-1", token_factory=factory, credentials=StaticKeys())
    started: list[int] = []
    answers: list[str] = []

    def call(client: httpx.Client) -> None:
        started.append(1)
        answers.append(client.get("http://127.0.0.1/").text)

    with httpx.Client(auth=auth, transport=_echo_transport()) as client:
        threads = [threading.Thread(target=call, args=(client,)) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        _release_when_piled_up(factory, lambda: len(started))
        for thread in threads:
            thread.join(10)
    assert len(factory.calls) == 1
    assert len(answers) == WORKERS
    assert set(answers) == {f"Bearer {auth.token()}"}


def test_asyncio_tasks_share_one_signing_off_the_event_loop() -> None:
    factory = GatedFactory()
    auth = BearerTokenAuth("us-east-1", token_factory=factory, credentials=StaticKeys())

    async def main() -> list[str]:
        async with httpx.AsyncClient(auth=auth, transport=_echo_transport()) as client:
            tasks = [asyncio.create_task(client.get("http://127.0.0.1/")) for _ in range(WORKERS)]
            await asyncio.sleep(0)  # every task reaches the auth flow before the signer is released
            await asyncio.to_thread(_release_when_piled_up, factory, lambda: WORKERS)
            responses = await asyncio.gather(*tasks)
        assert threading.get_ident() not in factory.threads  # signed off the event loop
        return [response.text for response in responses]

    answers = asyncio.run(main())
    assert len(factory.calls) == 1
    assert set(answers) == {f"Bearer {auth.token()}"}


def test_threads_and_tasks_on_several_loops_share_one_signing() -> None:
    factory = GatedFactory()
    auth = BearerTokenAuth("us-east-1", token_factory=factory, credentials=StaticKeys())
    answers: list[str] = []
    started: list[int] = []

    def sync_worker() -> None:
        with httpx.Client(auth=auth, transport=_echo_transport()) as client:
            started.append(1)
            answers.append(client.get("http://127.0.0.1/").text)

    def async_worker() -> None:
        async def fetch() -> list[str]:
            async with httpx.AsyncClient(auth=auth, transport=_echo_transport()) as client:
                started.append(1)
                responses = await asyncio.gather(*(client.get("http://127.0.0.1/") for _ in range(4)))
                return [response.text for response in responses]

        answers.extend(asyncio.run(fetch()))

    threads = [threading.Thread(target=sync_worker) for _ in range(WORKERS // 2)]
    threads += [threading.Thread(target=async_worker) for _ in range(WORKERS // 2)]
    for thread in threads:
        thread.start()
    _release_when_piled_up(factory, lambda: len(started))
    for thread in threads:
        thread.join(10)
    assert len(factory.calls) == 1
    assert len(answers) == WORKERS // 2 + 4 * (WORKERS // 2)
    assert set(answers) == {f"Bearer {auth.token()}"}


def test_async_401_renews_once_for_a_burst_of_rejections(counting_factory: CountingTokenFactory) -> None:
    auth = BearerTokenAuth("us-east-1", token_factory=counting_factory, credentials=StaticKeys())
    rejected = auth.token()

    def runtime(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401 if request.headers["Authorization"] == f"Bearer {rejected}" else 200)

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(runtime)) as client:
            responses = await asyncio.gather(*(client.get("http://127.0.0.1/") for _ in range(10)))
        return [response.status_code for response in responses]

    assert asyncio.run(main()) == [200] * 10
    assert len(counting_factory.calls) == 2
