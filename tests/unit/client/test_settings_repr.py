"""Objects that hold a key, token or secret never show it in their repr (a log line or a traceback's locals
would print it): each such dataclass field is declared repr=False, and the settings objects are checked."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from collections.abc import Iterator

import pydantic

import sagemaker_openai.cli
import sagemaker_openai.client
import sagemaker_openai.config
import sagemaker_openai.operations
import sagemaker_openai.servers
from sagemaker_openai.client.credentials import CredentialSnapshot
from sagemaker_openai.client.token_cache import CachedToken, MintedToken
from sagemaker_openai.servers.local_runtime import EndpointLayout, RuntimeSettings
from sagemaker_openai.servers.local_runtime.upstream import Upstream
from sagemaker_openai.servers.proxy.app import ProxySettings

SECRET = "s3cret-0123456789abcdef"
# Field names that hold a credential (not "key", a model's key, nor access_key, an access key ID).
_SECRET_FIELD = re.compile(r"(^|_)(api_key|secret_key|secret|password|token)$")


def _classes() -> Iterator[type]:
    packages = (
        sagemaker_openai.client,
        sagemaker_openai.servers,
        sagemaker_openai.operations,
        sagemaker_openai.cli,
    )
    for package in (*packages, sagemaker_openai.config):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module_info.name.endswith(".__main__"):  # running it is the CLI
                continue
            module = importlib.import_module(module_info.name)
            for value in vars(module).values():
                if isinstance(value, type) and value.__module__ == module.__name__:
                    yield value


def _shown_secret_fields(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if _SECRET_FIELD.search(f.name) and f.repr]
    if issubclass(cls, pydantic.BaseModel):
        return [
            name
            for name, info in cls.model_fields.items()
            if _SECRET_FIELD.search(name) and info.repr and info.annotation is not pydantic.SecretStr
        ]
    return []


def test_no_dataclass_or_model_shows_a_secret_field() -> None:
    classes = list(_classes())
    assert {ProxySettings, RuntimeSettings, CredentialSnapshot} <= set(classes)  # the scan reaches them
    shown = {f"{cls.__module__}.{cls.__qualname__}": _shown_secret_fields(cls) for cls in classes}
    assert {name: fields for name, fields in shown.items() if fields} == {}


def test_proxy_settings_hide_the_api_key() -> None:
    api_key = next(f for f in dataclasses.fields(ProxySettings) if f.name == "api_key")
    assert (api_key.repr, api_key.default) == (False, None)


def test_local_runtime_settings_hide_the_upstream_key_and_url_credentials() -> None:
    upstream = Upstream(f"http://user:{SECRET}@127.0.0.1:8000/v1?key={SECRET}", api_key=SECRET)
    settings = RuntimeSettings(layout=EndpointLayout("ep", ()), verifier=None, upstream=upstream)
    assert SECRET not in repr(settings)
    assert "Upstream('http://127.0.0.1:8000/v1')" in repr(settings)


def test_credentials_and_tokens_hide_their_values() -> None:
    held = [
        CredentialSnapshot("AKIAEXAMPLE", SECRET, SECRET, 900.0),
        MintedToken(value=SECRET, lifetime=900.0),
        CachedToken(value=SECRET, advisory_at=1.0, mandatory_at=2.0, expires_at=3.0),
    ]
    for holder in held:
        assert SECRET not in repr(holder), type(holder).__name__
