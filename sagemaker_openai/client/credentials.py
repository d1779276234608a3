"""Where signing credentials come from, and how long the snapshot used for one token stays valid."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import botocore.exceptions
import botocore.session
from botocore.credentials import Credentials

from sagemaker_openai.client.errors import CredentialsError
from sagemaker_openai.client.region import AwsSession, profile_not_found

_NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE (then `aws sso login` if it uses SSO), "
    "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached"
)


@dataclass(frozen=True)
class CredentialSnapshot:
    """One consistent key set, and for how many seconds from now it stays valid (None: no known expiry)."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(repr=False)
    lifetime: float | None


class CredentialSource(Protocol):
    """Gives a consistent snapshot of the signing credentials; may block (credential chains do I/O)."""

    def snapshot(self) -> CredentialSnapshot: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class SessionCredentials:
    """Credentials resolved once from a botocore/boto3 session (or given), refreshed by botocore itself.

    botocore's RefreshableCredentials refresh in their advisory/mandatory windows when frozen; their expiry
    is private (`_expiry_time`), read here so a token is renewed before the keys that signed it expire.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        session: AwsSession | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        if credentials is not None and session is not None:
            raise ValueError("Provide either credentials or session, not both.")
        self._credentials = credentials
        self._session = session
        self._now = now
        self._resolve_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(resolved={self._credentials is not None})"

    def snapshot(self) -> CredentialSnapshot:
        credentials = self._resolved()
        try:
            # Freeze, read the expiry, freeze again: equal snapshots mean the expiry belongs to these keys
            # (a refresh from another thread could land between the two reads).
            for _ in range(3):
                frozen = credentials.get_frozen_credentials()
                expiry = getattr(credentials, "_expiry_time", None)
                if credentials.get_frozen_credentials() == frozen:
                    break
        # botocore raises RuntimeError when refreshed credentials are still expired.
        except (botocore.exceptions.BotoCoreError, RuntimeError) as exc:
            raise CredentialsError(
                f"could not refresh the AWS credentials ({exc}); "
                "refresh them (for SSO: `aws sso login`) and retry"
            ) from None
        lifetime = (expiry - self._now()).total_seconds() if isinstance(expiry, datetime) else None
        if lifetime is not None and lifetime <= 0:
            raise CredentialsError(
                f"the AWS credentials expired at {expiry:%Y-%m-%d %H:%M:%S %Z}; "
                "refresh them (for SSO: `aws sso login`) and retry"
            )
        if not frozen.access_key or not frozen.secret_key:
            raise CredentialsError(f"the AWS credentials lack an access key or secret key; {_NO_CREDENTIALS}")
        return CredentialSnapshot(
            access_key=frozen.access_key, secret_key=frozen.secret_key, token=frozen.token, lifetime=lifetime
        )

    def _resolved(self) -> Credentials:
        if self._credentials is not None:
            return self._credentials
        with self._resolve_lock:
            if self._credentials is None:
                self._credentials = self._resolve()
            return self._credentials

    def _resolve(self) -> Credentials:
        session = self._session if self._session is not None else botocore.session.Session()
        try:
            credentials = session.get_credentials()
        except botocore.exceptions.ProfileNotFound as exc:
            raise profile_not_found(exc) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise CredentialsError(f"{_NO_CREDENTIALS} ({exc})") from None
        if credentials is None:
            raise CredentialsError(_NO_CREDENTIALS)
        return credentials
