"""The one exception a user sees for a deployment that cannot be built."""


class ConfigError(ValueError):
    """A config or prop that cannot be deployed; ``str()`` is a single line naming the field and the fix."""
