"""What every config section shares: strict, immutable models and SageMaker's timeout range."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# SageMaker's ContainerStartupHealthCheckTimeoutInSeconds and ModelDataDownloadTimeoutInSeconds range.
TimeoutSeconds = Annotated[int, Field(ge=60, le=3600)]


class Spec(BaseModel):
    """A config section: unknown keys are refused and values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
