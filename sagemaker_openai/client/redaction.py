"""Keeps credentials out of anything printed or logged: bearer tokens, SigV4 signatures, session tokens, keys.

A server may echo the Authorization header back in an error body, botocore logs signed requests at DEBUG,
and a terminal or log shipper may wrap a long token over several lines; `redact` handles all three. The
Hugging Face user access tokens (``hf_...``) that stage-weights uses are replaced too, and so are the SSO
and web-identity secrets that botocore logs while it fetches credentials (the SSO bearer header, the SSO OIDC
access, refresh and ID tokens and client secret, and the OIDC token of AssumeRoleWithWebIdentity).

`redact` runs on the proxy's event loop and on every debug record, so it must stay linear in the length of
its input: every pattern starts at a literal or at the start of a run (a lookbehind), uses possessive runs
that never backtrack, and a wrapped token is followed for a bounded number of pieces and characters.
"""

from __future__ import annotations

import base64
import binascii
import re

from sagemaker_openai.client.token_format import TOKEN_PREFIX

REDACTED = "<redacted>"
REDACTED_TOKEN = f"{TOKEN_PREFIX}{REDACTED}"

# A line break inside a wrapped token: a real one, or the escaped one of a repr or a JSON string.
_BREAK = r"[ \t]*+(?:\r?\n|(?:\\r)?\\n)[ \t]*+"
_PREFIX = re.compile(f"(?:{_BREAK})?".join(re.escape(char) for char in TOKEN_PREFIX))
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]++")
_BREAK_THEN_RUN = re.compile(f"{_BREAK}([A-Za-z0-9+/=]++)")
# A wrapped token spans at most this many lines and characters (a 12-hour token with a session token is
# about 3 KiB); the bounds keep a long run of base64-like text from being decoded again at each line.
_MAX_PIECES = 128
_MAX_TOKEN_CHARS = 16 * 1024
# A token's base64 decodes to a presigned URL ending in this; 16 base64 characters decode to 12 bytes.
_TOKEN_END = b"&Version=1"
_TAIL_CHARS = 16

# The name of a credential, then its separator (JSON, a Python dict or bytes repr, a header, a query or
# form body, or an XML tag): "sessionToken": "…", 'x-amz-sso_bearer_token': b'…', WebIdentityToken=…,
# <SecretAccessKey>…. The value runs to a quote, '<', whitespace, ',', '}' or '&'. Names are matched on the
# text with ASCII letters lowered (see `_folded`); a boundary check follows its literal, as a lookbehind.
_CREDENTIAL_NAMES = "|".join(
    (
        r"secret_?access_?key",  # STS, SSO GetRoleCredentials, IMDS
        r"session_?token",  # the same, and AWS_SESSION_TOKEN
        r"token(?<!\wtoken)",  # IMDS and container credentials
        r"x-amz-sso_bearer_token",  # the SSO portal's bearer header (GetRoleCredentials)
        r"access_?token",  # SSO OIDC CreateToken, and GetRoleCredentials' parameter
        r"refresh_?token",  # SSO OIDC CreateToken (request and response)
        r"id_?token(?<![a-z]id_token)(?<![a-z]idtoken)",  # SSO OIDC CreateToken; not "valid_token"
        r"client_?secret",  # SSO OIDC RegisterClient (response) and CreateToken (request)
        # AssumeRoleWithWebIdentity (the parameter, and the config key); not SubjectFromWebIdentityToken.
        r"webidentitytoken(?<![a-z]webidentitytoken)",
        r"web_identity_token(?<![a-z]web_identity_token)",
    )
)
_SEPARATOR = r"['\"]?+\s*+[:=>]\s*+b?['\"]?"
_NOT_BYTES_QUOTE = r"(?!b['\"])"

# Each pattern's group 1 is the secret. Patterns start with a literal where they can (the regex engine then
# skips ahead to it) and use possessive runs, which never backtrack.
_ON_TEXT = (
    # Hugging Face user access tokens (stage-weights).
    re.compile(r"hf_(?<!\whf_)([A-Za-z0-9]{30,}+)"),
    # user:password@ in a URL (an upstream's credentials, in httpx's request log for example).
    re.compile(r"://(?<=[A-Za-z0-9+.-]://)([^/\s:@'\"]++:[^/\s@'\"]++)@"),
)
_ON_FOLDED = (
    # SigV4 signatures in a presigned URL, a header or a canonical request's log.
    re.compile(r"x-amz-signature=(?<!\wx-amz-signature=)([^&\s'\"]++)"),
    re.compile(r"signature(?<!\wsignature)(?:=|:\s*+)([0-9a-f]++)"),
    # Session tokens in a query, a header dict or a canonical request.
    re.compile(
        r"x-amz-security-token(?<!\wx-amz-security-token)"
        + _SEPARATOR
        + _NOT_BYTES_QUOTE
        + r"([^&\s'\",}<]++)"
    ),
    re.compile(f"(?:{_CREDENTIAL_NAMES}){_SEPARATOR}{_NOT_BYTES_QUOTE}" + r"([^'\"<\s,}&]++)"),
)
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def redact(text: str) -> str:
    """`text` with every bearer token, SigV4 signature, session token and secret key replaced."""
    text = _redact_tokens(text)
    folded = _folded(text)
    spans = [match.span(1) for pattern in _ON_TEXT for match in pattern.finditer(text)]
    spans += [match.span(1) for pattern in _ON_FOLDED for match in pattern.finditer(folded)]
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        if start >= position:
            pieces.append(text[position:start])
            pieces.append(REDACTED)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _folded(text: str) -> str:
    """`text` with ASCII letters lowered, each character at its own index (so spans carry over)."""
    lowered = text.lower()
    if text.isascii() or len(lowered) == len(text):
        return lowered
    return text.translate(_ASCII_LOWER)  # a few letters lower to two characters: fold ASCII only


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
    token loses its first piece only. Padding ('=') ends a token, so no piece is followed after one.
    """
    first = _BASE64_RUN.match(text, start)
    if first is None:
        return start
    following = _BREAK_THEN_RUN.match(text, first.end())
    if following is None:  # not wrapped (the common case): the run is all there is
        return first.end()
    pieces = [first.group()]
    length, tail = len(pieces[0]), pieces[0][-_TAIL_CHARS:]
    if _completes(pieces, length, tail):
        return first.end()
    for _ in range(_MAX_PIECES):
        if following is None or "=" in pieces[-1] or length > _MAX_TOKEN_CHARS:
            break
        piece = following.group(1)
        pieces.append(piece)
        length += len(piece)
        tail = (tail + piece)[-_TAIL_CHARS:]
        if _completes(pieces, length, tail):
            return following.end()
        following = _BREAK_THEN_RUN.match(text, following.end())
    return first.end()


def _completes(pieces: list[str], length: int, tail: str) -> bool:
    """Whether `pieces` make a whole token: the cheap test on the last characters, then the whole decode."""
    if length % 4 or not _decodes_to_token_end(tail):
        return False
    return _decodes_to_token_end("".join(pieces))


def _decodes_to_token_end(encoded: str) -> bool:
    try:
        return base64.b64decode(encoded, validate=True).endswith(_TOKEN_END)
    except (binascii.Error, ValueError):
        return False
