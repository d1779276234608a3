"""Keeps tokens out of anything printed: a server may echo the header back in an error body.

SageMaker bearer tokens, and the Hugging Face user access tokens (``hf_...``) that stage-weights uses.
"""

from __future__ import annotations

import re

from sagemaker_openai.client.token_format import TOKEN_PREFIX

_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9+/=]*")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}")
REDACTED = f"{TOKEN_PREFIX}<redacted>"


def redact(text: str) -> str:
    """`text` with every SageMaker bearer token and Hugging Face token replaced by a placeholder."""
    return _HF_TOKEN.sub("hf_<redacted>", _TOKEN.sub(REDACTED, text))
