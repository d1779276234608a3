"""The deployable stacks and the app that holds them, shared by ``app.py`` and the tests."""

from datetime import datetime

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

from sagemaker_openai.config import KitConfig, collect_warnings
from sagemaker_openai.constructs.nag_rules import SageMakerOpenAIChecks
from stacks.openai_endpoint_stack import OpenAIEndpointStack
from stacks.permissions_boundary import CONTEXT_KEY, apply_permissions_boundary, parse_permissions_boundary

__all__ = ["OpenAIEndpointStack", "add_deployment", "add_nag_packs", "build_app", "synth_warnings"]

NOBODY_NOTIFIED = (
    "monitoring.alarms: the alarms notify nobody: no SNS topic is created or named, so they change state in "
    "the CloudWatch console only; set monitoring.create_sns_topic: true (then subscribe to the AlarmTopicArn "
    "output) or monitoring.sns_topic_arn"
)


def add_nag_packs(app: cdk.App) -> None:
    """Run the AwsSolutions, NIST 800-53 R5, HIPAA Security and the kit's own packs at synth.

    A finding fails the synth unless it is acknowledged beside its resource.
    """
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), NIST80053R5Checks(app), HIPAASecurityChecks(app), SageMakerOpenAIChecks(app)
    )


def add_deployment(
    app: cdk.App, config: KitConfig, *, expires_at: datetime | None = None
) -> OpenAIEndpointStack:
    """Add the stack for ``config``; environment-agnostic unless the config names a region.

    With ``expires_at`` the stack deletes itself at that time (``-c expires_in_hours=N``).
    """
    env = cdk.Environment(region=config.region) if config.region else None
    return OpenAIEndpointStack(app, config.name, config=config, env=env, expires_at=expires_at)


def synth_warnings(config: KitConfig) -> list[str]:
    """What ``app.py`` prints at synth: the config's warnings, then what only the stack tells (alarms on
    with no topic notify nobody)."""
    lines = collect_warnings(config)
    if config.monitoring.alarms and not config.monitoring.notifies:
        lines.append(NOBODY_NOTIFIED)
    return lines


def build_app(
    config: KitConfig, *, app: cdk.App | None = None, expires_at: datetime | None = None
) -> cdk.App:
    """The app with the nag packs and the stack for ``config`` (``app`` carries CLI context or an outdir).

    With ``-c permissions_boundary=ARN`` (the CI access stack's boundary) every role of the stack carries
    that boundary, and its roles and managed policies sit at the kit's IAM path.
    """
    app = app or cdk.App()
    boundary = parse_permissions_boundary(app.node.try_get_context(CONTEXT_KEY))
    add_nag_packs(app)
    stack = add_deployment(app, config, expires_at=expires_at)
    if boundary is not None:
        apply_permissions_boundary(stack, boundary)
    return app
