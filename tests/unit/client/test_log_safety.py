"""No credential in any log: botocore's signing records and signed requests are redacted at DEBUG, for the
CLI's --debug and for a library user who turns DEBUG on for the root logger; the rest of the output stays."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.credentials import Credentials

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.client.log_safety import protect_library_loggers
from sagemaker_openai.client.redaction import redact
from sagemaker_openai.client.token_format import decode_token
from sagemaker_openai.servers.local_runtime import TokenVerifier

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
            [sys.executable, "-m", "sagemaker_openai.cli", "--debug", "token", "--region", REGION],
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


# What SSO, SSO OIDC and STS answer, by request path, each holding credentials.
_SSO_SECRETS = {
    "oidc access token": "aoaAAAAAGoidcACCESSexample0123456789",
    "oidc refresh token": "aorAAAAAGoidcREFRESHexample0123456789",
    "oidc id token": "eyJraWQiOiJpZFRPS0VOIn0.eyJzdWIiOiJ1c2VyIn0.aWRzaWduYXR1cmU",
    "registered client secret": "eyJraWQiOiJjbGllbnRTRUNSRVQifQ.c2VjcmV0UGFydA",
    "role secret key": "ssoROLEsecretKEYexample/0123456789abcd",
    "role session token": "IQoJssoROLEsessionTOKENexample0123456789",
    "web-identity secret key": "stsWEBsecretKEYexample/0123456789abcd",
    "web-identity session token": "IQoJstsWEBsessionTOKENexample0123456789",
}
# What the caller sends, each a credential too.
_REQUEST_SECRETS = {
    "client secret sent": "eyJraWQiOiJzZW50U0VDUkVUIn0.c2VudFNlY3JldA",
    "refresh token sent": "aorAAAAAGsentREFRESHexample0123456789",
    "sso bearer sent": "aoaAAAAAGsentBEARERexample0123456789",
    "web identity token sent": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3ZWJpZGVudGl0eSJ9.d2ViU2lnbmF0dXJl",
}
_ANSWERS: dict[str, tuple[str, str]] = {
    "/token": (
        json.dumps(
            {
                "accessToken": _SSO_SECRETS["oidc access token"],
                "refreshToken": _SSO_SECRETS["oidc refresh token"],
                "idToken": _SSO_SECRETS["oidc id token"],
                "expiresIn": 28800,
                "tokenType": "Bearer",
            }
        ),
        "application/json",
    ),
    "/client/register": (
        json.dumps(
            {
                "clientId": "client-id",
                "clientSecret": _SSO_SECRETS["registered client secret"],
                "clientIdIssuedAt": 1,
                "clientSecretExpiresAt": 2,
            }
        ),
        "application/json",
    ),
    "/federation/credentials": (
        json.dumps(
            {
                "roleCredentials": {
                    "accessKeyId": "ASIAEXAMPLESSO",
                    "secretAccessKey": _SSO_SECRETS["role secret key"],
                    "sessionToken": _SSO_SECRETS["role session token"],
                    "expiration": 1,
                }
            }
        ),
        "application/json",
    ),
    "/": (
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
        "<SubjectFromWebIdentityToken>user</SubjectFromWebIdentityToken><Credentials>"
        "<AccessKeyId>ASIAEXAMPLESTS</AccessKeyId>"
        f"<SecretAccessKey>{_SSO_SECRETS['web-identity secret key']}</SecretAccessKey>"
        f"<SessionToken>{_SSO_SECRETS['web-identity session token']}</SessionToken>"
        "<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
        "</AssumeRoleWithWebIdentityResponse>",
        "text/xml",
    ),
}


class _FakeIdentityService(BaseHTTPRequestHandler):
    """Answers SSO OIDC, SSO portal and STS calls by path, as the real services would."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body, content_type = _ANSWERS[self.path.split("?", 1)[0]]
        encoded = body.encode()
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def identity_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeIdentityService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_sso_and_web_identity_secrets_are_redacted_at_debug(
    root_debug: io.StringIO, identity_service: str
) -> None:
    protect_library_loggers()  # as BearerTokenAuth and the CLI do
    session = boto3.Session(region_name=REGION)
    unsigned = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=identity_service, config=unsigned)  # type: ignore[call-overload]

    oidc = client("sso-oidc")
    oidc.register_client(clientName="sagemaker-openai", clientType="public")
    oidc.create_token(
        clientId="client-id",
        clientSecret=_REQUEST_SECRETS["client secret sent"],
        grantType="refresh_token",
        refreshToken=_REQUEST_SECRETS["refresh token sent"],
    )
    client("sso").get_role_credentials(
        roleName="Developer", accountId="123456789012", accessToken=_REQUEST_SECRETS["sso bearer sent"]
    )
    client("sts").assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/ci",
        RoleSessionName="ci-session",
        WebIdentityToken=_REQUEST_SECRETS["web identity token sent"],
    )
    logs = root_debug.getvalue()
    # botocore logged each request and each answer...
    for operation in ("RegisterClient", "CreateToken", "GetRoleCredentials", "AssumeRoleWithWebIdentity"):
        assert f"Making request for OperationModel(name={operation})" in logs
    assert logs.count("Response body:") == 4
    assert "'x-amz-sso_bearer_token': b'<redacted>'" in logs
    assert '"refreshToken": "<redacted>"' in logs
    assert "<SubjectFromWebIdentityToken>user</SubjectFromWebIdentityToken>" in logs
    # ...with none of the credentials in it.
    leaked = [name for name, secret in {**_SSO_SECRETS, **_REQUEST_SECRETS}.items() if secret in logs]
    assert leaked == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJh.eyJz.c2ln&RoleSessionName=ci",
            "Action=AssumeRoleWithWebIdentity&WebIdentityToken=<redacted>&RoleSessionName=ci",
        ),
        (
            "{'WebIdentityToken': 'eyJh.eyJz.c2ln', 'RoleSessionName': 'ci'}",
            "{'WebIdentityToken': '<redacted>', 'RoleSessionName': 'ci'}",
        ),
        (
            "headers={'x-amz-sso_bearer_token': 'aoaAAAA'}",
            "headers={'x-amz-sso_bearer_token': '<redacted>'}",
        ),
        (
            '{"accessToken":"aoa","refreshToken":"aor","idToken":"eyJ","clientSecret":"eyK","expiresIn":1}',
            '{"accessToken":"<redacted>","refreshToken":"<redacted>","idToken":"<redacted>",'
            '"clientSecret":"<redacted>","expiresIn":1}',
        ),
        (
            '{"clientSecretExpiresAt": 2, "valid_token": "kept"}',
            '{"clientSecretExpiresAt": 2, "valid_token": "kept"}',
        ),
    ],
)
def test_redact_replaces_sso_and_web_identity_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected
