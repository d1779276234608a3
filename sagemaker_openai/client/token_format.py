"""The SageMaker bearer token format: "sagemaker-api-key-" + base64 of a SigV4-presigned URL.

The URL presigns POST https://sagemaker.amazonaws.com/?Action=CallWithBearerToken for service "sagemaker";
"&Version=1" is appended after signing, so it is not part of the signature.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

TOKEN_PREFIX = "sagemaker-api-key-"  # noqa: S105 - a format marker, not a secret
SIGNING_HOST = "sagemaker.amazonaws.com"
SIGNING_SERVICE = "sagemaker"
TOKEN_ACTION = "CallWithBearerToken"  # noqa: S105 - an API action name
MAX_TOKEN_LIFETIME = timedelta(hours=12)
_VERSION_PARAM = "Version"
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class MalformedTokenError(ValueError):
    """The text is not a SageMaker bearer token (the message never quotes the token)."""


@dataclass(frozen=True)
class DecodedToken:
    """The presigned URL inside a token. Everything needed to rebuild the token is hidden from repr."""

    host: str
    # Query parameters as (name, value) still URL-encoded, in token order, without the unsigned Version.
    raw_query: tuple[tuple[str, str], ...] = field(repr=False)
    access_key_id: str = field(repr=False)
    scope_date: str
    region: str
    service: str
    signed_at: datetime
    expires_in: int
    signature: str = field(repr=False)

    @property
    def expires_at(self) -> datetime:
        return self.signed_at + timedelta(seconds=self.expires_in)

    def param(self, name: str) -> str | None:
        """A query parameter's decoded value (None when absent)."""
        for key, value in self.raw_query:
            if unquote(key) == name:
                return unquote(value)
        return None


def decode_token(token: str) -> DecodedToken:
    """Decode and structurally check a token; the signature is not verified here."""
    if not token.startswith(TOKEN_PREFIX):
        raise MalformedTokenError(f"a SageMaker bearer token starts with {TOKEN_PREFIX!r}")
    try:
        url = base64.b64decode(token[len(TOKEN_PREFIX) :], validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text (UnicodeDecodeError is one too)
        raise MalformedTokenError("the token is not base64 of a presigned URL") from None
    host, separator, query = url.partition("/?")
    if not separator or not query:
        raise MalformedTokenError("the token does not hold a presigned URL")
    pairs = tuple(_split_pair(item) for item in query.split("&"))
    versions = [value for key, value in pairs if key == _VERSION_PARAM]
    if versions != ["1"]:
        raise MalformedTokenError("the token has no Version=1 (or an unknown version)")
    signed = tuple(pair for pair in pairs if pair[0] != _VERSION_PARAM)
    values = {unquote(key): unquote(value) for key, value in signed}
    if len(values) != len(signed):
        raise MalformedTokenError("the token repeats a query parameter")
    required = (
        "Action",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    )
    missing = [name for name in required if name not in values]
    if missing:
        raise MalformedTokenError(f"the token lacks {', '.join(missing)}")
    if values["Action"] != TOKEN_ACTION or values["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise MalformedTokenError(f"the token does not presign {TOKEN_ACTION} with AWS4-HMAC-SHA256")
    if not _SIGNATURE.fullmatch(values["X-Amz-Signature"]):
        raise MalformedTokenError("the token's X-Amz-Signature is not 64 lowercase hex digits")
    scope = values["X-Amz-Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise MalformedTokenError("the token's credential scope is not key/date/region/service/aws4_request")
    try:
        signed_at = datetime.strptime(values["X-Amz-Date"], _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        expires_in = int(values["X-Amz-Expires"])
    except ValueError:
        raise MalformedTokenError("the token's X-Amz-Date or X-Amz-Expires is not valid") from None
    return DecodedToken(
        host=host,
        raw_query=signed,
        access_key_id=scope[0],
        scope_date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_at=signed_at,
        expires_in=expires_in,
        signature=values["X-Amz-Signature"],
    )


def _split_pair(item: str) -> tuple[str, str]:
    key, separator, value = item.partition("=")
    if not separator or not key:
        raise MalformedTokenError("the token's query string is not name=value pairs")
    return key, value
