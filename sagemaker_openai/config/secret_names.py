"""The one rule for names that hold a secret: container environment variables and vLLM flags.

The config refuses such names up front (a value there would sit in clear in the CloudFormation template and
the model's environment), and the kit's cdk-nag rule applies the same rule to the synthesized containers.
A vLLM flag whose value is only true or false (a bare ``--hf-token``) holds no secret.
"""

import re

# The last word, or last two words, of a name (split on "_" or "-", any case) that say it holds a secret.
# Only the end counts: HF_TOKEN is a secret, but long_prefill_token_threshold (a vLLM scheduler limit),
# HF_TOKEN_PATH or AWS_WEB_IDENTITY_TOKEN_FILE (paths) are not, and "TOKENS" is not "TOKEN".
_SECRET_WORDS = frozenset({"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS", "APIKEY"})
_SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY")})
_WORD_BREAK = re.compile(r"[_-]+")
# Values the DLC's entrypoint reads as a bare flag or as no flag (SM_VLLM_HF_TOKEN=true is --hf-token).
_FLAG_WORDS = frozenset({"", "true", "false"})


def is_secret_name(name: str) -> bool:
    """Whether `name` (HF_TOKEN, hf-token, api_key, OPENAI_API_KEY, DB_PASSWORD...) names a secret."""
    words = _WORD_BREAK.split(name.upper().strip("_-"))
    return words[-1] in _SECRET_WORDS or tuple(words[-2:]) in _SECRET_PAIRS


def holds_no_secret(value: object) -> bool:
    """Whether a flag's `value` is a boolean, or a string the entrypoint reads as one: no secret in it."""
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _FLAG_WORDS)
