"""Keeps credentials out of anything printed or logged: bearer tokens, SigV4 signatures, session tokens, keys.

A server may echo the Authorization header back in an error body, botocore logs signed requests at DEBUG,
and a terminal or log shipper may wrap a long token over several lines; `redact` handles all three. The
Hugging Face user access tokens (``hf_...``) that stage-weights uses are replaced too.
"""

from __future__ import annotations

import base64
import binascii
import re

from sagemaker_openai.client.token_format import TOKEN_PREFIX

REDACTED = "<redacted>"
REDACTED_TOKEN = f"{TOKEN_PREFIX}{REDACTED}"

# A line break inside a wrapped token: a real one, or the escaped one of a repr or a JSON string.
_BREAK = r"[ \t]*(?:\r?\n|(?:\\r)?\\n)[ \t]*"
_PREFIX = re.compile(f"(?:{_BREAK})?".join(re.escape(char) for char in TOKEN_PREFIX))
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]+")
_BREAK_THEN_RUN = re.compile(f"{_BREAK}([A-Za-z0-9+/=]+)")
# A wrapped token spans at most this many lines (a 12-hour token with a session token is about 3 KiB).
_MAX_PIECES = 128

# URL credentials, and signed-request material: SigV4 signatures (query or Authorization header), session
# tokens in a query, a header dict or a canonical request, and keys in credential-provider responses (STS,
# SSO, IMDS).
_SECRETS = (
    # user:password@ in a URL (an upstream's credentials, in httpx's request log for example).
    # Hugging Face user access tokens (stage-weights).
    re.compile(r"\b(hf_)[A-Za-z0-9]{30,}"),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s:@'\"]+:[^/\s@'\"]+(?=@)"),
    re.compile(r"(?i)(\bX-Amz-Signature=)[^&\s'\"]+"),
    re.compile(r"(?i)(\bSignature(?:=|:\s*))[0-9a-f]+"),
    re.compile(r"(?i)(\bX-Amz-Security-Token(?:['\"]?\s*[:=]\s*b?['\"]?))(?!b['\"])[^&\s'\",}<]+"),
    re.compile(
        r"(?i)((?:secret_?access_?key|session_?token|aws_session_token|\bToken)"
        r"(?:['\"]?\s*[:=>]\s*b?['\"]?))(?!b['\"])[^'\"<\s,}&]+"
    ),
)


def redact(text: str) -> str:
    """`text` with every bearer token, SigV4 signature, session token and secret key replaced."""
    text = _redact_tokens(text)
    for pattern in _SECRETS:
        text = pattern.sub(rf"\1{REDACTED}", text)
    return text


def _redact_tokens(text: str) -> str:
    pieces: list[str] = []
    position = 0
    while (prefix := _PREFIX.search(text, position)) is not None:
        end = _token_end(text, prefix.end())
        pieces.append(text[position : prefix.start()])
        pieces.append(REDACTED_TOKEN)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _token_end(text: str, start: int) -> int:
    """Where the token whose base64 starts at `start` ends, following it across line breaks.

    A token's base64 decodes to a presigned URL ending in Version=1; the pieces after line breaks are taken
    only up to the piece that completes it, so the text after an unwrapped token is left alone. A cut-off
    token loses its first piece only.
    """
    first = _BASE64_RUN.match(text, start)
    if first is None:
        return start
    ends = [first.end()]
    collected = first.group()
    candidate = ends[0]
    if _is_whole_token(collected):
        return candidate
    for _ in range(_MAX_PIECES):
        following = _BREAK_THEN_RUN.match(text, ends[-1])
        if following is None:
            break
        collected += following.group(1)
        ends.append(following.end())
        if _is_whole_token(collected):
            return following.end()
    return candidate


def _is_whole_token(encoded: str) -> bool:
    if len(encoded) % 4:
        return False
    try:
        return base64.b64decode(encoded, validate=True).endswith(b"&Version=1")
    except (binascii.Error, ValueError):
        return False
