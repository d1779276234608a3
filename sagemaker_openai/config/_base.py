"""What every config section shares: strict, immutable models and SageMaker's timeout range."""

from typing import Annotated, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

# SageMaker's ContainerStartupHealthCheckTimeoutInSeconds and ModelDataDownloadTimeoutInSeconds range.
TimeoutSeconds = Annotated[int, Field(ge=60, le=3600)]


class Spec(BaseModel):
    """A config section: unknown keys are refused and values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def warnings(self) -> list["ConfigWarning"]:
        """Advice on this section alone: valid, but likely not what the user meant (none by default).

        Sections override this; ``collect_warnings`` walks the nested sections and prefixes the paths.
        """
        return []


class ConfigWarning(NamedTuple):
    """One line of advice about a valid config: the field path relative to its section, and the message."""

    field: str
    message: str


def collect_warnings(spec: Spec, path: str = "") -> list[str]:
    """Every warning of ``spec`` and its nested sections, as ``field.path: message`` lines, outer first."""
    lines = [f"{_join(path, warning.field) or '<config>'}: {warning.message}" for warning in spec.warnings()]
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        if isinstance(value, Spec):
            lines.extend(collect_warnings(value, _join(path, name)))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Spec):
                    lines.extend(collect_warnings(item, f"{_join(path, name)}[{index}]"))
    return lines


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path and field else path or field
