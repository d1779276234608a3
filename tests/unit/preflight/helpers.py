"""A pre-flight context whose AWS clients answer from botocore Stubbers."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import boto3
from botocore.stub import Stubber

from sagemaker_openai.config import parse_config
from sagemaker_openai.preflight import report
from tests.unit.client.helpers import StubbedSession

ACCOUNT = "123456789012"
REGION = "us-east-1"


@functools.cache
def _session() -> boto3.Session:
    # One session loads each service model once; stubbed clients never send anything.
    return boto3.Session(region_name=REGION, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")


def aws_client(service: str) -> Any:
    return _session().client(service)  # type: ignore[call-overload]


class Stubs:
    """One real botocore client per service, each behind an activated Stubber."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __getitem__(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = aws_client(service)
            self.clients[service] = client
            self.stubbers[service] = self._stack.enter_context(Stubber(client))
        return self.stubbers[service]

    def session(self) -> StubbedSession:
        return StubbedSession(**self.clients)

    def context(self, config: dict[str, Any], *, partition: str = "aws") -> report.Context:
        return report.Context(
            config=parse_config(config),
            session=self.session(),
            account=ACCOUNT,
            region=REGION,
            partition=partition,
        )


@contextmanager
def stubs() -> Iterator[Stubs]:
    """Stubbers that must each have been answered in full when the block ends."""
    with ExitStack() as stack:
        made = Stubs(stack)
        yield made
        for stubber in made.stubbers.values():
            stubber.assert_no_pending_responses()


def denied(stubber: Stubber, operation: str, code: str = "AccessDeniedException") -> None:
    stubber.add_client_error(operation, service_error_code=code, http_status_code=403)
