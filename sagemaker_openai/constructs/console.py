"""Links to the AWS console in the stack's own partition, for outputs a user opens."""

from collections.abc import Sequence

from aws_cdk import Aws, CfnMapping, Fn
from constructs import Construct

# The console's domain per partition.
CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def console_url(scope: Construct, path: Sequence[str]) -> str:
    """`https://<the partition's console domain>` and `path` joined, as a token; call once per scope (the
    domain mapping is created under it)."""
    domains = CfnMapping(
        scope,
        "ConsoleDomain",
        mapping={partition: {"Domain": domain} for partition, domain in CONSOLE_DOMAINS.items()},
    )
    return Fn.join("", ["https://", domains.find_in_map(Aws.PARTITION, "Domain"), *path])
