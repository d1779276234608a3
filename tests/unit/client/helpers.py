"""Shared test helpers for the client tests (fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import functools
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.session
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import CredentialProvider, Credentials

from sagemaker_openai.client.auth import TokenFactory

# AWS's documented example keys: never valid anywhere.
FAKE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"


class CountingTokenFactory:
    """A token factory that records its calls; it fails on the calls `failures` numbers (from 1), and
    returns distinct fake tokens unless `sign` makes real ones."""

    def __init__(
        self, *, sign: TokenFactory | None = None, failures: Mapping[int, Exception] | None = None
    ) -> None:
        self.calls: list[timedelta] = []
        self.issued: list[str] = []
        self.threads: list[int] = []
        self._sign = sign
        self._failures = dict(failures or {})

    def __call__(
        self, *, region: str, aws_credentials_provider: CredentialProvider, expiry: timedelta
    ) -> str:
        self.calls.append(expiry)
        self.threads.append(threading.get_ident())
        if len(self.calls) in self._failures:
            raise self._failures[len(self.calls)]
        if self._sign is not None:
            token = self._sign(
                region=region, aws_credentials_provider=aws_credentials_provider, expiry=expiry
            )
        else:
            token = "sagemaker-api-key-" + base64.b64encode(f"fake-{len(self.calls)}".encode()).decode()
        self.issued.append(token)
        return token


def write_outputs_file(path: Path, stacks: dict[str, dict[str, str]]) -> Path:
    path.write_text(json.dumps(stacks), encoding="utf-8")
    return path


def client_config(
    *,
    stack_name: str = "Demo",
    mode: str = "single_model",
    region: str = REGION,
    models: Mapping[str, Mapping[str, object]] | None = None,
    schema_version: object = 1,
) -> str:
    """A ClientConfig output as the CDK stack emits it."""
    if models is None:
        models = {
            "default": {
                "base_url": f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/demo-ep/openai/v1",
                "inference_component_name": None,
                "served_model_name": "Qwen/Qwen3-4B",
            }
        }
    return json.dumps(
        {
            "schema_version": schema_version,
            "stack_name": stack_name,
            "mode": mode,
            "region": region,
            "endpoint_name": "demo-ep",
            "endpoint_arn": f"arn:aws:sagemaker:{region}:123456789012:endpoint/demo-ep",
            "invoker_role_arn": "arn:aws:iam::123456789012:role/demo-invoker",
            "invoker_policy_arn": "arn:aws:iam::123456789012:policy/demo-invoke",
            "models": models,
        }
    )


class StubbedSession(boto3.Session):
    """A boto3 session whose clients are given (wrap them in botocore Stubbers to script AWS answers)."""

    def __init__(self, **clients: BaseClient) -> None:
        super().__init__(region_name=REGION)
        self.clients = clients

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        return self.clients[service_name]


@functools.cache
def _shared_botocore_session() -> botocore.session.Session:
    # Loading a service model takes about half a second; one session caches each model once.
    return botocore.session.Session()


def aws_client(service: str) -> Any:
    """A real botocore client for `service`; stubbed, it never sends anything."""
    session = boto3.Session(botocore_session=_shared_botocore_session(), region_name=REGION)
    return session.client(service)  # type: ignore[call-overload]


def presigned_token(
    *,
    region: str = REGION,
    host: str = "sagemaker.amazonaws.com",
    service: str = "sagemaker",
    expires: int = 900,
    extra_headers: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
    signed_at: datetime | None = None,
) -> str:
    """A token made the way sagemaker.core's generate_token makes it (botocore's SigV4 query signer), with
    the parts generate_token fixes or refuses (host, service, a lifetime over 12 h, extra signed headers,
    the signing time) open to tests of the verifier's refusals."""
    request = AWSRequest(
        method="POST",
        url=f"https://{host}/",
        headers={"host": host, **(extra_headers or {})},
        params={"Action": "CallWithBearerToken"},
    )
    signer = SigV4QueryAuth(
        credentials or Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY), service, region, expires=expires
    )
    if signed_at is None:
        signer.add_auth(request)
    else:
        naive = signed_at.astimezone(UTC).replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
            signer.add_auth(request)
    url = str(request.url).replace("https://", "") + "&Version=1"
    return "sagemaker-api-key-" + base64.b64encode(url.encode()).decode()


def aws_client_with(service: str, credentials: Credentials, *, endpoint_url: str) -> Any:
    """A real botocore client signing with `credentials`, sending to `endpoint_url`, without retries."""
    session = boto3.Session(botocore_session=_shared_botocore_session(), region_name=REGION)
    return session.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
        config=Config(retries={"total_max_attempts": 1}),
    )


def start_local_runtime(
    *arguments: str, env: Mapping[str, str] | None = None, stderr: int | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start `sagemaker-openai local-runtime --port 0 ...`; return the process and its http origin."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_openai.cli", "local-runtime", "--port", "0", *arguments],
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()
    if not first_line.startswith("local-runtime listening on http://127.0.0.1:"):
        process.kill()
        process.communicate(timeout=10)
        raise AssertionError(f"local-runtime did not start: {first_line!r}")
    return process, first_line.split()[-1]


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """Everything a server sends on `sock` until it closes the connection; fails if it is still open."""
    sock.settimeout(seconds)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received
