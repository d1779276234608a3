"""Which region a token is signed for: explicit, else the runtime host's, else the AWS session's."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import botocore.exceptions
import botocore.session

from sagemaker_openai.client.errors import RegionError, SageMakerOpenAIError
from sagemaker_openai.client.urls import region_from_host

if TYPE_CHECKING:
    import boto3

AwsSession: TypeAlias = "boto3.Session | botocore.session.Session"


def profile_not_found(exc: botocore.exceptions.ProfileNotFound) -> SageMakerOpenAIError:
    return SageMakerOpenAIError(
        f"{exc}; fix AWS_PROFILE or --profile, or add the profile to your AWS config file"
    )


def session_region(session: AwsSession) -> str | None:
    """The region boto3 would use for this session (AWS_DEFAULT_REGION or the profile's, not AWS_REGION)."""
    try:
        if isinstance(session, botocore.session.Session):
            region = session.get_config_variable("region")
            return region if isinstance(region, str) and region else None
        return session.region_name or None
    except botocore.exceptions.ProfileNotFound as exc:
        raise profile_not_found(exc) from None


def resolve_region(
    explicit: str | None = None, *, base_url: str | None = None, session: AwsSession | None = None
) -> str:
    """Resolve the signing region, refusing a mismatch because a token works in one region only.

    Order: `explicit`, then the region in the base URL's runtime host, then the session's region.
    A local-runtime URL (http://127.0.0.1:PORT/...) carries no region, so one of the others must.
    """
    host_region = region_from_host(base_url) if base_url else None
    if explicit and host_region and explicit != host_region:
        raise RegionError(
            f"region {explicit} does not match the endpoint's region {host_region} (from {base_url}); "
            f"tokens are signed for one region, so drop the region setting or use {host_region}"
        )
    if explicit:
        return explicit
    if host_region:
        return host_region
    region = session_region(session if session is not None else botocore.session.Session())
    if region:
        return region
    raise RegionError(
        "no AWS region: pass --region (region= in code) or set AWS_DEFAULT_REGION "
        "(or a region in your AWS profile)"
    )
