"""Importing the client loads nothing from the CDK side, and defers the heavy SDKs."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_ROOTS = {"aws_cdk", "jsii", "constructs", "cdk_nag", "yaml", "pydantic", "sagemaker", "openai"}
# stage-weights loads these when it runs, never on import (boto3 itself loads s3transfer's basics).
FORBIDDEN_ROOTS |= {"huggingface_hub", "hf_xet"}
# `bench --plot` loads matplotlib (the bench extra) when it draws, never on import.
FORBIDDEN_ROOTS |= {"matplotlib", "numpy"}
# The server stack of the proxy and local-runtime loads only when a server starts.
SERVER_ROOTS = {"starlette", "hypercorn", "aiohttp", "h2", "wsproto"}
FORBIDDEN_MODULES = {"sagemaker_openai.config", "sagemaker_openai.constructs", "stacks"}
FORBIDDEN_MODULES |= {"boto3.s3.transfer", "s3transfer.manager", "sagemaker_openai.operations.staging.hub"}


def _loaded_after(statement: str) -> list[str]:
    probe = f"import json, sys\n{statement}\nprint(json.dumps(sorted(m for m in sys.modules)))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    modules: list[str] = json.loads(output)
    return modules


def _forbidden(modules: list[str], allowed_roots: frozenset[str] = frozenset()) -> list[str]:
    return [
        name
        for name in modules
        if (name.split(".")[0] in (FORBIDDEN_ROOTS | SERVER_ROOTS) - allowed_roots)
        or any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN_MODULES)
    ]


# The client library is what an application imports: it never pulls in the servers, the operator tools
# or the CLI.
NOT_THE_CLIENT = ("sagemaker_openai.servers", "sagemaker_openai.operations", "sagemaker_openai.cli")


def test_importing_the_client_loads_no_cdk_no_server_and_none_of_the_other_packages() -> None:
    modules = _loaded_after(
        "import sagemaker_openai.client\n"
        "from sagemaker_openai.client import BearerTokenAuth, StackOutputs, resolve_region\n"
        "import sagemaker_openai.client.auth, sagemaker_openai.client.stack_outputs\n"
        "import sagemaker_openai.client.urls, sagemaker_openai.client.token_format"
    )
    assert "sagemaker_openai.client.auth" in modules
    assert _forbidden(modules) == []
    assert [
        name for name in modules if any(name == p or name.startswith(f"{p}.") for p in NOT_THE_CLIENT)
    ] == []


def test_importing_the_cli_and_its_commands_loads_no_cdk_and_no_heavy_sdk() -> None:
    modules = _loaded_after(
        "import sagemaker_openai.cli.main\n"
        "import sagemaker_openai.cli.bench\nimport sagemaker_openai.operations.bench.command\n"
        "import sagemaker_openai.servers.proxy.routes\n"
        "from sagemaker_openai.servers.local_runtime import EndpointLayout, RuntimeSettings, TokenVerifier"
    )
    assert {"sagemaker_openai.cli.proxy", "sagemaker_openai.cli.stage_weights"} <= set(modules)
    assert _forbidden(modules) == []


def test_the_factories_load_the_openai_sdk_but_not_sagemaker_core() -> None:
    modules = _loaded_after("from sagemaker_openai.client import openai_client, async_openai_client")
    assert "openai" in modules
    assert _forbidden(modules, allowed_roots=frozenset({"openai", "pydantic"})) == []


def test_the_servers_load_their_server_stack_but_not_the_sdks() -> None:
    modules = _loaded_after(
        "import sagemaker_openai.servers.proxy.app\nimport sagemaker_openai.servers.proxy.server\n"
        "from sagemaker_openai.servers.local_runtime import LocalRuntimeServer"
    )
    # The proxy's client to SageMaker (aiohttp) loads with its app.
    assert {"starlette", "hypercorn", "aiohttp", "sagemaker_openai.servers.local_runtime.server"} <= set(
        modules
    )
    assert _forbidden(modules, allowed_roots=frozenset(SERVER_ROOTS)) == []
