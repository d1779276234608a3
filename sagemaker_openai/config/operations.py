"""Who may call the endpoint and how long its logs are kept."""

import re
from typing import Literal, Self

from pydantic import Field, model_validator

from sagemaker_openai.config._base import ConfigWarning, Spec

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$")


class InvokerSpec(Spec):
    """Who may assume the invoker role. Empty means the deploying account (its IAM decides who)."""

    trusted_principals: list[str] = Field(default_factory=list)
    max_session_hours: int = Field(1, ge=1, le=12)
    # Inference-component mode: the model keys whose components the invoker may call (default: all).
    models: list[str] | None = Field(None, min_length=1)
    # Adds aws:ResourceAccount = ${aws:PrincipalAccount} to CallWithBearerToken, as the job runtime's managed
    # policy does; AWS's example for the OpenAI route has no condition (unverified on a live endpoint).
    restrict_bearer_token_to_account: bool = False

    @model_validator(mode="after")
    def _check_principals(self) -> Self:
        for principal in self.trusted_principals:
            if not (_ACCOUNT_ID.match(principal) or _IAM_ROLE_ARN.match(principal)):
                raise ValueError(
                    f"trusted_principals entry {principal!r} must be a 12-digit account ID or an IAM "
                    "role, user or root ARN"
                )
        return self

    def warnings(self) -> list[ConfigWarning]:
        roles = [p for p in self.trusted_principals if ":role/" in p]
        if self.max_session_hours <= 1 or not roles:
            return []
        # STS AssumeRole (DurationSeconds): role chaining caps a session at one hour; asking for more fails.
        return [
            ConfigWarning(
                "max_session_hours",
                f"is {self.max_session_hours} but a role ({', '.join(roles)}) that assumes the invoker role "
                "is role chaining, which AWS caps at 1 hour (AssumeRole with a longer DurationSeconds "
                "fails); lower it to 1, or trust an account or user for sessions longer than an hour",
            )
        ]


class LogsSpec(Spec):
    retention_days: LogRetentionDays = 30
    retain_on_delete: bool = False
