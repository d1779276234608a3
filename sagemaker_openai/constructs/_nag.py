"""Acknowledging cdk-nag v3 findings one by one, each with the AWS fact that makes it acceptable."""

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from sagemaker_openai.naming.intrinsics import render_intrinsics

AWS_SOLUTIONS = "AwsSolutions"
NIST_R5 = "NIST.800.53.R5"
HIPAA = "HIPAA.Security"
KIT = "SageMakerOpenAI"


def acknowledge(construct: IConstruct, rule: str, reason: str, *, packs: tuple[str, ...]) -> None:
    """Acknowledge ``rule`` (``IAM5[Resource::*]``, a NIST/HIPAA rule name) on ``construct`` for ``packs``."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"{pack}::{pack}-{rule}", reason=reason) for pack in packs)
    )


def finding_resource(scope: IConstruct, value: str) -> str:
    """How cdk-nag names a resource in a finding ID: intrinsics become ``<AWS::Region>`` and the like."""
    return render_intrinsics(Stack.of(scope).resolve(value), lambda name: f"<{name}>")
