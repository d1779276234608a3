"""Before `make deploy`/`make destroy`: a valid config, AWS credentials, a region and a bootstrapped account.

Each failure is one line on stderr with the fix, and exit 1, before the CDK CLI starts.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sagemaker_openai.config import load_config
from sagemaker_openai.errors import ConfigError

if TYPE_CHECKING:
    import boto3

BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


def check(
    config_path: str, stack_name: str | None, *, bootstrap: bool, session: "boto3.Session | None" = None
) -> str:
    """Return a one-line summary of where the stack goes, or raise SystemExit with the problem."""
    try:
        config = load_config(config_path, stack_name=stack_name)
    except ConfigError as exc:
        raise SystemExit(f"Error: {exc}") from None

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    if session is None:
        # The CDK CLI honours AWS_REGION as well; botocore reads only AWS_DEFAULT_REGION and profiles.
        session = boto3.Session(region_name=config.region or os.environ.get("AWS_REGION") or None)
    region = session.region_name
    if region is None:
        raise SystemExit(
            "Error: no AWS region: set region in the config or AWS_REGION / AWS_DEFAULT_REGION "
            "(to build offline without AWS, run `make synth`)"
        )
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (NoCredentialsError, NoRegionError):
        raise SystemExit(
            "Error: no AWS credentials found: configure them (aws configure, AWS_PROFILE or environment "
            "variables), or run `make synth` to build and check the stack offline"
        ) from None
    except (ClientError, BotoCoreError) as exc:
        raise SystemExit(
            f"Error: AWS credentials were rejected: {exc} (or run `make synth` offline)"
        ) from None
    if bootstrap:
        try:
            session.client("ssm").get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                raise SystemExit(
                    f"Error: account {account} is not bootstrapped for the CDK in {region}: run "
                    f"`npx cdk bootstrap aws://{account}/{region}`, then `make deploy` again"
                ) from None
            # AccessDenied on SSM: the CDK CLI checks the bootstrap stack itself.
    return f"Deploying stack {config.name} to account {account} in {region}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--stack-name")
    parser.add_argument("--no-bootstrap-check", action="store_true")
    args = parser.parse_args(argv)
    print(check(args.config, args.stack_name, bootstrap=not args.no_bootstrap_check))
    return 0


if __name__ == "__main__":
    sys.exit(main())
