"""What a subcommand needs from outside: output streams, AWS sessions, clocks. Tests swap them."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import botocore.exceptions

from sagemaker_openai.client.region import profile_not_found

if TYPE_CHECKING:
    import boto3
    import httpx

    from sagemaker_openai.client.auth import TokenFactory


def default_session(profile: str | None) -> boto3.Session:
    import boto3  # noqa: PLC0415 - local-runtime --no-auth starts without it

    try:
        return boto3.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise profile_not_found(exc) from None


@dataclass
class CliContext:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    session_factory: Callable[[str | None], boto3.Session] = default_session
    # None: sagemaker.core's generate_token.
    token_factory: TokenFactory | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # None: the network. Tests answer as SageMaker would without one.
    transport: httpx.BaseTransport | None = None

    def note(self, message: str) -> None:
        print(f"Note: {message}", file=self.stderr, flush=True)
