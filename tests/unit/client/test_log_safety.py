"""No credential in any log: botocore's signing records and signed requests are redacted at DEBUG, for the
CLI's --debug and for a library user who turns DEBUG on for the root logger; the rest of the output stays."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
from botocore.credentials import Credentials

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.client.local_runtime import TokenVerifier
from sagemaker_openai.client.redaction import redact
from sagemaker_openai.client.token_format import decode_token

from .conftest import RuntimeFactory
from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION, aws_client_with

SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENabcdefghijklmnopqrstuvwxyz0123456789"


def _secrets_in(text: str, token: str) -> list[str]:
    """The credential material of `token` (and the session token) found in `text`."""
    decoded = decode_token(token)
    signature = decoded.signature
    found = [name for name, secret in (("token", token), ("session token", SESSION_TOKEN)) if secret in text]
    # No part of the signature: any 8 consecutive hex digits of it would be a leak.
    if any(signature[i : i + 8] in text for i in range(len(signature) - 7)):
        found.append("signature")
    if token.removeprefix("sagemaker-api-key-")[:40] in text:
        found.append("token's base64")
    return found


@pytest.fixture
def root_debug() -> Iterator[io.StringIO]:
    """DEBUG on the root logger with a plain stream handler, as a library user would set it up."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_debug_token_command_keeps_secrets_off_stderr(tmp_path: Path) -> None:
    env = {**os.environ, "AWS_SESSION_TOKEN": SESSION_TOKEN}
    token_file = tmp_path / "token.txt"
    with token_file.open("w") as stdout:
        completed = subprocess.run(
            [sys.executable, "-m", "sagemaker_openai.client", "--debug", "token", "--region", REGION],
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    assert completed.returncode == 0, completed.stderr
    token = token_file.read_text().strip()
    # botocore's debug output is still there, with its secrets replaced...
    assert "DEBUG botocore.auth: CanonicalRequest:" in completed.stderr
    assert "X-Amz-Security-Token=<redacted>" in completed.stderr
    assert "DEBUG botocore.auth: Signature:\n<redacted>" in completed.stderr
    assert _secrets_in(completed.stderr, token) == []
    # ...and the token on stdout is whole: it verifies against the same credentials.
    credentials = SessionCredentials(Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, SESSION_TOKEN))
    TokenVerifier(credentials, region=REGION).verify(f"Bearer {token}")


def test_library_debug_on_the_root_logger_keeps_secrets_out(
    root_debug: io.StringIO, local_runtime: RuntimeFactory
) -> None:
    credentials = Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, SESSION_TOKEN)
    auth = BearerTokenAuth(REGION, credentials=credentials)
    token = auth.token()
    # A control-plane call, signed with the session token, against a local server that answers 404.
    server = local_runtime("ep", auth=False)
    sagemaker = aws_client_with("sagemaker", credentials, endpoint_url=server.origin)
    with pytest.raises(botocore.exceptions.ClientError):
        sagemaker.describe_endpoint(EndpointName="ep")
    logs = root_debug.getvalue()
    assert "Sending http request: <AWSPreparedRequest" in logs  # botocore.endpoint still logs
    assert "Calculating signature using v4 auth." in logs
    assert "minted a SageMaker bearer token usable for 3600 s" in logs
    assert _secrets_in(logs, token) == []
    assert re.search(r"Signature=[0-9a-f]{8}", logs) is None  # DescribeEndpoint's Authorization header


def test_debug_cli_errors_and_tracebacks_redact_a_token_split_across_lines() -> None:
    token = BearerTokenAuth(
        REGION, credentials=Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY, SESSION_TOKEN)
    ).token()
    lines = [token[i : i + 76] for i in range(0, len(token), 76)]
    text = "upstream said: Bearer " + "\n".join(lines) + "\nTraceback (most recent call last):"
    assert (
        redact(text)
        == "upstream said: Bearer sagemaker-api-key-<redacted>\nTraceback (most recent call last):"
    )
    escaped = "{'detail': 'Bearer " + "\\n".join(lines) + "', 'next': 1}"
    assert redact(escaped) == "{'detail': 'Bearer sagemaker-api-key-<redacted>', 'next': 1}"


def test_a_traceback_logged_with_a_token_is_redacted(root_debug: io.StringIO) -> None:
    token = BearerTokenAuth(REGION, credentials=Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY)).token()
    try:
        raise RuntimeError(f"upstream echoed Bearer {token}")
    except RuntimeError:
        logging.getLogger("botocore.endpoint").debug("request failed", exc_info=True)
    logs = root_debug.getvalue()
    assert "RuntimeError: upstream echoed Bearer sagemaker-api-key-<redacted>" in logs
    assert _secrets_in(logs, token) == []
