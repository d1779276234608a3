"""The local runtime's token check: signature, signer, region, expiry; each token verified once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import CredentialSnapshot, SessionCredentials
from sagemaker_openai.client.local_runtime.token_verifier import TokenRejected, TokenVerifier
from sagemaker_openai.client.token_format import decode_token

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION


class SwappableKeys:
    def __init__(self, access_key: str = FAKE_ACCESS_KEY, secret_key: str = FAKE_SECRET_KEY) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token: str | None = None

    def snapshot(self) -> CredentialSnapshot:
        return CredentialSnapshot(self.access_key, self.secret_key, self.token, None)


def _token(region: str = REGION, expiry: timedelta = timedelta(minutes=15), **keys: str) -> str:
    credentials = SwappableKeys(**keys)
    return BearerTokenAuth(region, expiry=expiry, credentials=credentials).token()


def _rejection(verifier: TokenVerifier, header: str | None) -> TokenRejected:
    with pytest.raises(TokenRejected) as raised:
        verifier.verify(header)
    return raised.value


def test_accepts_a_token_from_generate_token() -> None:
    TokenVerifier(SessionCredentials(), region=REGION).verify(f"Bearer {_token()}")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "bearer"])
def test_missing_token_is_401(header: str | None) -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), header)
    assert (rejection.status, rejection.message) == (
        401,
        "Missing bearer token: send Authorization: Bearer <token>.",
    )


@pytest.mark.parametrize(
    "token",
    [
        "sk-openai-key",
        "sagemaker-api-key-!!!",
        "sagemaker-api-key-"
        + base64.b64encode(b"sagemaker.amazonaws.com/?Action=CallWithBearerToken").decode(),
    ],
)
def test_malformed_token_is_401(token: str) -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {token}")
    assert rejection.status == 401
    assert rejection.message.startswith("Malformed bearer token")
    assert token not in rejection.message


def test_token_signed_by_other_keys_is_403() -> None:
    verifier = TokenVerifier(SwappableKeys(), region=REGION)
    other_signer = _token(access_key="AKIAOTHEREXAMPLE0000", secret_key="other-secret")
    rejection = _rejection(verifier, f"Bearer {other_signer}")
    assert (rejection.status, rejection.message) == (
        403,
        "The bearer token was signed with credentials this runtime does not accept.",
    )


def test_token_signed_with_a_wrong_secret_is_403() -> None:
    verifier = TokenVerifier(SwappableKeys(), region=REGION)
    forged = _token(secret_key="not-the-secret")  # right access key id, wrong secret
    rejection = _rejection(verifier, f"Bearer {forged}")
    assert (rejection.status, rejection.message) == (403, "The bearer token's signature does not match.")


def test_tampered_expiry_breaks_the_signature() -> None:
    token = _token()
    url = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    tampered = url.replace("X-Amz-Expires=900", "X-Amz-Expires=43200")
    forged = "sagemaker-api-key-" + base64.b64encode(tampered.encode()).decode()
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {forged}")
    assert (rejection.status, rejection.message) == (403, "The bearer token's signature does not match.")


def test_token_for_another_region_is_403() -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {_token('eu-west-1')}")
    assert (rejection.status, rejection.message) == (
        403,
        "The bearer token is signed for eu-west-1; this endpoint is in us-east-1.",
    )


def test_session_token_must_match_the_runtimes() -> None:
    keys = SwappableKeys()
    keys.token = "runtime-session"
    rejection = _rejection(TokenVerifier(keys, region=REGION), f"Bearer {_token()}")
    assert rejection.status == 403


def test_expired_token_is_401() -> None:
    token = _token(expiry=timedelta(seconds=60))
    expires_at = decode_token(token).expires_at
    verifier = TokenVerifier(SwappableKeys(), region=REGION, now=lambda: expires_at)
    rejection = _rejection(verifier, f"Bearer {token}")
    assert (rejection.status, rejection.message) == (
        401,
        f"The bearer token expired at {expires_at:%Y-%m-%dT%H:%M:%SZ}.",
    )


def test_token_from_the_future_is_401() -> None:
    token = _token()
    verifier = TokenVerifier(
        SwappableKeys(), region=REGION, now=lambda: datetime.now(UTC) - timedelta(minutes=6)
    )
    assert _rejection(verifier, f"Bearer {token}").status == 401


def test_each_token_is_verified_once_and_remembered_until_it_expires() -> None:
    keys = SwappableKeys()
    now = [datetime.now(UTC)]
    verifier = TokenVerifier(keys, region=REGION, now=lambda: now[0])
    token = _token(expiry=timedelta(minutes=5))
    verifier.verify(f"Bearer {token}")
    # Rotate the runtime's keys: a remembered token needs no second verification...
    keys.access_key, keys.secret_key = "AKIAROTATEDEXAMPLE00", "rotated"
    verifier.verify(f"Bearer {token}")
    # ...while a token it has not seen is checked against the new keys.
    assert _rejection(verifier, f"Bearer {_token()}").status == 403
    # Once expired, the remembered token is checked again, and refused as expired.
    keys.access_key, keys.secret_key = FAKE_ACCESS_KEY, FAKE_SECRET_KEY
    now[0] = decode_token(token).expires_at
    assert _rejection(verifier, f"Bearer {token}").message.startswith("The bearer token expired at")
