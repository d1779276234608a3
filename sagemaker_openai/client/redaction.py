"""Keeps bearer tokens out of anything printed: a server may echo the header back in an error body."""

from __future__ import annotations

import re

from sagemaker_openai.client.token_format import TOKEN_PREFIX

_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9+/=]*")
REDACTED = f"{TOKEN_PREFIX}<redacted>"


def redact(text: str) -> str:
    """`text` with every SageMaker bearer token replaced by a placeholder."""
    return _TOKEN.sub(REDACTED, text)
