"""What a bench run does: its load levels, request shapes and service-level objective, parsed from flags.

Every parser raises `BenchSettingsError` with one line naming the flag and the fix; the CLI prints it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TypeVar

from sagemaker_openai.client.errors import SageMakerOpenAIError

_SLO_KEYS = ("ttft", "itl", "tpot", "e2e")
_Number = TypeVar("_Number", int, float)
_DURATION = re.compile(r"^(?P<number>[0-9]*\.?[0-9]+)(?P<unit>ms|s)?$")


class BenchSettingsError(SageMakerOpenAIError):
    """A bench flag value that cannot be used (reported like an argparse error)."""


@dataclass(frozen=True)
class Spread:
    """A token count drawn uniformly from mean - spread to mean + spread (never below 1)."""

    mean: int
    spread: int = 0

    @classmethod
    def parse(cls, text: str, flag: str) -> Spread:
        """`MEAN` or `MEAN:SPREAD`, both whole numbers of tokens."""
        parts = text.split(":")
        if len(parts) > 2 or not all(part.strip().isdigit() for part in parts):
            raise BenchSettingsError(
                f"{flag} {text!r} is not MEAN or MEAN:SPREAD in tokens; e.g. {flag} 512:128"
            )
        mean, spread = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
        if mean < 1:
            raise BenchSettingsError(f"{flag} needs a mean of at least 1 token; e.g. {flag} 512")
        if spread >= mean:
            raise BenchSettingsError(
                f"{flag} {text}: the spread must be smaller than the mean, so no request asks for 0 tokens"
            )
        return cls(mean, spread)

    def sample(self, rng: random.Random) -> int:
        return max(1, rng.randint(self.mean - self.spread, self.mean + self.spread))

    def __str__(self) -> str:
        return f"{self.mean}" if not self.spread else f"{self.mean}±{self.spread}"


@dataclass(frozen=True)
class Slo:
    """Per-request limits in seconds; a request meets the SLO when it succeeded within every one given.

    ttft: time to first token; itl: the request's mean gap between tokens; tpot: its time per output token
    after the first; e2e: its whole time.
    """

    ttft: float | None = None
    itl: float | None = None
    tpot: float | None = None
    e2e: float | None = None

    @classmethod
    def parse(cls, text: str) -> Slo:
        """`ttft=0.5,itl=0.05` (seconds, or with an `ms` suffix: `ttft=500ms`)."""
        limits: dict[str, float] = {}
        for item in text.split(","):
            key, _, value = item.partition("=")
            key = key.strip().lower()
            match = _DURATION.match(value.strip())
            if key not in _SLO_KEYS or match is None:
                raise BenchSettingsError(
                    f"--slo {text!r}: each item must be KEY=SECONDS with KEY one of {', '.join(_SLO_KEYS)}; "
                    "e.g. --slo ttft=0.5,itl=50ms"
                )
            seconds = float(match.group("number")) / (1000 if match.group("unit") == "ms" else 1)
            if seconds <= 0 or key in limits:
                raise BenchSettingsError(f"--slo {text!r}: give {key} once, as a positive time")
            limits[key] = seconds
        return cls(**limits)

    @property
    def given(self) -> bool:
        return any(value is not None for value in (self.ttft, self.itl, self.tpot, self.e2e))

    def describe(self) -> str:
        parts = [
            f"{key} <= {value * 1000:g} ms"
            for key, value in zip(_SLO_KEYS, (self.ttft, self.itl, self.tpot, self.e2e), strict=True)
            if value is not None
        ]
        return ", ".join(parts) or "none"

    def as_dict(self) -> dict[str, float]:
        values = zip(_SLO_KEYS, (self.ttft, self.itl, self.tpot, self.e2e), strict=True)
        return {key: value for key, value in values if value is not None}


@dataclass(frozen=True)
class LoadLevel:
    """One level of a sweep: a closed loop of `concurrency` streams, or Poisson arrivals at `rate` per s."""

    concurrency: int | None = None
    rate: float | None = None

    @property
    def label(self) -> str:
        return f"concurrency {self.concurrency}" if self.concurrency is not None else f"rate {self.rate:g}/s"

    @property
    def x(self) -> float:
        """The level's value on a plot's x axis."""
        return float(self.concurrency if self.concurrency is not None else self.rate or 0.0)


def parse_levels(concurrency: str | None, rate: str | None) -> list[LoadLevel]:
    """`--concurrency 1,4,16` or `--rate 0.5,2`, one level after another in the order given."""
    if concurrency is not None and rate is not None:
        raise BenchSettingsError("Provide either --concurrency or --rate, not both.")
    if rate is not None:
        rates = _numbers(rate, "--rate", float)
        if any(value <= 0 for value in rates):
            raise BenchSettingsError("--rate takes requests per second above 0; e.g. --rate 0.5,2,8")
        return [LoadLevel(rate=value) for value in rates]
    levels = _numbers(concurrency or "1,4,16,64", "--concurrency", int)
    if any(value < 1 or value > 4096 for value in levels):
        raise BenchSettingsError(
            "--concurrency takes whole numbers from 1 to 4096; e.g. --concurrency 1,4,16,64"
        )
    return [LoadLevel(concurrency=value) for value in levels]


def _numbers(text: str, flag: str, kind: type[_Number]) -> list[_Number]:
    try:
        values = [kind(part) for part in text.split(",")]
    except ValueError:
        example = "1,4,16,64" if kind is int else "0.5,2,8"
        raise BenchSettingsError(
            f"{flag} {text!r} is not a comma-separated list of numbers; e.g. {flag} {example}"
        ) from None
    if len(set(values)) != len(values):
        raise BenchSettingsError(f"{flag} {text!r} names a level twice; give each once")
    return values


@dataclass(frozen=True)
class Stop:
    """When a level ends: after `requests` requests, or when `duration` seconds have passed (requests
    already sent then are awaited and counted)."""

    requests: int | None = None
    duration: float | None = None

    @classmethod
    def from_flags(cls, requests: int | None, duration: float | None) -> Stop:
        if requests is not None and duration is not None:
            raise BenchSettingsError("Provide either --requests or --duration, not both.")
        if requests is not None and requests < 1:
            raise BenchSettingsError("--requests must be at least 1 per level")
        if duration is not None and duration <= 0:
            raise BenchSettingsError("--duration must be a positive number of seconds per level")
        if requests is None and duration is None:
            return cls(duration=60.0)
        return cls(requests=requests, duration=duration)

    def describe(self) -> str:
        return f"{self.requests} requests" if self.requests is not None else f"{self.duration:g} s"
