"""The read-only AWS actions that `make preflight` calls, one constant that the CI access role is built from.

The pre-flight prints ``skipped: needs <action>`` when a check is denied, so a role given exactly these
actions runs every check; the CI access stack grants them and nothing more for the pre-flight.
"""

# (action, why the pre-flight calls it)
PREFLIGHT_READ_ACTIONS: tuple[tuple[str, str], ...] = (
    ("sts:GetCallerIdentity", "which account the credentials belong to"),
    ("ssm:GetParameter", "the CDK bootstrap version parameter of the account and region"),
)
