"""Fixtures for the client tests: fake AWS credentials only, and an in-process local runtime."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.servers.local_runtime import (
    EndpointLayout,
    LocalRuntimeServer,
    RuntimeSettings,
    TokenVerifier,
)
from sagemaker_openai.servers.local_runtime.upstream import Upstream

from .helpers import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION, CountingTokenFactory

_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_CUSTOM_HEADERS",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every client test signs with fake keys and can never reach a real profile, IMDS or SSO cache."""
    for name in _AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def counting_factory() -> CountingTokenFactory:
    return CountingTokenFactory()


@pytest.fixture
def real_auth() -> BearerTokenAuth:
    """Signs real tokens (sagemaker.core's generate_token) with the fake environment keys."""
    return BearerTokenAuth(REGION)


RuntimeFactory = Callable[..., LocalRuntimeServer]


@pytest.fixture
def local_runtime() -> Iterator[RuntimeFactory]:
    """Starts in-process local runtimes verifying tokens against the fake keys; all stop after the test."""
    with ExitStack() as running:

        def start(
            endpoint: str = "ep",
            components: tuple[str, ...] = (),
            *,
            auth: bool = True,
            verifier: TokenVerifier | None = None,
            served_model_name: str | None = None,
            upstream: Upstream | None = None,
            refusal_status: int | None = None,
            read_timeout: float = 5.0,
            max_connections: int = 64,
        ) -> LocalRuntimeServer:
            if auth and verifier is None:
                verifier = TokenVerifier(SessionCredentials(), region=REGION)
            settings = RuntimeSettings(
                layout=EndpointLayout(endpoint, components),
                verifier=verifier,
                served_model_name=served_model_name,
                upstream=upstream,
                refusal_status=refusal_status,
                read_timeout=read_timeout,
                max_connections=max_connections,
            )
            return running.enter_context(LocalRuntimeServer(settings).running())

        yield start
