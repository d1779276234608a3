"""The local runtime's token check: signature, signer, region, expiry; each token verified once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from botocore.credentials import Credentials

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import CredentialSnapshot, SessionCredentials
from sagemaker_openai.client.token_format import decode_token
from sagemaker_openai.servers.local_runtime.token_verifier import TokenRejected, TokenVerifier

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION, presigned_token


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


def test_a_token_of_another_kind_is_401() -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), "Bearer sk-openai-key")
    assert (rejection.status, rejection.malformed) == (401, False)
    assert rejection.message == "Malformed bearer token: a SageMaker token starts with 'sagemaker-api-key-'."


def _with_signature(token: str, signature: str) -> str:
    url = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    head = url.partition("X-Amz-Signature=")[0]
    return (
        "sagemaker-api-key-"
        + base64.b64encode(f"{head}X-Amz-Signature={signature}&Version=1".encode()).decode()
    )


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("sagemaker-api-key-!!!", "the token is not base64 of a presigned URL"),
        ("sagemaker-api-key-é2Fn", "the token is not base64 of a presigned URL"),
        (
            "sagemaker-api-key-"
            + base64.b64encode(b"sagemaker.amazonaws.com/?Action=CallWithBearerToken").decode(),
            "the token has no Version=1 (or an unknown version)",
        ),
        (_with_signature(_token(), "z" * 64), "the token's X-Amz-Signature is not 64 lowercase hex digits"),
        (_with_signature(_token(), "é" * 64), "the token's X-Amz-Signature is not 64 lowercase hex digits"),
    ],
)
def test_malformed_token_is_a_bad_request(token: str, reason: str) -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {token}")
    assert (rejection.status, rejection.malformed) == (400, True)
    assert rejection.message == f"Malformed bearer token: {reason}."
    assert token.removeprefix("sagemaker-api-key-") not in rejection.message


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


def test_the_presigning_helper_makes_tokens_the_verifier_accepts() -> None:
    TokenVerifier(SwappableKeys(), region=REGION).verify(f"Bearer {presigned_token()}")


def test_a_session_token_that_matches_is_accepted() -> None:
    keys = SwappableKeys()
    keys.token = "runtime-session"
    signed = BearerTokenAuth(
        REGION, credentials=Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, "runtime-session")
    ).token()
    assert decode_token(signed).param("X-Amz-Security-Token") == "runtime-session"
    TokenVerifier(keys, region=REGION).verify(f"Bearer {signed}")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(presigned_token(host="bedrock.amazonaws.com"), id="host"),
        pytest.param(presigned_token(service="bedrock"), id="service"),
    ],
)
def test_a_token_for_another_host_or_service_is_403(token: str) -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {token}")
    assert (rejection.status, rejection.message) == (403, "The bearer token is not signed for SageMaker.")


def test_a_lifetime_over_12_hours_is_401() -> None:
    token = presigned_token(expires=43201)
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {token}")
    assert (rejection.status, rejection.message) == (
        401,
        "The bearer token's lifetime must be between 1 second and 12 hours.",
    )


def _with_scope_date(token: str, date: str) -> str:
    url = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    scope_date = decode_token(token).scope_date
    url = url.replace(f"%2F{scope_date}%2F", f"%2F{date}%2F")
    return "sagemaker-api-key-" + base64.b64encode(url.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(presigned_token(extra_headers={"x-extra": "1"}), id="signed-headers"),
        pytest.param(_with_scope_date(_token(), "20200101"), id="scope-date"),
    ],
)
def test_signed_headers_or_scope_date_mismatch_is_a_bad_request(token: str) -> None:
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {token}")
    assert (rejection.status, rejection.malformed, rejection.message) == (
        400,
        True,
        "Malformed bearer token: unexpected signed headers or credential date.",
    )


def test_a_token_signed_in_the_future_is_401() -> None:
    token = presigned_token(signed_at=datetime.now(UTC) + timedelta(minutes=10))
    rejection = _rejection(TokenVerifier(SwappableKeys(), region=REGION), f"Bearer {token}")
    assert (rejection.status, rejection.message) == (
        401,
        "The bearer token is signed in the future; check the client's clock.",
    )


def test_a_remembered_token_lasts_no_longer_than_the_credentials_it_was_checked_against() -> None:
    now = [datetime.now(UTC)]

    class ShortLivedKeys(SwappableKeys):
        def snapshot(self) -> CredentialSnapshot:
            return CredentialSnapshot(self.access_key, self.secret_key, None, 60.0)

    keys = ShortLivedKeys()
    verifier = TokenVerifier(keys, region=REGION, now=lambda: now[0])
    token = _token(expiry=timedelta(minutes=15))
    verifier.verify(f"Bearer {token}")
    keys.access_key, keys.secret_key = "AKIAROTATEDEXAMPLE00", "rotated"
    now[0] += timedelta(seconds=59)
    verifier.verify(f"Bearer {token}")  # remembered while the keys that accepted it last
    now[0] += timedelta(seconds=2)
    assert _rejection(verifier, f"Bearer {token}").status == 403  # checked again, against the new keys


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
