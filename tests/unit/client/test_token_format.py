"""The token BearerTokenAuth sends is sagemaker.core's presigned CallWithBearerToken URL, as documented."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.token_format import MalformedTokenError, decode_token

from .helpers import FAKE_ACCESS_KEY


def _presigned_url(token: str) -> str:
    assert token.startswith("sagemaker-api-key-")
    return base64.b64decode(token.removeprefix("sagemaker-api-key-"), validate=True).decode()


def test_token_is_a_presigned_call_with_bearer_token_url_for_the_region_and_expiry() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    token = BearerTokenAuth("eu-west-1", expiry=timedelta(minutes=20)).token()
    after = datetime.now(UTC)

    url = _presigned_url(token)
    host_and_path, _, query = url.partition("?")
    assert host_and_path == "sagemaker.amazonaws.com/"
    assert query.endswith("&Version=1")
    params = dict(parse_qsl(query))
    assert params["Action"] == "CallWithBearerToken"
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-SignedHeaders"] == "host"
    assert params["X-Amz-Expires"] == "1200"
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= after
    assert (
        params["X-Amz-Credential"] == f"{FAKE_ACCESS_KEY}/{signed_at:%Y%m%d}/eu-west-1/sagemaker/aws4_request"
    )
    assert "X-Amz-Security-Token" not in params

    decoded = decode_token(token)
    assert (decoded.region, decoded.service, decoded.expires_in) == ("eu-west-1", "sagemaker", 1200)
    assert decoded.expires_at == signed_at + timedelta(minutes=20)


def test_session_token_is_part_of_the_signed_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLESESSION")
    token = BearerTokenAuth("us-east-1").token()
    assert decode_token(token).param("X-Amz-Security-Token") == "FwoGZXIvYXdzEXAMPLESESSION"
    assert decode_token(token).expires_in == 3600  # the default expiry


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bedrock-api-key-abc", "starts with 'sagemaker-api-key-'"),
        ("sagemaker-api-key-%%%", "not base64"),
        ("sagemaker-api-key-" + base64.b64encode(b"no query here").decode(), "does not hold a presigned URL"),
        (
            "sagemaker-api-key-"
            + base64.b64encode(b"sagemaker.amazonaws.com/?Action=CallWithBearerToken").decode(),
            "no Version=1",
        ),
        (
            "sagemaker-api-key-"
            + base64.b64encode(b"sagemaker.amazonaws.com/?Action=CallWithBearerToken&Version=1").decode(),
            "lacks X-Amz-Algorithm",
        ),
    ],
)
def test_malformed_tokens_are_rejected_without_quoting_them(text: str, reason: str) -> None:
    with pytest.raises(MalformedTokenError, match=reason) as raised:
        decode_token(text)
    assert text not in str(raised.value)


def test_decoded_token_repr_hides_what_would_rebuild_the_token(real_auth: BearerTokenAuth) -> None:
    token = real_auth.token()
    decoded = decode_token(token)
    assert decoded.signature not in repr(decoded)
    assert FAKE_ACCESS_KEY not in repr(decoded)
    assert "us-east-1" in repr(decoded)
