"""The token stays out of reprs and logs, even at DEBUG level across httpx, httpcore and the OpenAI SDK."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from sagemaker_openai.client import BearerTokenAuth, openai_client
from sagemaker_openai.client.redaction import redact

from .conftest import RuntimeFactory
from .helpers import REGION


def test_repr_shows_state_not_the_token(real_auth: BearerTokenAuth) -> None:
    assert repr(real_auth) == "BearerTokenAuth(region='us-east-1', expiry=3600 s, token=none yet)"
    token = real_auth.token()
    assert token not in repr(real_auth)
    assert token not in str(real_auth)
    assert repr(real_auth).startswith("BearerTokenAuth(region='us-east-1', expiry=3600 s, token=<redacted, ")


def test_debug_logs_of_a_whole_call_never_hold_the_token(
    local_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = local_runtime("ep")
    auth = BearerTokenAuth(REGION)
    client = openai_client(f"{server.origin}/endpoints/ep/openai/v1", auth=auth)
    with caplog.at_level(logging.DEBUG):
        client.chat.completions.create(model="", messages=[{"role": "user", "content": "hi"}])
    assert "minted a SageMaker bearer token usable for 3600 s" in caplog.text
    assert "HTTP Request: POST" in caplog.text  # the SDK's and httpx's request logs were captured
    token = auth.token()
    assert token not in caplog.text
    assert token.removeprefix("sagemaker-api-key-")[:40] not in caplog.text


def test_redact_replaces_every_token() -> None:
    text = "a sagemaker-api-key-c2FnZW1ha2Vy+/= b Bearer sagemaker-api-key-QUJD c"
    assert redact(text) == "a sagemaker-api-key-<redacted> b Bearer sagemaker-api-key-<redacted> c"


def test_hugging_face_tokens_are_redacted() -> None:
    token = "hf_" + "a1B2" * 9
    assert redact(f"401 Unauthorized (Authorization: Bearer {token})") == (
        "401 Unauthorized (Authorization: Bearer hf_<redacted>)"
    )
    assert redact("see hf_transfer and hf_hub_download") == "see hf_transfer and hf_hub_download"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "headers={'X-Amz-Security-Token': b'FwoGZXIvYXdzEXAMPLE', 'Authorization': b'AWS4-HMAC-SHA256 "
            "Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/sagemaker/aws4_request, SignedHeaders=host, "
            "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}",
            "headers={'X-Amz-Security-Token': b'<redacted>', 'Authorization': b'AWS4-HMAC-SHA256 "
            "Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/sagemaker/aws4_request, SignedHeaders=host, "
            "Signature=<redacted>'}",
        ),
        (
            "https://h/?X-Amz-Expires=900&X-Amz-Security-Token=Fwo%2FG%3D&X-Amz-Signature=0a1b2c&Version=1",
            "https://h/?X-Amz-Expires=900&X-Amz-Security-Token=<redacted>&X-Amz-Signature=<redacted>&Version=1",
        ),
        ("Signature:\n0123456789abcdef", "Signature:\n<redacted>"),
        (
            "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>wJalr/K7</SecretAccessKey>"
            "<SessionToken>FwoGZ+XI=</SessionToken></Credentials>",
            "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey><redacted></SecretAccessKey>"
            "<SessionToken><redacted></SessionToken></Credentials>",
        ),
        ('{"Token" : "imds-token", "Code" : "Success"}', '{"Token" : "<redacted>", "Code" : "Success"}'),
        (
            "minted a SageMaker bearer token usable for 900 s",
            "minted a SageMaker bearer token usable for 900 s",
        ),
        (
            'HTTP Request: POST https://user:hunter2@vllm.example/v1/chat/completions "HTTP/1.1 200 OK"',
            'HTTP Request: POST https://<redacted>@vllm.example/v1/chat/completions "HTTP/1.1 200 OK"',
        ),
    ],
)
def test_redact_replaces_signatures_session_tokens_and_keys(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_cut_off_token_loses_its_first_piece() -> None:
    assert (
        redact("Bearer sagemaker-api-key-QUJD\nnext line") == "Bearer sagemaker-api-key-<redacted>\nnext line"
    )


def test_text_whose_lower_case_is_longer_is_redacted_in_place() -> None:
    """'İ' lowers to two characters; names are matched case-insensitively without shifting the spans."""
    assert redact("\u0130\u0130 SessionToken=abc, \u00c9 X-Amz-Signature=0a1b") == (
        "\u0130\u0130 SessionToken=<redacted>, \u00c9 X-Amz-Signature=<redacted>"
    )


# Adversarial shapes for the patterns (each repeated to 1 MiB), and whether redact must leave them alone.
_MIB = 1 << 20
_ADVERSARIAL = {
    "hyphenated words": ("a-", True),
    "hyphens": ("-", True),
    "dotted words": ("a.", True),
    "scheme characters": ("a+", True),
    "a base64 run": ("QUJD", True),
    "a base64url run": ("aZ09_-", True),
    "'=' padding": ("=", True),
    "X-Amz- prefixes": ("X-Amz-", True),
    "whitespace runs": ("s \t", True),
    "escaped line breaks": ("s\\n", True),
    "URL user info without @": ("a://b:", True),
    "letters that lower to two characters": ("\u0130a-", True),
    "token prefixes": ("sagemaker-api-key-", False),
    "wrapped token pieces": ("sagemaker-api-key-" + "QUJD" * 30 + "\n", False),
    "signatures": ("Signature=", False),
    "security-token headers": ("X-Amz-Security-Token= ", False),
    "credential names": ("sessionToken:", False),
    "SSO headers": ("x-amz-sso_bearer_token=a&", False),
}
_TIMING = """
import json, sys, time
from sagemaker_openai.client.redaction import redact
cases = json.loads(sys.stdin.read())
seconds = {}
for name, (unit, unchanged) in cases.items():
    text = (unit * (MIB // len(unit) + 1))[:MIB]
    started = time.thread_time()
    result = redact(text)
    seconds[name] = time.thread_time() - started
    assert not unchanged or result == text, name
print(json.dumps(seconds))
""".replace("MIB", str(_MIB))


def test_redact_is_linear_on_a_mebibyte_of_adversarial_text() -> None:
    """Each shape once, in a child process (a quadratic pattern would run for minutes; it is killed)."""
    completed = subprocess.run(
        [sys.executable, "-c", _TIMING],
        input=json.dumps(_ADVERSARIAL),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seconds: dict[str, float] = json.loads(completed.stdout)
    # CPU time of the redacting thread: other processes on a busy machine do not count.
    assert {name: taken for name, taken in seconds.items() if taken >= 1.0} == {}
    assert seconds.keys() == _ADVERSARIAL.keys()
