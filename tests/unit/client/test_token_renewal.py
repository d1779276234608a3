"""When BearerTokenAuth mints: once, then again inside its renewal windows or when the signing keys expire."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from botocore.credentials import RefreshableCredentials

from sagemaker_openai.client.auth import BearerTokenAuth, TokenFactory
from sagemaker_openai.client.credentials import CredentialSnapshot, SessionCredentials
from sagemaker_openai.client.errors import CredentialsError

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, CountingTokenFactory


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ExpiringKeys:
    """A credential source whose keys expire at a given clock reading (None: never)."""

    def __init__(self, clock: FakeClock, expires_at: float | None) -> None:
        self.clock = clock
        self.expires_at = expires_at

    def snapshot(self) -> CredentialSnapshot:
        lifetime = None if self.expires_at is None else self.expires_at - self.clock()
        return CredentialSnapshot(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, None, lifetime)


def _auth(clock: FakeClock, factory: TokenFactory, *, keys: ExpiringKeys | None = None) -> BearerTokenAuth:
    return BearerTokenAuth(
        "us-east-1",
        expiry=timedelta(hours=1),
        clock=clock,
        token_factory=factory,
        credentials=keys or ExpiringKeys(clock, None),
    )


def test_one_token_serves_every_request_until_the_advisory_window(
    counting_factory: CountingTokenFactory,
) -> None:
    clock = FakeClock()
    auth = _auth(clock, counting_factory)
    first = auth.token()
    clock.now += 3600 - 600 - 1  # one second before the advisory window (10 min before expiry)
    assert [auth.token() for _ in range(50)] == [first] * 50
    assert counting_factory.calls == [timedelta(hours=1)]


def test_renews_inside_the_advisory_window(counting_factory: CountingTokenFactory) -> None:
    clock = FakeClock()
    auth = _auth(clock, counting_factory)
    first = auth.token()
    clock.now += 3600 - 600 + 1
    second = auth.token()
    assert second != first
    assert auth.token() == second
    assert len(counting_factory.calls) == 2


def test_advisory_failure_keeps_the_current_token_and_logs_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    auth = _auth(clock, CountingTokenFactory(failures={2: RuntimeError("STS is unreachable")}))
    first = auth.token()
    clock.now += 3600 - 450  # advisory (600 s) but not mandatory (300 s)
    with caplog.at_level(logging.WARNING):
        assert auth.token() == first
    assert "renewing the SageMaker bearer token failed (RuntimeError: STS is unreachable)" in caplog.text
    assert first not in caplog.text


def test_mandatory_window_failure_raises() -> None:
    clock = FakeClock()
    auth = _auth(clock, CountingTokenFactory(failures={2: RuntimeError("no signer")}))
    auth.token()
    clock.now += 3600 - 299  # inside the mandatory window (300 s)
    with pytest.raises(RuntimeError, match="no signer"):
        auth.token()


def test_expired_keys_that_botocore_cannot_refresh_are_reported_with_the_fix() -> None:
    expired = datetime.now(UTC) - timedelta(seconds=1)
    credentials = RefreshableCredentials(
        FAKE_ACCESS_KEY,
        FAKE_SECRET_KEY,
        "session-0",
        expired,
        refresh_using=lambda: {
            "access_key": FAKE_ACCESS_KEY,
            "secret_key": FAKE_SECRET_KEY,
            "token": "session-0",
            "expiry_time": expired.isoformat(),
        },
        method="test",
    )
    with pytest.raises(CredentialsError, match="refresh them") as raised:
        SessionCredentials(credentials).snapshot()
    assert FAKE_SECRET_KEY not in str(raised.value)


def test_renews_before_the_signing_keys_expire(counting_factory: CountingTokenFactory) -> None:
    clock = FakeClock()
    keys = ExpiringKeys(clock, expires_at=clock.now + 1200)  # keys last 20 min, the token asks for 60
    auth = _auth(clock, counting_factory, keys=keys)
    first = auth.token()
    clock.now += 1200 - 600 - 1
    assert auth.token() == first
    clock.now += 2  # inside the advisory window of the keys' expiry
    keys.expires_at = clock.now + 3600  # botocore refreshed the keys meanwhile
    second = auth.token()
    assert second != first
    clock.now += 3600 - 600 - 1  # now the token's own expiry bounds it again
    assert auth.token() == second
    assert len(counting_factory.calls) == 2


def test_margins_are_capped_at_half_a_short_lifetime(counting_factory: CountingTokenFactory) -> None:
    clock = FakeClock()
    auth = BearerTokenAuth(
        "us-east-1",
        expiry=timedelta(seconds=60),
        clock=clock,
        token_factory=counting_factory,
        credentials=ExpiringKeys(clock, None),
    )
    first = auth.token()
    clock.now += 29
    assert auth.token() == first
    clock.now += 2
    assert auth.token() != first


def test_401_renews_once_and_resends(counting_factory: CountingTokenFactory) -> None:
    clock = FakeClock()
    auth = _auth(clock, counting_factory)
    rejected = auth.token()
    seen: list[str] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if request.headers["Authorization"] == f"Bearer {rejected}" else 200)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(runtime)) as client:
        assert client.post("http://127.0.0.1/x").status_code == 200
    assert seen[0] == f"Bearer {rejected}"
    assert seen[1] != seen[0]
    assert len(seen) == 2
    assert len(counting_factory.calls) == 2


def test_a_second_401_is_returned_not_retried(counting_factory: CountingTokenFactory) -> None:
    auth = _auth(FakeClock(), counting_factory)
    requests: list[httpx.Request] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(401)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(runtime)) as client:
        assert client.post("http://127.0.0.1/x").status_code == 401
    assert len(requests) == 2


@pytest.mark.parametrize("seconds", [0, 0.5, 43201])
def test_expiry_outside_one_second_to_twelve_hours_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="between 1 second and 12 hours"):
        BearerTokenAuth("us-east-1", expiry=timedelta(seconds=seconds))


def test_session_credentials_report_botocore_expiry_and_refresh() -> None:
    wall = [datetime(2026, 1, 1, 12, 0, tzinfo=UTC)]
    refreshed: list[int] = []

    def refresh() -> dict[str, str]:
        refreshed.append(1)
        return {
            "access_key": "AKIAREFRESHEDEXAMPLE",
            "secret_key": FAKE_SECRET_KEY,
            "token": "session-2",
            "expiry_time": (wall[0] + timedelta(hours=1)).isoformat(),
        }

    credentials = RefreshableCredentials(
        FAKE_ACCESS_KEY,
        FAKE_SECRET_KEY,
        "session-1",
        wall[0] + timedelta(minutes=30),
        refresh_using=refresh,
        method="test",
        time_fetcher=lambda: wall[0],
    )
    source = SessionCredentials(credentials, now=lambda: wall[0])
    snapshot = source.snapshot()
    assert (snapshot.access_key, snapshot.token, snapshot.lifetime) == (FAKE_ACCESS_KEY, "session-1", 1800.0)
    wall[0] += timedelta(minutes=25)  # inside botocore's mandatory refresh window
    snapshot = source.snapshot()
    assert refreshed == [1]
    assert (snapshot.access_key, snapshot.token, snapshot.lifetime) == (
        "AKIAREFRESHEDEXAMPLE",
        "session-2",
        3600.0,
    )
    assert FAKE_SECRET_KEY not in repr(snapshot)
    assert "session-2" not in repr(snapshot)


def test_async_callers_renew_in_the_advisory_window_off_the_loop(
    counting_factory: CountingTokenFactory,
) -> None:
    clock = FakeClock()
    auth = _auth(clock, counting_factory)
    first = auth.token()
    clock.now += 3600 - 450  # advisory window

    async def main() -> list[str]:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(_echo)) as client:
            return [(await client.get("http://127.0.0.1/")).text for _ in range(3)]

    answers = asyncio.run(main())
    renewed = counting_factory.issued[1]
    assert answers == [f"Bearer {renewed}"] * 3
    assert renewed != first
    assert len(counting_factory.calls) == 2
    assert threading.get_ident() not in counting_factory.threads[1:]


def _echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=request.headers["Authorization"])


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, b""),
        (403, b'{"message": "The security token included in the request is invalid."}'),
        (400, b'{"error": {"message": "The bearer token expired at 2026-12-01T07:00:00Z."}}'),
        (400, b'{"__type": "ExpiredTokenException", "message": "x"}'),
        (400, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"),
        (400, b'{"__type": "RequestExpired", "message": "The request reached the service too late."}'),
        (
            400,
            b"<Message>The request reached the service more than 15 minutes after the request expiration "
            b"date</Message>",
        ),
        (400, b'{"message": "Signature expired: 20261201T070000Z is now earlier than 20261201T070100Z"}'),
    ],
)
def test_a_refusal_renews_once_and_resends(
    counting_factory: CountingTokenFactory, status: int, body: bytes
) -> None:
    auth = _auth(FakeClock(), counting_factory)
    seen: list[str] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(status, content=body) if len(seen) == 1 else httpx.Response(200)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(runtime)) as client:
        assert client.post("http://127.0.0.1/x").status_code == 200
    assert seen == [f"Bearer {token}" for token in counting_factory.issued]
    assert len(seen) == 2


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"message": "Inference Component has no capacity to process this request."}}',
        b'{"error": {"message": "max_tokens must be at least 1"}}',
        b"",
    ],
)
def test_other_400s_are_the_callers_and_are_not_retried(
    counting_factory: CountingTokenFactory, body: bytes
) -> None:
    auth = _auth(FakeClock(), counting_factory)
    calls: list[httpx.Request] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, content=body)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(runtime)) as client:
        answer = client.post("http://127.0.0.1/x")
    assert (answer.status_code, answer.content, len(calls), len(counting_factory.calls)) == (400, body, 1, 1)


@pytest.mark.parametrize("status", [401, 403, 400])
def test_a_second_refusal_reaches_the_caller_unchanged(
    counting_factory: CountingTokenFactory, status: int
) -> None:
    auth = _auth(FakeClock(), counting_factory)
    body = b'{"error": {"message": "The bearer token expired at 2026-12-01T07:00:00Z."}}'

    def runtime(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"x-amzn-RequestId": "r-1"})

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(runtime)) as client:
            return await client.post("http://127.0.0.1/x")

    answer = asyncio.run(main())
    assert (answer.status_code, answer.content, answer.headers["x-amzn-RequestId"]) == (status, body, "r-1")
    assert len(answer.history) == 1
    assert len(counting_factory.calls) == 2


def test_expiry_is_scheduled_on_the_wall_clock(counting_factory: CountingTokenFactory) -> None:
    auth = BearerTokenAuth(
        "us-east-1", token_factory=counting_factory, credentials=ExpiringKeys(FakeClock(), None)
    )
    auth.token()
    # Scheduled in epoch seconds (time.time): a monotonic clock stops while a laptop sleeps.
    cached = auth._tokens.peek()
    assert cached is not None
    assert cached.expires_at == pytest.approx(time.time() + 3600, abs=5)


def test_a_laptop_that_slept_past_expiry_renews_before_sending(
    counting_factory: CountingTokenFactory,
) -> None:
    wall = FakeClock()
    auth = _auth(wall, counting_factory)
    seen: list[str] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(runtime)) as client:
        client.post("http://127.0.0.1/x")
        wall.now += 8 * 3600  # the lid was closed overnight
        client.post("http://127.0.0.1/x")
    assert seen == [f"Bearer {token}" for token in counting_factory.issued]
    assert len(set(seen)) == 2


def test_a_hanging_credential_provider_ends_in_a_clear_error() -> None:
    release = threading.Event()

    class HangingKeys:
        def snapshot(self) -> CredentialSnapshot:
            release.wait(10)
            return CredentialSnapshot(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, None, None)

    factory = CountingTokenFactory()
    auth = BearerTokenAuth("us-east-1", token_factory=factory, credentials=HangingKeys(), renewal_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(CredentialsError) as raised:
        auth.token()
    assert time.monotonic() - started < 2
    assert str(raised.value) == (
        "signing a SageMaker bearer token took more than 0.2 s: the AWS credential provider (SSO, instance "
        "metadata, STS or a credential_process) did not answer; check it with `aws sts get-caller-identity` "
        "and retry"
    )
    # The hung signing is waited for again, not started twice; once it answers, its token is used.
    with pytest.raises(CredentialsError):
        auth.token()
    release.set()
    assert auth.token() == factory.issued[0]
    assert len(factory.calls) == 1
