"""A cached bearer token renewed before it expires, with one signing per renewal across threads and tasks.

Renewal follows botocore's refreshable credentials: inside the advisory window one caller renews while the
others keep using the current token (a failure is only logged); inside the mandatory window every caller
waits for the renewal (a failure raises). Minting never runs on an event loop: async callers hand it to a
worker thread, and the threading lock makes sync and async callers share one signing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from sagemaker_openai.client.errors import CredentialsError

log = logging.getLogger(__name__)

DEFAULT_RENEWAL_TIMEOUT = 60.0


@dataclass(frozen=True)
class MintedToken:
    """A new token and how many seconds it is usable: min(token expiry, signing credentials' lifetime)."""

    value: str = field(repr=False)
    lifetime: float


@dataclass(frozen=True)
class CachedToken:
    """A token with the clock readings at which to renew it: opportunistically, then compulsorily."""

    value: str = field(repr=False)
    advisory_at: float
    mandatory_at: float
    expires_at: float


class TokenCache:
    """Holds one token; `get` and `get_async` renew it at most once per window, `renew` after a 401."""

    def __init__(
        self,
        mint: Callable[[], MintedToken],
        *,
        clock: Callable[[], float],
        refresh_margin: float,
        advisory_margin: float,
        renewal_timeout: float = DEFAULT_RENEWAL_TIMEOUT,
    ) -> None:
        if refresh_margin < 0 or advisory_margin < refresh_margin:
            raise ValueError("Provide 0 <= refresh_margin <= advisory_margin.")
        if renewal_timeout <= 0:
            raise ValueError("renewal_timeout must be a positive number of seconds.")
        self._mint = mint
        self._renewal_timeout = renewal_timeout
        # A signing that outlived its wait: (clock reading at its start, its result to come).
        self._pending: tuple[float, Future[MintedToken]] | None = None
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._advisory_margin = advisory_margin
        self._token: CachedToken | None = None
        self._lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_locks_guard = threading.Lock()

    def peek(self) -> CachedToken | None:
        return self._token

    def get(self) -> CachedToken:
        token = self._token
        if token is None:
            return self.renew(None)
        now = self._clock()
        if now < token.advisory_at:
            return token
        if now < token.mandatory_at:
            return self._renew_if_free(token)
        return self.renew(token)

    async def get_async(self) -> CachedToken:
        token = self._token
        now = self._clock()
        if token is not None and now < token.advisory_at:
            return token
        lock = self._loop_lock()
        if token is not None and now < token.mandatory_at:
            if lock.locked():
                return token
            async with lock:
                return await asyncio.to_thread(self._renew_if_free, token)
        async with lock:
            current = self._token
            if current is not None and current is not token and self._clock() < current.mandatory_at:
                return current
            return await asyncio.to_thread(self.renew, token)

    def renew(self, stale: CachedToken | None) -> CachedToken:
        """Replace `stale` (blocking); a token someone else minted meanwhile is reused, not re-minted."""
        if not self._lock.acquire(timeout=self._renewal_timeout):
            raise self._timed_out()
        try:
            current = self._token
            if current is not None and current is not stale and self._clock() < current.mandatory_at:
                return current
            self._token = self._mint_cached()
            return self._token
        finally:
            self._lock.release()

    async def renew_async(self, stale: CachedToken | None) -> CachedToken:
        async with self._loop_lock():
            return await asyncio.to_thread(self.renew, stale)

    def _renew_if_free(self, seen: CachedToken) -> CachedToken:
        """Advisory window: renew unless another caller already is; on failure keep the current token."""
        if not self._lock.acquire(blocking=False):
            return seen
        try:
            if self._token is not seen and self._token is not None:
                return self._token
            try:
                self._token = self._mint_cached()
            except Exception as exc:
                log.warning(
                    "renewing the SageMaker bearer token failed (%s: %s); the current one stays in use",
                    type(exc).__name__,
                    exc,
                )
                return seen
            return self._token
        finally:
            self._lock.release()

    def _mint_cached(self) -> CachedToken:
        """Sign (under the lock), waiting at most renewal_timeout; a signing left over from a timed-out
        wait is waited for instead of starting another."""
        if self._pending is None:
            # Read the clock before signing: the token's lifetime starts at signing, not when it returns.
            future: Future[MintedToken] = Future()
            self._pending = (self._clock(), future)
            threading.Thread(
                target=_run, args=(self._mint, future), name="sagemaker-openai-token", daemon=True
            ).start()
        now, future = self._pending
        try:
            minted = future.result(timeout=self._renewal_timeout)
        except FutureTimeout:
            raise self._timed_out() from None
        finally:
            if future.done():
                self._pending = None
        lifetime = minted.lifetime
        # Short-lived tokens (or keys) would sit inside the margins from birth; cap each margin at half
        # the lifetime so a fresh token is always used for a while.
        mandatory = lifetime - min(self._refresh_margin, lifetime / 2)
        advisory = lifetime - min(self._advisory_margin, lifetime / 2)
        log.debug("minted a SageMaker bearer token usable for %.0f s", lifetime)
        return CachedToken(
            value=minted.value,
            advisory_at=now + advisory,
            mandatory_at=now + mandatory,
            expires_at=now + lifetime,
        )

    def _timed_out(self) -> CredentialsError:
        return CredentialsError(
            f"signing a SageMaker bearer token took more than {self._renewal_timeout:g} s: "
            "the AWS credential provider (SSO, instance metadata, STS or a credential_process) did not "
            "answer; check it with `aws sts get-caller-identity` and retry"
        )

    def _loop_lock(self) -> asyncio.Lock:
        # asyncio.Lock binds to one event loop; keep one per loop so a shared auth works under any loop.
        loop = asyncio.get_running_loop()
        with self._loop_locks_guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock


def _run(mint: Callable[[], MintedToken], future: Future[MintedToken]) -> None:
    try:
        future.set_result(mint())
    except BaseException as exc:
        future.set_exception(exc)
