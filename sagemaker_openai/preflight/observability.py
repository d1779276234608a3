"""What the metrics settings cost: detailed observability is billed per GB of metrics ingested."""

from __future__ import annotations

from sagemaker_openai.preflight.report import Context, Finding, info


def check_observability(ctx: Context) -> list[Finding]:
    """A note when the endpoint config turns detailed observability on; nothing when it is off."""
    monitoring = ctx.config.monitoring
    if not monitoring.detailed_observability:
        return []
    return [
        info(
            "observability",
            "monitoring.detailed_observability is on: SageMaker publishes per-GPU, per-instance and vLLM "
            f"metrics every {monitoring.metric_publish_frequency_seconds} s, and CloudWatch bills them per "
            "GB ingested (not in the cost estimate); set it to false to avoid the charge",
        )
    ]
