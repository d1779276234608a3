"""Where a bearer token may be sent: HTTPS to a SageMaker runtime host, loopback, or a host the caller names.

A token carries the authority of the credentials that signed it for up to 12 hours, so it must not reach a
host that is not SageMaker's, nor travel in clear text. Runtime host names follow the sagemaker-runtime
endpoint rules in botocore (`runtime.sagemaker.{region}.{dnsSuffix}`, `runtime-fips.sagemaker...`,
`runtime.sagemaker-fips...`, and the dual-stack suffix), plus VPC interface endpoint names
(`vpce-...runtime.sagemaker.{region}.vpce.{dnsSuffix}`). DNS suffixes and region patterns come from
botocore's partition data, so every partition botocore knows is covered.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sagemaker_openai.client.errors import SageMakerOpenAIError

_RUNTIME_HOST = re.compile(
    r"^(?P<vpce>vpce-[a-z0-9-]+\.)?runtime(?:-fips)?\.sagemaker(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?P<suffix>.+)$"
)
_HOST_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


class UntrustedHostError(SageMakerOpenAIError):
    """A URL a bearer token must not be sent to (the message names the host, never a credential)."""


@dataclass(frozen=True)
class _Partition:
    dns_suffixes: frozenset[str]
    region_pattern: re.Pattern[str]


@functools.cache
def _partitions() -> tuple[_Partition, ...]:
    import botocore.loaders  # noqa: PLC0415 - local-runtime checks loopback URLs without loading botocore

    data = botocore.loaders.create_loader().load_data("partitions")
    return tuple(
        _Partition(
            dns_suffixes=frozenset(
                {partition["outputs"]["dnsSuffix"], partition["outputs"]["dualStackDnsSuffix"]}
            ),
            region_pattern=re.compile(partition["regionRegex"]),
        )
        for partition in data["partitions"]
    )


def runtime_host_region(host: str) -> str | None:
    """The region of a SageMaker runtime host name (any partition, FIPS, dual-stack or VPC endpoint)."""
    match = _RUNTIME_HOST.match(host.lower().rstrip("."))
    if match is None:
        return None
    region, suffix = match.group("region"), match.group("suffix")
    if match.group("vpce") is not None:
        if not suffix.startswith("vpce."):
            return None
        suffix = suffix.removeprefix("vpce.")
    for partition in _partitions():
        if suffix in partition.dns_suffixes and partition.region_pattern.match(region):
            return region
    return None


def is_loopback(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_allowed_hosts(hosts: Iterable[str]) -> frozenset[str]:
    """Lower-cased host names; anything else (a URL, a port, a wildcard) is refused with the fix."""
    if isinstance(hosts, str):
        hosts = [hosts]
    normalized: set[str] = set()
    for host in hosts:
        name = host.strip().lower().rstrip(".")
        if not _HOST_NAME.match(name):
            raise ValueError(
                f"allowed_hosts entry {host!r} is not a host name; give names such as 'proxy.example.com' "
                "(no scheme, port, path or wildcard)"
            )
        normalized.add(name)
    return frozenset(normalized)


def check_token_destination(url: str, allowed_hosts: frozenset[str] = frozenset()) -> None:
    """Return when a bearer token may go to `url`; raise UntrustedHostError (one line) otherwise."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme in ("http", "https") and host and is_loopback(host):
        return
    if scheme == "https" and host and (runtime_host_region(host) is not None or host in allowed_hosts):
        return
    raise UntrustedHostError(untrusted_host_message(url))


def origin(url: str) -> str:
    """``scheme://host[:port]`` of `url`, without user info, path or query (which may hold credentials)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}{port}"


def untrusted_host_message(url: str) -> str:
    shown = origin(url)
    return (
        f"refusing to send a SageMaker bearer token to {shown}: tokens go only over HTTPS to a SageMaker "
        "runtime host (runtime.sagemaker.REGION.amazonaws.com, its FIPS, dual-stack or VPC endpoint names) "
        "or to a loopback host; fix the URL, or name a proxy's host in allowed_hosts="
    )
