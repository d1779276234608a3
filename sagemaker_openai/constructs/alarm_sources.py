"""Who may publish to the kit's alarm topic and key: CloudWatch, for this account's alarms of the stack."""

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Stack
from constructs import Construct

CLOUDWATCH_ALARMS = "cloudwatch.amazonaws.com"


def alarm_name_prefixes(endpoint_name: str, component_names: Sequence[str] = ()) -> list[str]:
    """What every alarm name of the stack starts with: ``<endpoint>-`` and, for a component name cut to
    63 characters with a hash (which no longer starts with the endpoint's), ``<component>-``."""
    prefixes = [f"{endpoint_name}-"]
    prefixes += [f"{name}-" for name in component_names if not name.startswith(prefixes[0])]
    return prefixes


def alarm_source_conditions(scope: Construct, prefixes: Sequence[str]) -> dict[str, dict[str, object]]:
    """The confused-deputy guard for ``cloudwatch.amazonaws.com``: this account, and alarms of this region
    and account whose names start with one of ``prefixes`` (CloudWatch names the alarm as the source ARN,
    ``arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>``)."""
    stack = Stack.of(scope)
    arns = [
        stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"{prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for prefix in prefixes
    ]
    return {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": arns if len(arns) > 1 else arns[0]},
    }
