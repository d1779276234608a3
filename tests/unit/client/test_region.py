"""Region resolution: explicit, then the runtime host, then the AWS session; never a silent default."""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.session
import pytest

from sagemaker_openai.client.errors import RegionError
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.client.urls import RuntimeUrl, parse_runtime_url, region_from_host

IC_URL = "https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/ep/inference-components/ic-a/openai/v1"


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/ep/openai/v1", "us-west-2"),
        ("https://runtime.sagemaker.cn-north-1.amazonaws.com.cn/endpoints/ep/openai/v1", "cn-north-1"),
        ("https://runtime.sagemaker.us-gov-west-1.amazonaws.com/endpoints/ep/openai/v1", "us-gov-west-1"),
        ("https://runtime.sagemaker.eusc-de-east-1.amazonaws.eu/endpoints/ep/openai/v1", "eusc-de-east-1"),
        ("https://runtime-fips.sagemaker.us-east-2.amazonaws.com/endpoints/ep/openai/v1", "us-east-2"),
        (
            "https://vpce-0abc.runtime.sagemaker.eu-west-1.vpce.amazonaws.com/endpoints/ep/openai/v1",
            "eu-west-1",
        ),
        ("http://127.0.0.1:8080/endpoints/ep/openai/v1", None),
        ("https://proxy.example.com/endpoints/ep/openai/v1", None),
    ],
)
def test_region_from_runtime_hosts(url: str, region: str | None) -> None:
    assert region_from_host(url) == region


def test_runtime_url_names_endpoint_and_component() -> None:
    assert parse_runtime_url(IC_URL) == RuntimeUrl("ep", "ic-a", "us-west-2")
    assert parse_runtime_url("http://127.0.0.1:1/endpoints/ep/openai/v1/") == RuntimeUrl("ep", None, None)
    assert parse_runtime_url("https://api.openai.com/v1") is None


def test_explicit_region_wins_over_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert resolve_region("ap-south-1") == "ap-south-1"


def test_host_region_wins_over_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert resolve_region(base_url=IC_URL) == "us-west-2"


def test_explicit_region_must_match_the_host() -> None:
    with pytest.raises(RegionError, match=r"region eu-west-1 does not match the endpoint's region us-west-2"):
        resolve_region("eu-west-1", base_url=IC_URL)


def test_local_urls_take_the_session_region_like_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")  # boto3 does not read it, so neither do we
    assert resolve_region(base_url="http://127.0.0.1:1/endpoints/ep/openai/v1") == "eu-central-1"
    assert resolve_region(session=boto3.Session(region_name="sa-east-1")) == "sa-east-1"


def test_profile_region_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[profile demo]\nregion = ca-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert resolve_region(session=botocore.session.Session(profile="demo")) == "ca-central-1"


def test_no_region_names_both_fixes() -> None:
    with pytest.raises(RegionError, match=r"pass --region .* or set AWS_DEFAULT_REGION"):
        resolve_region(base_url="http://127.0.0.1:1/endpoints/ep/openai/v1")
