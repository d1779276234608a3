"""An expiring template (``-c expires_in_hours=N``) must not be deployed with its expiry past or too close.

The expiry is fixed when the template is synthesized, so a template deployed later (an assembly kept from
an earlier ``make synth``, a pipeline that synthesizes in one job and deploys in another) may carry a time
that has passed, or one that falls while CloudFormation is still creating the endpoint. CloudFormation has
no clock to compare against, so the pre-flight does it for the template ``make deploy`` deploys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sagemaker_openai.naming.tags import EXPIRES_AT_FORMAT
from sagemaker_openai.preflight.report import Context, Finding, ok, problem

EXPIRES_AT_OUTPUT = "ExpiresAt"
# An endpoint create takes about 10 minutes; a schedule that fires before it ends deletes a half-made stack.
MIN_LEAD = timedelta(minutes=15)


def check_expiry(ctx: Context) -> list[Finding]:
    template = ctx.template
    if template is None:
        return []
    output = template.get("Outputs", {}).get(EXPIRES_AT_OUTPUT)
    if output is None:
        return []
    name = "expiry"
    stamp = str(output.get("Value"))
    try:
        expires = datetime.strptime(stamp, EXPIRES_AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return [problem(name, f"the template's ExpiresAt {stamp!r} is not a UTC time; synthesize it again")]
    left = expires - ctx.clock().astimezone(UTC)
    if left < MIN_LEAD:
        when = "passed" if left <= timedelta(0) else f"is {int(left.total_seconds() // 60)} minutes away"
        return [
            problem(
                name,
                f"the template deletes its stack at {stamp}, which {when} (the least is "
                f"{int(MIN_LEAD.total_seconds() // 60)} minutes): synthesize it again (make deploy "
                "EXPIRES_IN_HOURS=N does) so that the expiry counts from now",
            )
        ]
    return [ok(name, f"the stack deletes itself at {stamp}, in {_hours(left)}")]


def _hours(left: timedelta) -> str:
    minutes = int(left.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
