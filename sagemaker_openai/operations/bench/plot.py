"""`--plot FILE.png`: latency percentiles and throughput against the load level (the `bench` extra).

matplotlib is imported here only, when a plot is asked for; without it the error names the extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sagemaker_openai.client.errors import SageMakerOpenAIError

if TYPE_CHECKING:
    from sagemaker_openai.operations.bench.report import BenchRun


def plot_run(run: BenchRun, path: Path) -> None:
    """Two panels sharing the level axis: TTFT and ITL percentiles (ms), then output tokens per second."""
    try:
        import matplotlib as mpl  # noqa: PLC0415 - the optional extra, loaded only for --plot

        mpl.use("Agg")  # files only: no display is needed or wanted
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise SageMakerOpenAIError("--plot needs matplotlib: pip install 'sagemaker-openai[bench]'") from None
    levels = [level for level in run.levels if level.completed]
    if not levels:
        raise SageMakerOpenAIError("--plot: no level completed a request, so there is nothing to draw")
    xs = [level.level.x for level in levels]
    by_rate = levels[0].level.rate is not None
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    for name, pick in (("TTFT", "ttft"), ("ITL", "itl")):
        for percentile, style in (("p50", "-"), ("p90", "--"), ("p99", ":")):
            values = [getattr(getattr(level, pick), percentile) for level in levels]
            latency.plot(
                xs,
                [None if v is None else v * 1000 for v in values],
                style,
                marker="o",
                label=f"{name} {percentile}",
            )
    # TTFT grows with the queue while ITL stays near the token pace: only a log scale shows both.
    latency.set_yscale("log")
    latency.set_ylabel("milliseconds")
    latency.set_title("Latency")
    throughput.plot(xs, [level.per_second(level.output_tokens) for level in levels], "-", marker="o")
    throughput.set_ylabel("output tokens per second")
    throughput.set_title("Output throughput")
    for axes in (latency, throughput):
        axes.set_xlabel("requests per second" if by_rate else "concurrent streams")
        if not by_rate and len(set(xs)) > 1:
            axes.set_xscale("log", base=2)
        axes.set_xticks(xs, [f"{x:g}" for x in xs])
        axes.grid(visible=True, alpha=0.3)
    latency.legend(fontsize="small")
    figure.suptitle(
        f"sagemaker-openai bench: {run.settings.get('model') or run.settings.get('base_url', '')}"
    )
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
