"""What the checks find: one line each, and the context they share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_openai.config import KitConfig

if TYPE_CHECKING:
    import boto3

# Error codes AWS services answer a caller without the permission with.
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Forbidden",
        "403",
        "AuthorizationError",
    }
)


class Status(Enum):
    OK = "ok"
    PROBLEM = "PROBLEM"
    SKIPPED = "skipped"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    message: str

    def line(self) -> str:
        return f"  {self.status.value:<8} {self.check}: {self.message}"


def ok(check: str, message: str) -> Finding:
    return Finding(Status.OK, check, message)


def problem(check: str, message: str) -> Finding:
    return Finding(Status.PROBLEM, check, message)


def skipped(check: str, message: str) -> Finding:
    return Finding(Status.SKIPPED, check, message)


def info(check: str, message: str) -> Finding:
    return Finding(Status.INFO, check, message)


@dataclass
class Report:
    header: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.PROBLEM]

    def lines(self) -> list[str]:
        count = len(self.problems)
        closing = (
            f"{count} problem(s): fix them, then run `make preflight` again" if count else "no problems found"
        )
        return [self.header, *(f.line() for f in self.findings), closing]


class Skipped(Exception):
    """The caller may not run `action`; the check is skipped, not failed."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def needs(action: str) -> Iterator[None]:
    """Turn an AccessDenied answer to the calls inside into Skipped(action)."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in _DENIED:
            raise Skipped(action) from None
        raise


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    """What every check reads: the config, where it deploys, and AWS clients (made once, thread-safe)."""

    config: KitConfig
    session: boto3.Session
    account: str
    region: str
    partition: str
    # The synthesized template about to be deployed (`--assembly`), when there is one.
    template: dict[str, Any] | None = None
    clock: Callable[[], datetime] = utc_now
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                # Fail fast: the pre-flight should take seconds, not a minute of retries.
                config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3})
                self._clients[key] = self.session.client(service, region_name=key[1], config=config)  # type: ignore[call-overload]
            return self._clients[key]
