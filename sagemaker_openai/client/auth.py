"""BearerTokenAuth: an httpx.Auth that sends a cached, self-renewing SageMaker bearer token."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from datetime import timedelta
from typing import Protocol

import httpx
from botocore.credentials import CredentialProvider, Credentials

from sagemaker_openai.client.credentials import CredentialSnapshot, CredentialSource, SessionCredentials
from sagemaker_openai.client.destinations import check_token_destination, normalize_allowed_hosts
from sagemaker_openai.client.errors import RegionError
from sagemaker_openai.client.log_safety import protect_library_loggers
from sagemaker_openai.client.refusals import (
    EXPIRED_TOKEN_STATUS,
    MAX_REASON_BYTES,
    RENEW_ON_STATUS,
    says_token_expired,
)
from sagemaker_openai.client.region import AwsSession, resolve_region
from sagemaker_openai.client.token_cache import (
    DEFAULT_RENEWAL_TIMEOUT,
    CachedToken,
    MintedToken,
    TokenCache,
)
from sagemaker_openai.client.token_format import MAX_TOKEN_LIFETIME
from sagemaker_openai.client.urls import region_from_host

DEFAULT_EXPIRY = timedelta(hours=1)
DEFAULT_REFRESH_MARGIN = 300.0
DEFAULT_ADVISORY_MARGIN = 600.0


class TokenFactory(Protocol):
    """The signature of sagemaker.core.token_generator.generate_token, as BearerTokenAuth calls it."""

    def __call__(
        self, *, region: str, aws_credentials_provider: CredentialProvider, expiry: timedelta
    ) -> str: ...


def sagemaker_generate_token(
    *, region: str, aws_credentials_provider: CredentialProvider, expiry: timedelta
) -> str:
    # Importing sagemaker.core pulls in pandas, numpy and more (seconds): do it at the first mint only.
    from sagemaker.core.token_generator import generate_token  # noqa: PLC0415

    token: str = generate_token(
        region=region, aws_credentials_provider=aws_credentials_provider, expiry=expiry
    )
    return token


class _SnapshotProvider(CredentialProvider):
    """Hands generate_token exactly the snapshot whose lifetime the cache schedules renewal by."""

    METHOD = "sagemaker-openai-snapshot"

    def __init__(self, snapshot: CredentialSnapshot) -> None:
        super().__init__()
        self._snapshot = snapshot

    def load(self) -> Credentials:
        return Credentials(self._snapshot.access_key, self._snapshot.secret_key, self._snapshot.token)


class BearerTokenAuth(httpx.Auth):
    """Sends `Authorization: Bearer <token>`, minting a token once per renewal, not per request.

    The token is renewed `advisory_margin` seconds before it (or the credentials that signed it) expires by
    one caller while others keep using it, and `refresh_margin` seconds before by everyone waiting, on the
    wall clock `clock`. A refusal (401, 403, or a 400 that says the token expired) renews it once and
    resends; a second refusal is returned as it is. A token goes only over HTTPS to SageMaker runtime hosts,
    to loopback hosts, or to the HTTPS hosts named in `allowed_hosts`; any other request raises
    UntrustedHostError before it is sent. Safe to share between threads, asyncio tasks and event loops; the
    token never appears in repr, logs or errors.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        region: str | None = None,
        *,
        expiry: timedelta = DEFAULT_EXPIRY,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        advisory_margin: float = DEFAULT_ADVISORY_MARGIN,
        clock: Callable[[], float] = time.time,
        token_factory: TokenFactory | None = None,
        credentials: CredentialSource | Credentials | None = None,
        session: AwsSession | None = None,
        allowed_hosts: Iterable[str] = (),
        renewal_timeout: float = DEFAULT_RENEWAL_TIMEOUT,
    ) -> None:
        seconds = expiry.total_seconds()
        if not 1 <= seconds <= MAX_TOKEN_LIFETIME.total_seconds() or seconds != int(seconds):
            raise ValueError("expiry must be whole seconds between 1 second and 12 hours.")
        if credentials is not None and session is not None:
            raise ValueError("Provide either credentials or session, not both.")
        self.region = resolve_region(region, session=session)
        self.expiry = expiry
        self.allowed_hosts = normalize_allowed_hosts(allowed_hosts)
        self._clock = clock
        self._token_factory = token_factory or sagemaker_generate_token
        if isinstance(credentials, Credentials):
            self._credentials: CredentialSource = SessionCredentials(credentials)
        else:
            self._credentials = credentials or SessionCredentials(session=session)
        self._tokens = TokenCache(
            self._mint,
            clock=clock,
            refresh_margin=refresh_margin,
            advisory_margin=advisory_margin,
            renewal_timeout=renewal_timeout,
        )
        self._origins_checked: set[tuple[str, str, int | None]] = set()
        protect_library_loggers()

    def __repr__(self) -> str:
        cached = self._tokens.peek()
        state = (
            "none yet" if cached is None else f"<redacted, {cached.expires_at - self._clock():.0f} s left>"
        )
        expiry = f"{self.expiry.total_seconds():.0f} s"
        return f"BearerTokenAuth(region={self.region!r}, expiry={expiry}, token={state})"

    def token(self) -> str:
        """The current token, minting or renewing it if due. It is a credential: do not log or store it."""
        return self._tokens.get().value

    def check_url(self, url: str) -> None:
        """Raise UntrustedHostError (or RegionError) now if requests to `url` would be refused a token."""
        self._check_destination(httpx.URL(url))

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._check_destination(request.url)
        token = self._tokens.get()
        _authorize(request, token)
        response = yield request
        if response.status_code == EXPIRED_TOKEN_STATUS:
            response.read()
        if _refused(response):
            _authorize(request, self._tokens.renew(token))
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._check_destination(request.url)
        token = await self._tokens.get_async()
        _authorize(request, token)
        response = yield request
        if response.status_code == EXPIRED_TOKEN_STATUS:
            await response.aread()
        if _refused(response):
            _authorize(request, await self._tokens.renew_async(token))
            yield request

    def _mint(self) -> MintedToken:
        snapshot = self._credentials.snapshot()
        # Loggers that signing creates (botocore's, at first use) get the redacting filter too.
        protect_library_loggers()
        value = self._token_factory(
            region=self.region,
            aws_credentials_provider=_SnapshotProvider(snapshot),
            expiry=self.expiry,
        )
        lifetime = self.expiry.total_seconds()
        if snapshot.lifetime is not None:
            lifetime = min(lifetime, snapshot.lifetime)
        return MintedToken(value=value, lifetime=lifetime)

    def _check_destination(self, url: httpx.URL) -> None:
        origin = (url.scheme, url.host, url.port)
        if origin in self._origins_checked:
            return
        check_token_destination(str(url), self.allowed_hosts)
        host_region = region_from_host(str(url))
        if host_region is not None and host_region != self.region:
            raise RegionError(
                f"this BearerTokenAuth signs for {self.region} but the request goes to {url.host} "
                f"({host_region}); create it with region={host_region!r}"
            )
        self._origins_checked.add(origin)


def _authorize(request: httpx.Request, token: CachedToken) -> None:
    request.headers["Authorization"] = f"Bearer {token.value}"


def _refused(response: httpx.Response) -> bool:
    if response.status_code in RENEW_ON_STATUS:
        return True
    return response.status_code == EXPIRED_TOKEN_STATUS and says_token_expired(
        response.content[:MAX_REASON_BYTES]
    )
