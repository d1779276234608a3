"""Verifies SageMaker bearer tokens the way the runtime does: SigV4 signature, region, expiry.

The token presigns POST https://sagemaker.amazonaws.com/?Action=CallWithBearerToken. Verification rebuilds
the canonical request (query sorted and kept URL-encoded, header `host`, SHA-256 of the empty body), signs it
with the secret key of the access key the token names, and compares. Each distinct token is verified once
and remembered until the earlier of its expiry and the end of the credentials it was checked against.

A malformed token (not base64 of a presigned URL, a signature that is not hex) is a bad request (400);
other refusals are 401 (no usable token, expired) or 403 (not signed by the accepted credentials).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sagemaker_openai.client.credentials import CredentialSnapshot, CredentialSource, utc_now
from sagemaker_openai.client.token_format import (
    MAX_TOKEN_LIFETIME,
    SIGNING_HOST,
    SIGNING_SERVICE,
    TOKEN_PREFIX,
    DecodedToken,
    MalformedTokenError,
    decode_token,
)

_EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
_CLOCK_SKEW = timedelta(minutes=5)
_PRUNE_AT = 4096


class TokenRejected(Exception):
    """The request may not proceed: `status` is 400 (malformed token), 401 (no usable token) or 403 (token
    not accepted); `malformed` marks the 400s, which are bad requests rather than refusals."""

    def __init__(self, status: int, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.malformed = malformed


class TokenVerifier:
    """Accepts tokens signed by `credentials` (the server's own) for `region` that have not expired."""

    def __init__(
        self,
        credentials: CredentialSource,
        *,
        region: str,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._credentials = credentials
        self._region = region
        self._now = now
        self._accepted: dict[bytes, datetime] = {}
        self._lock = threading.Lock()

    def verify(self, authorization: str | None) -> None:
        """Return when the Authorization header carries a valid token; raise TokenRejected otherwise."""
        token = _bearer_token(authorization)
        # Keyed by digest so the cache never holds a usable credential.
        key = hashlib.sha256(token.encode()).digest()
        now = self._now()
        expires_at = self._accepted.get(key)
        if expires_at is not None and now < expires_at:
            return
        decoded, credentials = self._verified(token, now)
        remember_until = decoded.expires_at
        if credentials.lifetime is not None:
            remember_until = min(remember_until, now + timedelta(seconds=credentials.lifetime))
        with self._lock:
            if len(self._accepted) >= _PRUNE_AT:
                self._accepted = {k: v for k, v in self._accepted.items() if v > now}
            self._accepted[key] = remember_until

    def _verified(self, token: str, now: datetime) -> tuple[DecodedToken, CredentialSnapshot]:
        try:
            decoded = decode_token(token)
        except MalformedTokenError as exc:
            raise TokenRejected(400, f"Malformed bearer token: {exc}.", malformed=True) from None
        if decoded.host != SIGNING_HOST or decoded.service != SIGNING_SERVICE:
            raise TokenRejected(403, "The bearer token is not signed for SageMaker.")
        if decoded.region != self._region:
            raise TokenRejected(
                403, f"The bearer token is signed for {decoded.region}; this endpoint is in {self._region}."
            )
        if (
            decoded.param("X-Amz-SignedHeaders") != "host"
            or decoded.scope_date != f"{decoded.signed_at:%Y%m%d}"
        ):
            raise TokenRejected(
                400, "Malformed bearer token: unexpected signed headers or credential date.", malformed=True
            )
        credentials = self._credentials.snapshot()
        if decoded.access_key_id != credentials.access_key or decoded.param("X-Amz-Security-Token") != (
            credentials.token or None
        ):
            raise TokenRejected(
                403, "The bearer token was signed with credentials this runtime does not accept."
            )
        if not hmac.compare_digest(decoded.signature, _signature(decoded, credentials.secret_key)):
            raise TokenRejected(403, "The bearer token's signature does not match.")
        if not 0 < decoded.expires_in <= MAX_TOKEN_LIFETIME.total_seconds():
            raise TokenRejected(401, "The bearer token's lifetime must be between 1 second and 12 hours.")
        if now >= decoded.expires_at:
            raise TokenRejected(401, f"The bearer token expired at {decoded.expires_at:%Y-%m-%dT%H:%M:%SZ}.")
        if decoded.signed_at > now + _CLOCK_SKEW:
            raise TokenRejected(401, "The bearer token is signed in the future; check the client's clock.")
        return decoded, credentials


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise TokenRejected(401, "Missing bearer token: send Authorization: Bearer <token>.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRejected(401, "Missing bearer token: send Authorization: Bearer <token>.")
    if not token.startswith(TOKEN_PREFIX):
        raise TokenRejected(401, f"Malformed bearer token: a SageMaker token starts with {TOKEN_PREFIX!r}.")
    return token


def _signature(decoded: DecodedToken, secret_key: str) -> str:
    query = "&".join(
        f"{name}={value}" for name, value in sorted(decoded.raw_query) if name != "X-Amz-Signature"
    )
    canonical_request = "\n".join(
        ["POST", "/", query, f"host:{decoded.host}", "", "host", _EMPTY_BODY_SHA256]
    )
    scope = f"{decoded.scope_date}/{decoded.region}/{decoded.service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            decoded.param("X-Amz-Date") or "",
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (decoded.scope_date, decoded.region, decoded.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
