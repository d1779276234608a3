"""A bench run's outputs: a progress line per level, the final table, JSON, and a markdown summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_openai.operations.bench.measure import SATURATED_CPU_FRACTION, LevelResult, Stats


@dataclass(frozen=True)
class BenchRun:
    """Every level's result, and the settings they were measured with (target, model, workload, price)."""

    settings: dict[str, Any]
    levels: list[LevelResult]
    # The share of a level's requests that must meet the SLO for the level to count as under it.
    attainment: float
    notes: list[str] = field(default_factory=list)

    @property
    def qualifying(self) -> list[LevelResult]:
        return [level for level in self.levels if level.slo_attainment >= self.attainment]

    @property
    def best(self) -> LevelResult | None:
        """The cheapest level per output token under the SLO (the highest output throughput when unpriced)."""
        candidates = [level for level in self.qualifying if level.completed]
        priced = [level for level in candidates if level.usd_per_million_output_tokens is not None]
        if priced:
            return min(priced, key=lambda level: level.usd_per_million_output_tokens or 0.0)
        return max(candidates, key=lambda level: level.per_second(level.output_tokens), default=None)

    def document(self) -> dict[str, Any]:
        best = self.best
        return {
            "settings": self.settings,
            "slo_attainment_required": self.attainment,
            "levels": [level.as_dict() for level in self.levels],
            "best_level": None if best is None else best.as_dict()["level"],
            "notes": self.notes,
        }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def progress_line(result: LevelResult) -> str:
    ttft, itl = result.ttft, result.itl
    errors = sum(result.errors.values())
    line = (
        f"{result.level.label}: {len(result.completed)}/{len(result.records)} ok, "
        f"TTFT p50 {_ms(ttft.p50)} ms, ITL p50 {_ms(itl.p50)} ms, "
        f"{result.per_second(result.output_tokens):.1f} output tok/s, {errors} errors, "
        f"client CPU {result.client.cpu_fraction:.0%}"
    )
    return line + (" (SATURATED)" if result.client_saturated else "")


_COLUMNS = (
    "level",
    "ok/sent",
    "errors",
    "TTFT p50/p90/p99 ms",
    "ITL p50/p90/p99 ms",
    "TPOT p50 ms",
    "e2e p50 ms",
    "req/s",
    "out tok/s",
    "total tok/s",
    "goodput req/s",
    "$/M out tok",
    "client CPU",
)


def _row(result: LevelResult) -> list[str]:
    def three(stats: Stats) -> str:
        return "/".join(_ms(value) for value in (stats.p50, stats.p90, stats.p99))

    errors = ", ".join(f"{status}: {count}" for status, count in result.errors.items()) or "0"
    cost = result.usd_per_million_output_tokens
    cpu = f"{result.client.cpu_fraction:.0%}" + (" SATURATED" if result.client_saturated else "")
    return [
        result.level.label,
        f"{len(result.completed)}/{len(result.records)}",
        errors,
        three(result.ttft),
        three(result.itl),
        _ms(result.tpot.p50),
        _ms(result.e2e.p50),
        f"{result.per_second(len(result.completed)):.2f}",
        f"{result.per_second(result.output_tokens):.1f}",
        f"{result.per_second(result.total_tokens):.1f}",
        f"{result.per_second(result.good):.2f}",
        "-" if cost is None else f"{cost:.2f}",
        cpu,
    ]


def table(run: BenchRun) -> str:
    """The levels as a markdown table (readable as plain text too)."""
    rows = [list(_COLUMNS), *(_row(level) for level in run.levels)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(_COLUMNS))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(rows[0]), separator, *(line(row) for row in rows[1:])])


def conclusions(run: BenchRun) -> list[str]:
    """The lines under the table: the best level, token-count sources, a saturated client."""
    lines: list[str] = []
    slo = run.settings.get("slo") or {}
    if slo:
        under = f"under the SLO ({_describe_slo(slo)}, {run.attainment:.0%} of requests)"
    else:
        under = f"with {run.attainment:.0%} of requests answered"
    best = run.best
    if best is None:
        lines.append(f"No level ran {under}.")
    else:
        cost = best.usd_per_million_output_tokens
        what = (
            f"${cost:.2f} per million output tokens" if cost is not None else "the highest output throughput"
        )
        lines.append(f"Best level {under}: {best.level.label}, {what}.")
    for level in run.levels:
        label = level.level.label
        if level.usage_source != "usage" and level.completed:
            lines.append(
                f"Warning: {label}: the answers carried no usage block (stream_options.include_usage); "
                "output tokens were counted as chunks, which undercounts when a chunk holds several tokens."
            )
        if run.settings.get("ignore_eos") and level.short_answers:
            lines.append(
                f"Warning: {label}: {level.short_answers} of {len(level.completed)} answers were shorter "
                "than their max_tokens although ignore_eos was sent: the server may not honour it "
                "(vLLM does), so output lengths varied; compare levels by tokens per second, not by requests."
            )
        if level.client_saturated:
            cpu, lag = level.client.cpu_fraction, level.client.timer_lag_mean * 1000
            busy = (
                "its CPU was saturated"
                if cpu >= SATURATED_CPU_FRACTION
                else "its event loop ran late while its own CPU was not (this machine is busy)"
            )
            lines.append(
                f"Warning: {label}: the client was saturated: {busy} (CPU {cpu:.0%} of one core, timers "
                f"{lag:.1f} ms late); the latencies measure this machine, not the endpoint: run fewer "
                "streams per process, or on a larger or quieter machine."
            )
    lines.extend(f"Note: {note}" for note in run.notes)
    return lines


def _describe_slo(slo: dict[str, float]) -> str:
    return ", ".join(f"{key} <= {value * 1000:g} ms" for key, value in slo.items())


def markdown_summary(run: BenchRun) -> str:
    """What a CI job appends to its summary: the settings, the table and the conclusions."""
    settings = run.settings
    target = settings.get("stack") or settings.get("base_url") or "?"
    instance = settings.get("instance_type") or "unknown instance"
    header = [
        f"### sagemaker-openai bench: {target}",
        "",
        f"Model `{settings.get('model') or '(server default)'}` on {settings.get('instance_count') or '?'} x "
        f"{instance}; workload {settings.get('workload')}; {settings.get('stop')} per level.",
        "",
    ]
    return "\n".join([*header, table(run), "", *(f"- {line}" for line in conclusions(run))]) + "\n"


def write_json(run: BenchRun, path: Path) -> None:
    path.write_text(json.dumps(run.document(), indent=2, default=str) + "\n", encoding="utf-8")
