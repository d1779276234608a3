"""Run every check at once and collect the findings; credentials and region come first."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from sagemaker_openai.config import KitConfig
from sagemaker_openai.preflight import (
    account,
    expiry,
    keys,
    logs,
    network,
    observability,
    pricing,
    principals,
    topic,
    weights,
)
from sagemaker_openai.preflight.model_config import check_model_config
from sagemaker_openai.preflight.report import Context, Finding, Skipped, error_code, info, problem, skipped

Check = Callable[[Context], list[Finding]]

# (name, check) in the order they are reported.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("expiry", expiry.check_expiry),
    ("CDK bootstrap", account.check_bootstrap),
    ("image", account.check_image_region),
    ("quota", account.check_quota),
    ("weights", weights.check_weights),
    ("model config", check_model_config),
    ("vpc", network.check_vpc),
    ("vpc routes", network.check_routes),
    ("kms.key_arn", keys.check_key_policy),
    ("trusted principals", principals.check_trusted_principals),
    ("log groups", logs.check_log_groups),
    ("alarm topic", topic.check_alarm_topic),
    ("cost", pricing.check_cost),
    ("observability", observability.check_observability),
)
# Checks that inform and never stop a deploy: if AWS fails them (throttling, an outage, an answer the check
# cannot read), they say so in a note. A denied call still prints "skipped: needs <action>".
ADVISORY = frozenset({"quota", "cost"})


class Fatal(Exception):
    """No check can run: no region, no credentials, or credentials AWS refuses."""


def identify(config: KitConfig, session: boto3.Session | None = None) -> Context:
    """The context for the checks: who the caller is, in which account, partition and region."""
    if session is None:
        # The CDK CLI honours AWS_REGION as well; botocore reads only AWS_DEFAULT_REGION and profiles.
        session = boto3.Session(region_name=config.region or os.environ.get("AWS_REGION") or None)
    region = session.region_name
    if region is None:
        raise Fatal(
            "no AWS region: set region in the config or AWS_REGION / AWS_DEFAULT_REGION "
            "(to build offline without AWS, run `make synth`)"
        )
    try:
        identity = session.client("sts").get_caller_identity()
    except (NoCredentialsError, NoRegionError):
        raise Fatal(
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE or environment "
            "variables), or run `make synth` to build and check the stack offline"
        ) from None
    except (ClientError, BotoCoreError) as exc:
        raise Fatal(f"AWS credentials were rejected: {exc} (or run `make synth` offline)") from None
    partition = str(identity["Arn"]).split(":")[1]
    return Context(
        config=config, session=session, account=identity["Account"], region=region, partition=partition
    )


def run_check(name: str, check: Check, ctx: Context) -> list[Finding]:
    failed = info if name in ADVISORY else problem
    try:
        return check(ctx)
    except Skipped as denied:
        return [skipped(name, f"skipped: needs {denied.action}")]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        return [failed(name, f"could not check: {error_code(exc)}: {message}")]
    except BotoCoreError as exc:
        return [failed(name, f"could not check: {exc}")]
    except (KeyError, TypeError, ValueError) as exc:
        if name not in ADVISORY:
            raise
        return [info(name, f"could not check: unexpected answer ({type(exc).__name__}: {exc})")]


def run_checks(ctx: Context, checks: tuple[tuple[str, Check], ...] = CHECKS) -> list[Finding]:
    """Every check's findings, in the order of `checks`; the checks run in parallel."""
    with ThreadPoolExecutor(len(checks)) as pool:
        results = list(pool.map(lambda item: run_check(item[0], item[1], ctx), checks))
    return [finding for found in results for finding in found]
