"""Shared bench plumbing: fake credentials, alternating runs, medians, and the results table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

# AWS's documented example keys. Token signing never calls AWS, so fake keys measure the same work.
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
REGION = "us-east-1"


def use_fake_credentials() -> dict[str, str]:
    """Sign with fake environment keys (the cheapest credential provider) and no profile files."""
    overrides = {
        **FAKE_KEYS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(name, None)
    os.environ.update(overrides)
    return dict(os.environ)


@dataclass
class Series:
    """One measured figure per run for one configuration."""

    name: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def alternate(runs: int, configurations: Sequence[str], measure: Callable[[str], None]) -> None:
    """Run every configuration `runs` times, interleaved and with the order flipped on odd runs."""
    for run in range(runs):
        order = configurations if run % 2 == 0 else list(reversed(configurations))
        for name in order:
            measure(name)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(headers), separator, *(line(row) for row in rows)])


@contextmanager
def serving(
    arguments: Sequence[str],
    env: dict[str, str],
    prefix: str,
    *,
    module: str | None = "sagemaker_openai.cli",
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`sagemaker-openai ARGUMENTS` (or, with `module` None, the script ARGUMENTS[0]) as a subprocess until
    the block ends; yields it and the URL it prints on its first line, which must start with `prefix`
    (``local-runtime listening on``, ...)."""
    popen = subprocess.Popen(
        [sys.executable, *(["-m", module] if module else []), *arguments],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert popen.stdout is not None
        line = popen.stdout.readline()
        if not line.startswith(prefix):
            raise SystemExit(f"{arguments[0]} did not start: {line!r}")
        yield popen, line.split()[-1]
    finally:
        popen.terminate()
        popen.wait(timeout=30)
