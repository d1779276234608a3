"""`sagemaker-openai bench` as a command: flags, one-line errors, and its JSON, plot and markdown outputs."""

from __future__ import annotations

import argparse
import io
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from botocore.stub import Stubber

from sagemaker_openai.cli._context import CliContext
from sagemaker_openai.cli.main import build_parser, run
from sagemaker_openai.operations.bench.cost import (
    Deployment,
    HourlyPrice,
    describe_deployment,
    list_price,
    usd_per_million_output_tokens,
)
from sagemaker_openai.operations.bench.measure import ClientLoad, LevelResult, RequestRecord, percentile
from sagemaker_openai.operations.bench.prompts import JsonlRequests, SyntheticPrompts
from sagemaker_openai.operations.bench.report import BenchRun
from sagemaker_openai.operations.bench.settings import BenchSettingsError, LoadLevel, Slo, Spread
from sagemaker_openai.preflight.pricing import hosting_hourly_price
from sagemaker_openai.servers.local_runtime import EndpointLayout, LocalRuntimeServer, RuntimeSettings

from .conftest import RuntimeFactory
from .helpers import REGION, StubbedSession, aws_client, client_config, write_outputs_file

ENDPOINT = {
    "EndpointName": "demo-ep",
    "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep",
    "EndpointConfigName": "demo-config",
    "EndpointStatus": "InService",
    "CreationTime": "2026-01-01T00:00:00Z",
    "LastModifiedTime": "2026-01-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    settings = RuntimeSettings(
        layout=EndpointLayout("bench"), verifier=None, token_delay=0.002, first_token_delay=0.005
    )
    server = LocalRuntimeServer(settings)
    with server.running():
        yield server.base_urls()[0]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["bench", *argv], CliContext(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


def test_a_sweep_writes_json_plot_and_markdown(base_url: str, tmp_path: Path) -> None:
    paths = {name: tmp_path / name for name in ("run.json", "run.png", "run.md")}
    code, out, err = _run(
        *("--base-url", base_url, "--concurrency", "1,2", "--requests", "3", "--input-tokens", "4"),
        *("--output-tokens", "6", "--price-per-hour", "1.20", "--slo", "ttft=2,itl=500ms"),
        *(
            "--json",
            str(paths["run.json"]),
            "--plot",
            str(paths["run.png"]),
            "--markdown",
            str(paths["run.md"]),
        ),
    )
    assert (code, err) == (0, "")
    assert out.startswith("concurrency 1: 3/3 ok, TTFT p50 ")
    document = json.loads(paths["run.json"].read_text())
    assert [level["level"]["concurrency"] for level in document["levels"]] == [1, 2]
    for level in document["levels"]:
        assert level["completed"] == 3
        assert level["output_tokens"] == 18
        assert level["ttft_seconds"]["p50"] >= 0.005
        assert level["itl_seconds"]["p50"] > 0
        assert level["output_token_throughput"] > 0
        assert level["usd_per_million_output_tokens"] == pytest.approx(
            1.20 / 3600 / level["output_token_throughput"] * 1e6
        )
    assert document["settings"]["price"]["usd_per_hour"] == "1.20"
    assert document["settings"]["slo"] == {"ttft": 2.0, "itl": 0.5}
    assert document["best_level"] is not None
    assert paths["run.png"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    summary = paths["run.md"].read_text()
    assert "| concurrency 2 |" in summary
    assert "Best level under the SLO (ttft <= 2000 ms, itl <= 500 ms, 90% of requests)" in summary


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--concurrency", "0,4"], "--concurrency takes whole numbers from 1 to 4096"),
        (["--concurrency", "1,x"], "--concurrency '1,x' is not a comma-separated list of numbers"),
        (["--concurrency", "1", "--rate", "2"], "Provide either --concurrency or --rate, not both."),
        (["--rate", "0"], "--rate takes requests per second above 0"),
        (["--requests", "3", "--duration", "5"], "Provide either --requests or --duration, not both."),
        (["--input-tokens", "8:8"], "--input-tokens 8:8: the spread must be smaller than the mean"),
        (["--output-tokens", "many"], "--output-tokens 'many' is not MEAN or MEAN:SPREAD in tokens"),
        (["--slo", "ttft=fast"], "--slo 'ttft=fast': each item must be KEY=SECONDS"),
        (["--slo-attainment", "0"], "--slo-attainment is a percentage above 0 and up to 100"),
        (["--price-per-hour", "cheap"], "--price-per-hour 'cheap' must be a positive USD amount"),
        (
            ["--api-key-env", "BENCH_TEST_NO_SUCH_KEY"],
            "environment variable BENCH_TEST_NO_SUCH_KEY (--api-key-env) is not set",
        ),
        (
            ["--api-key-env", "HOME", "--auth", "token"],
            "Provide either --auth token or --api-key-env, not both.",
        ),
        (
            ["--json", "/no/such/dir/run.json"],
            "--json /no/such/dir/run.json: directory /no/such/dir does not exist",
        ),
        (
            [
                "--auth",
                "none",
                "--base-url",
                "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/openai/v1",
            ],
            "--auth none is for a loopback --base-url only",
        ),
    ],
)
def test_a_bad_flag_value_gets_one_line_naming_it(flags: list[str], message: str, base_url: str) -> None:
    if "--base-url" not in flags:
        flags = ["--base-url", base_url, *flags]
    code, out, err = _run(*flags)
    assert code == 1
    assert out == ""
    assert err.startswith(f"Error: {message}")
    assert err.count("\n") == 1


def test_help_documents_every_flag() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    bench = cast("dict[str, argparse.ArgumentParser]", subparsers.choices)["bench"]
    undocumented = [a.option_strings for a in bench._actions if a.option_strings and not a.help]
    assert undocumented == []
    text = bench.format_help()
    for flag in (
        "--concurrency",
        "--rate",
        "--duration",
        "--requests",
        "--warmup",
        "--input-tokens",
        "--output-tokens",
        "--shared-prefix-tokens",
        "--prompts-file",
        "--slo",
        "--price-per-hour",
        "--json",
        "--plot",
        "--markdown",
        "--model",
        "--stack",
        "--outputs-file",
        "--base-url",
    ):
        assert flag in text


def test_spreads_slos_and_percentiles() -> None:
    assert Spread.parse("512:128", "--input-tokens") == Spread(512, 128)
    assert Slo.parse("ttft=500ms,itl=0.05") == Slo(ttft=0.5, itl=0.05)
    with pytest.raises(BenchSettingsError, match="give ttft once"):
        Slo.parse("ttft=1,ttft=2")
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == pytest.approx(3.97)


def test_shared_prefixes_are_shared_and_the_rest_differs() -> None:
    prompts = iter(
        SyntheticPrompts(input_tokens=Spread(10, 2), output_tokens=Spread(5), shared_prefix_tokens=30)
    )
    first, second = next(prompts), next(prompts)
    words = [spec.messages[0]["content"].split() for spec in (first, second)]
    assert words[0][:30] == words[1][:30]
    assert words[0][30] != words[1][30]
    assert all(8 <= len(w) - 30 <= 12 for w in words)
    assert first.max_tokens == second.max_tokens == 5


def test_a_jsonl_line_without_messages_is_named(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 9}\n{"prompt": "x"}\n')
    with pytest.raises(BenchSettingsError, match=r"requests.jsonl line 2 has no \"messages\" list"):
        JsonlRequests(path)


def _level(cpu: float, lag: float) -> LevelResult:
    record = RequestRecord(sent=0.0, finished=1.0, token_times=[0.1, 0.2], completion_tokens=2)
    return LevelResult(LoadLevel(concurrency=1), [record], 1.0, ClientLoad(1.0, cpu, lag), Slo())


def test_the_client_is_flagged_only_past_its_thresholds() -> None:
    assert not _level(cpu=0.5, lag=0.001).client_saturated
    assert _level(cpu=0.9, lag=0.001).client_saturated
    assert _level(cpu=0.5, lag=0.02).client_saturated


def test_the_best_level_is_the_cheapest_under_the_slo() -> None:
    cheap_but_slow = LevelResult(
        LoadLevel(concurrency=8),
        [RequestRecord(sent=0.0, finished=3.0, token_times=[2.0, 3.0], completion_tokens=2)],
        1.0,
        ClientLoad(1.0, 0.1, 0.0),
        Slo(ttft=1.0),
        usd_per_million_output_tokens=1.0,
    )
    dear_but_fast = LevelResult(
        LoadLevel(concurrency=1),
        [RequestRecord(sent=0.0, finished=1.0, token_times=[0.5, 1.0], completion_tokens=2)],
        1.0,
        ClientLoad(1.0, 0.1, 0.0),
        Slo(ttft=1.0),
        usd_per_million_output_tokens=9.0,
    )
    assert BenchRun({}, [dear_but_fast, cheap_but_slow], 0.9).best is dear_but_fast
    assert usd_per_million_output_tokens(Decimal("3.6"), 1000.0) == pytest.approx(1.0)


class _Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.asked: dict[str, Any] = {}

    def get_paginator(self, name: str) -> _Pages:
        assert name == "get_products"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.asked = kwargs
        return self.pages


def test_the_hourly_price_is_read_as_the_preflight_reads_it() -> None:
    item = {
        "publicationDate": "2026-11-01T00:00:00Z",
        "terms": {
            "OnDemand": {"t": {"priceDimensions": {"d": {"unit": "Hrs", "pricePerUnit": {"USD": "1.2120"}}}}}
        },
    }
    client = _Pages([{"PriceList": [json.dumps(item)]}])
    assert hosting_hourly_price(client, "ml.g6.2xlarge", "us-west-2") == (Decimal("1.2120"), "2026-11-01")
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-west-2"} in client.asked["Filters"]


def test_a_stack_model_is_called_with_a_self_renewing_token(
    local_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    server = local_runtime("ep", ("ic-a", "ic-b"))  # verifies every token against the fake keys
    models = {
        name.removeprefix("ic-"): {
            "base_url": f"{server.origin}/endpoints/ep/inference-components/{name}/openai/v1",
            "inference_component_name": name,
            "served_model_name": "",
        }
        for name in ("ic-a", "ic-b")
    }
    config = client_config(mode="inference_component", models=models)
    path = write_outputs_file(tmp_path / "cdk-outputs.json", {"Demo": {"ClientConfig": config}})
    code, _, err = _run("--outputs-file", str(path), "--requests", "1", "--concurrency", "1")
    assert (code, err) == (1, "Error: the stack serves several models (a, b); pick one with --model KEY\n")
    code, out, err = _run(
        *("--outputs-file", str(path), "--model", "b", "--requests", "2", "--concurrency", "1"),
        *("--output-tokens", "4", "--json", str(tmp_path / "b.json")),
    )
    assert (code, err) == (0, "")
    document = json.loads((tmp_path / "b.json").read_text())
    (level,) = document["levels"]
    assert (level["completed"], level["errors"], level["output_tokens"]) == (2, {}, 8)
    assert document["settings"]["stack"] == str(path)
    assert "local-runtime ic-b" not in out  # the answers are measured, not printed


def _described(
    configured: dict[str, object], serving: dict[str, object], environment: dict[str, str]
) -> Deployment:
    """describe_deployment against stubbed answers: the variant as configured and as serving, and the
    model's container environment."""
    client = aws_client("sagemaker")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_endpoint",
            {**ENDPOINT, "ProductionVariants": [{"VariantName": "AllTraffic", **serving}]},
            {"EndpointName": "demo-ep"},
        )
        stubber.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "demo-config",
                "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/demo-config",
                "ProductionVariants": [
                    {"VariantName": "AllTraffic", "ModelName": "demo-model", **configured}
                ],
                "CreationTime": "2026-01-01T00:00:00Z",
            },
            {"EndpointConfigName": "demo-config"},
        )
        stubber.add_response(
            "describe_model",
            {
                "ModelName": "demo-model",
                "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/demo-model",
                "CreationTime": "2026-01-01T00:00:00Z",
                "PrimaryContainer": {"Environment": environment},
            },
            {"ModelName": "demo-model"},
        )
        return describe_deployment(StubbedSession(sagemaker=client), REGION, "demo-ep", None)


def test_the_deployment_is_read_from_the_control_plane() -> None:
    deployment = _described(
        {"InstanceType": "ml.g6.2xlarge"},
        {"CurrentInstanceCount": 2},
        {"SM_VLLM_MAX_NUM_SEQS": "64", "SM_VLLM_MAX_MODEL_LEN": "8192", "HF_MODEL_ID": "m"},
    )
    assert deployment == Deployment("ml.g6.2xlarge", 2, {"max_model_len": "8192", "max_num_seqs": "64"})


def _pooled_deployment(pools: list[dict[str, object]]) -> Deployment:
    configured: dict[str, object] = {
        "InstancePools": [
            {"InstanceType": "ml.g6.2xlarge", "Priority": 1},
            {"InstanceType": "ml.g6e.2xlarge", "Priority": 2},
        ]
    }
    return _described(configured, {"InstancePools": pools}, {"SM_VLLM_MAX_NUM_SEQS": "64"})


def test_with_instance_pools_the_running_pool_is_the_deployment() -> None:
    deployment = _pooled_deployment(
        [
            {"InstanceType": "ml.g6.2xlarge", "CurrentInstanceCount": 0},
            {"InstanceType": "ml.g6e.2xlarge", "CurrentInstanceCount": 2},
        ]
    )
    assert deployment == Deployment("ml.g6e.2xlarge", 2, {"max_num_seqs": "64"})


def test_a_variant_with_neither_a_type_nor_pools_is_unpriced_without_a_pool_note() -> None:
    assert _described({}, {"CurrentInstanceCount": 1}, {}) == Deployment(None, 1, {})


def test_instances_of_several_pools_are_not_priced_as_one_type() -> None:
    deployment = _pooled_deployment(
        [
            {"InstanceType": "ml.g6.2xlarge", "CurrentInstanceCount": 1},
            {"InstanceType": "ml.g6e.2xlarge", "CurrentInstanceCount": 1},
        ]
    )
    assert (deployment.instance_type, deployment.instance_count) == (None, None)
    assert deployment.notes == (
        "endpoint demo-ep runs on instance pools (1 x ml.g6.2xlarge, 1 x ml.g6e.2xlarge); pass "
        "--instance-type and --instance-count to price one type, or --price-per-hour with the mix's total "
        "and --instance-count 1",
    )


def test_a_deployment_that_may_not_be_described_becomes_a_note() -> None:
    client = aws_client("sagemaker")
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_endpoint", "AccessDeniedException", "not allowed")
        deployment = describe_deployment(StubbedSession(sagemaker=client), REGION, "demo-ep", None)
    assert deployment.instance_type is None
    assert deployment.notes == (
        "could not read endpoint demo-ep's instances (AccessDeniedException); "
        "pass --instance-type and --instance-count to price it",
    )


def test_the_make_bench_script_runs_the_command_against_local_runtime() -> None:
    script = Path(__file__).resolve().parents[3] / "bench" / "bench_serving.py"
    arguments = [
        "--concurrency",
        "1,2",
        "--requests",
        "2",
        "--token-delay",
        "0.001",
        "--first-token-delay",
        "0.001",
    ]
    done = subprocess.run(
        [sys.executable, str(script), *arguments, "--max-num-seqs", "1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "concurrency 2: 2/2 ok" in done.stdout
    assert "| concurrency 2 | 2/2     | 0      |" in done.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_live_line_is_kept_up_to_date(base_url: str) -> None:
    settings = RuntimeSettings(
        layout=EndpointLayout("slow"), verifier=None, token_delay=0.2, first_token_delay=0.1
    )
    out = _Terminal()
    with LocalRuntimeServer(settings).running() as server:
        argv = ["bench", "--base-url", server.base_urls()[0], "--concurrency", "1", "--requests", "1"]
        code = run([*argv, "--output-tokens", "8", "--warmup", "0"], CliContext(stdout=out))
    assert code == 0
    text = out.getvalue()
    assert re.search(r"\r\x1b\[Kconcurrency 1: 0/1 answered, \d+ s", text)
    assert "\r\x1b[Kconcurrency 1: 1/1 ok, TTFT p50 " in text


def test_a_run_where_nothing_succeeded_fails_after_writing_its_figures(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/endpoints/gone/openai/v1"
    code, out, err = _run(
        "--base-url", url, "--requests", "2", "--concurrency", "1", "--json", str(tmp_path / "r.json")
    )
    assert code == 1
    assert err == (
        "Error: no request succeeded at any level (connection: 2); "
        "check the URL, the model name and the credentials\n"
    )
    assert "| concurrency 1 | 0/2     | connection: 2 |" in out
    assert json.loads((tmp_path / "r.json").read_text())["levels"][0]["errors"] == {"connection": 2}


def test_the_list_price_or_a_note_saying_why_not() -> None:
    item = {
        "publicationDate": "2026-11-01T00:00:00Z",
        "terms": {
            "OnDemand": {"t": {"priceDimensions": {"d": {"unit": "Hrs", "pricePerUnit": {"USD": "2.5"}}}}}
        },
    }
    session = StubbedSession(pricing=_Pages([{"PriceList": [json.dumps(item)]}]))  # type: ignore[arg-type]
    price, note = list_price(session, "ml.g6e.2xlarge", "eu-west-1")
    assert note is None
    assert price == HourlyPrice(
        Decimal("2.5"), "AWS Price List API, on demand, eu-west-1, published 2026-11-01"
    )
    empty = StubbedSession(pricing=_Pages([{"PriceList": []}]))  # type: ignore[arg-type]
    assert list_price(empty, "ml.x", "eu-west-1") == (
        None,
        "the Price List API lists no hosting price for ml.x in eu-west-1; pass --price-per-hour",
    )
    client = aws_client("pricing")
    with Stubber(client) as stubber:
        stubber.add_client_error("get_products", "AccessDeniedException", "no")
        assert list_price(StubbedSession(pricing=client), "ml.x", "eu-west-1") == (
            None,
            "could not read the Price List API (AccessDeniedException); pass --price-per-hour",
        )
