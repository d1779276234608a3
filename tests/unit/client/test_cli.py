"""The sagemaker-openai command: what it prints, and one "Error: ..." line (exit 1) for every user error."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from sagemaker_openai.cli._context import CliContext, default_session
from sagemaker_openai.cli.main import run
from sagemaker_openai.client.auth import sagemaker_generate_token
from sagemaker_openai.client.token_format import decode_token
from sagemaker_openai.servers.local_runtime import EndpointLayout, LocalRuntimeServer, RuntimeSettings

from .conftest import RuntimeFactory
from .helpers import (
    REGION,
    CountingTokenFactory,
    StubbedSession,
    aws_client,
    client_config,
    write_outputs_file,
)

RUNTIME = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/demo-ep/openai/v1"
IN_SERVICE = {
    "EndpointName": "demo-ep",
    "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep",
    "EndpointStatus": "InService",
    "CreationTime": "2026-01-01T00:00:00Z",
    "LastModifiedTime": "2026-01-01T00:00:00Z",
}


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """The single error line (and assert there is exactly one, and no traceback)."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("Error: ")]
        assert len(lines) == 1, self.stderr
        assert "Traceback" not in self.stderr
        assert self.code == 1
        return lines[0].removeprefix("Error: ")


class Cli:
    def __init__(self) -> None:
        self.session: boto3.Session | None = None
        self.transport: httpx.BaseTransport | None = None
        self.token_factory: Any = None
        self.slept: list[float] = []
        self.clock = 0.0

    def __call__(self, *argv: str) -> Result:
        stdout, stderr = io.StringIO(), io.StringIO()

        def sleep(seconds: float) -> None:
            self.slept.append(seconds)
            self.clock += seconds

        ctx = CliContext(
            stdout=stdout,
            stderr=stderr,
            session_factory=lambda profile: self.session or default_session(profile),
            token_factory=self.token_factory,
            clock=lambda: self.clock,
            sleep=sleep,
            transport=self.transport,
        )
        code = run(list(argv), ctx)
        return Result(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def sagemaker(cli: Cli) -> Iterator[Stubber]:
    """Scripted control-plane answers for the fake runtime host."""
    client = aws_client("sagemaker")
    with Stubber(client) as stubber:
        cli.session = StubbedSession(sagemaker=client)
        yield stubber


def _runtime_answers(cli: Cli, *answers: httpx.Response) -> list[httpx.Request]:
    """Script the runtime's responses; returns the requests it received."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    cli.transport = httpx.MockTransport(respond)
    return seen


def _sse(*pieces: str) -> httpx.Response:
    events = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        for piece in pieces
    ]
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"Content-Type": "text/event-stream"})


def _completion(content: str | None, completion_tokens: int = 4) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": 5,
                "completion_tokens": completion_tokens,
                "total_tokens": 5 + completion_tokens,
            },
        },
    )


def _local_stack(tmp_path: Path, server_origin: str, components: tuple[str, ...]) -> Path:
    models = {
        name.removeprefix("ic-"): {
            "base_url": f"{server_origin}/endpoints/ep/inference-components/{name}/openai/v1",
            "inference_component_name": name,
            "served_model_name": f"served-{name}",
        }
        for name in components
    }
    config = client_config(mode="inference_component", models=models)
    return write_outputs_file(tmp_path / "cdk-outputs.json", {"Demo": {"ClientConfig": config}})


# --- outputs -------------------------------------------------------------------------------------------


def test_outputs_lists_the_urls(cli: Cli, tmp_path: Path) -> None:
    path = write_outputs_file(tmp_path / "out.json", {"Demo": {"ClientConfig": client_config()}})
    result = cli("outputs", "--outputs-file", str(path))
    assert result.code == 0
    assert result.stdout.splitlines() == [
        "stack Demo: endpoint demo-ep in us-east-1 (single_model)",
        f"default: {RUNTIME} (model name 'Qwen/Qwen3-4B')",
        "invoker policy: arn:aws:iam::123456789012:policy/demo-invoke",
        "invoker role: arn:aws:iam::123456789012:role/demo-invoker",
    ]
    as_json = json.loads(cli("outputs", "--outputs-file", str(path), "--json").stdout)
    assert as_json["models"]["default"]["base_url"] == RUNTIME


def test_outputs_from_cloudformation(cli: Cli) -> None:
    client = aws_client("cloudformation")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "Demo",
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [{"OutputKey": "ClientConfig", "OutputValue": client_config()}],
                    }
                ]
            },
            {"StackName": "Demo"},
        )
        cli.session = StubbedSession(cloudformation=client)
        result = cli("outputs", "--stack", "Demo", "--region", REGION)
    assert result.code == 0
    assert f"default: {RUNTIME}" in result.stdout


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "ValidationError",
            "stack Demo does not exist in us-east-1; check --stack and --region, or pass --outputs-file",
        ),
        (
            "AccessDenied",
            "not allowed to call cloudformation:DescribeStacks on Demo (the invoker role may only call "
            "the endpoint); pass --outputs-file with the JSON `cdk deploy --outputs-file` wrote",
        ),
    ],
)
def test_outputs_from_an_unknown_or_forbidden_stack(cli: Cli, code: str, expected: str) -> None:
    client = aws_client("cloudformation")
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_stacks", code, "Stack with id Demo does not exist", 400)
        cli.session = StubbedSession(cloudformation=client)
        assert cli("outputs", "--stack", "Demo").error == expected


def test_outputs_file_errors(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    assert cli("outputs", "--outputs-file", str(missing)).error == (
        f"outputs file {missing} does not exist; run `cdk deploy --outputs-file {missing}` or fix the path"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert cli("outputs", "--outputs-file", str(broken)).error.startswith(
        f"outputs file {broken} is not valid JSON"
    )
    several = write_outputs_file(tmp_path / "two.json", {"A": {}, "B": {}})
    assert (
        cli("outputs", "--outputs-file", str(several)).error
        == f"{several} holds 2 stacks (A, B); pass --stack NAME"
    )
    newer = write_outputs_file(
        tmp_path / "v2.json", {"Demo": {"ClientConfig": client_config(schema_version=2)}}
    )
    assert (
        "ClientConfig schema_version 2 is not supported" in cli("outputs", "--outputs-file", str(newer)).error
    )
    assert (
        cli("outputs").error
        == "pass --outputs-file FILE (written by `cdk deploy --outputs-file`) or --stack NAME"
    )


def test_unknown_profile(cli: Cli, tmp_path: Path) -> None:
    path = write_outputs_file(tmp_path / "out.json", {"Demo": {"ClientConfig": client_config()}})
    error = cli("outputs", "--outputs-file", str(path), "--profile", "nope").error
    assert error.startswith("The config profile (nope) could not be found; fix AWS_PROFILE or --profile")


def test_usage_errors_are_one_line(cli: Cli) -> None:
    assert cli("launch").error.startswith("argument COMMAND: invalid choice: 'launch'")
    assert cli("local-runtime").error == (
        "the following arguments are required: --endpoint; see `sagemaker-openai local-runtime --help`"
    )
    assert cli("chat", "hi", "--base-url", RUNTIME, "--stack", "Demo").error == (
        "Provide either --base-url or --outputs-file/--stack, not both."
    )


# --- token ---------------------------------------------------------------------------------------------


def test_token_prints_a_token_and_warns_that_it_is_a_credential(cli: Cli) -> None:
    result = cli("token", "--region", "eu-west-1")
    assert result.code == 0
    token = result.stdout.strip()
    decoded = decode_token(token)
    assert (decoded.region, decoded.expires_in) == ("eu-west-1", 900)
    assert result.stderr.startswith("Warning: this token is a credential")
    assert f"until {decoded.expires_at:%Y-%m-%d %H:%M:%S} UTC" in result.stderr
    assert token not in result.stderr


def test_token_takes_the_region_from_a_base_url(cli: Cli) -> None:
    result = cli("token", "--base-url", RUNTIME.replace("us-east-1", "ap-south-1"), "--expiry", "60")
    assert decode_token(result.stdout.strip()).region == "ap-south-1"


def test_token_errors(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("token").error == (
        "no AWS region: pass --region (region= in code) or set AWS_DEFAULT_REGION "
        "(or a region in your AWS profile)"
    )
    assert (
        cli("token", "--region", REGION, "--expiry", "43201").error
        == "--expiry must be between 1 and 43200 seconds"
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert cli("token", "--region", REGION).error.startswith("no AWS credentials found: set AWS_PROFILE")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_token_refuses_a_terminal_unless_forced() -> None:
    terminal, stderr = _Terminal(), io.StringIO()
    factory = CountingTokenFactory(sign=sagemaker_generate_token)
    ctx = CliContext(stdout=terminal, stderr=stderr, token_factory=factory)
    assert run(["token", "--region", REGION], ctx) == 1
    assert stderr.getvalue() == (
        "Error: refusing to print a bearer token to a terminal, where it stays in the scrollback; "
        'pipe it, as in curl -H @- "$BASE_URL/chat/completions" ... '
        '<<<"Authorization: Bearer $(sagemaker-openai token ...)", or pass --force\n'
    )
    assert (terminal.getvalue(), factory.calls) == ("", [])  # nothing minted, nothing printed
    assert run(["token", "--region", REGION, "--force"], ctx) == 0
    assert terminal.getvalue() == f"{factory.issued[0]}\n"


def test_token_help_shows_curl_reading_the_header_from_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["token", "--help"], CliContext())
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        'curl -H @- "$BASE_URL/chat/completions" ... <<<"Authorization: Bearer $(sagemaker-openai token'
        in help_text
    )
    assert '-H "Authorization' not in help_text


# --- chat ----------------------------------------------------------------------------------------------


def test_chat_streams_from_the_local_runtime(cli: Cli, local_runtime: RuntimeFactory, tmp_path: Path) -> None:
    server = local_runtime("ep", ("ic-a", "ic-b"))
    path = _local_stack(tmp_path, server.origin, ("ic-a", "ic-b"))
    result = cli("chat", "--outputs-file", str(path), "--model-key", "b", "how are you")
    assert (result.code, result.stdout, result.stderr) == (0, "local-runtime ic-b: how are you\n", "")
    assert cli("chat", "--outputs-file", str(path), "hi").error == (
        "the stack serves several models (a, b); pick one with --model-key"
    )


def test_chat_sends_the_token_and_the_served_model_name(cli: Cli, sagemaker: Stubber, tmp_path: Path) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE, {"EndpointName": "demo-ep"})
    cli.token_factory = CountingTokenFactory()
    seen = _runtime_answers(cli, _sse("Hello", " there"))
    path = write_outputs_file(tmp_path / "out.json", {"Demo": {"ClientConfig": client_config()}})
    result = cli("chat", "--outputs-file", str(path), "--system", "be brief", "hi")
    assert (result.code, result.stdout) == (0, "Hello there\n")
    (request,) = seen
    assert str(request.url) == f"{RUNTIME}/chat/completions"
    factory = cli.token_factory
    assert isinstance(factory, CountingTokenFactory)
    assert request.headers["Authorization"] == f"Bearer {factory.issued[0]}"
    assert len(factory.issued) == 1
    body = json.loads(request.content)
    assert body["model"] == "Qwen/Qwen3-4B"
    assert body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def test_chat_refuses_an_endpoint_that_is_not_in_service(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", {**IN_SERVICE, "EndpointStatus": "Creating"})
    seen = _runtime_answers(cli)
    error = cli("chat", "--base-url", RUNTIME, "hi").error
    assert error.startswith("endpoint demo-ep is Creating, not InService; wait for it")
    assert seen == []


def test_chat_goes_on_when_the_status_check_is_denied(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_client_error("describe_endpoint", "AccessDeniedException", "not authorized", 400)
    _runtime_answers(cli, _sse("fine"))
    result = cli("chat", "--base-url", RUNTIME, "hi")
    assert (result.code, result.stdout) == (0, "fine\n")
    assert result.stderr.startswith("Note: skipped the InService check: these credentials may not call")


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(
                403, json={"message": "User is not authorized to perform sagemaker:InvokeEndpoint"}
            ),
            f"HTTP 403 from {RUNTIME}/chat/completions: User is not authorized to perform "
            "sagemaker:InvokeEndpoint; the credentials may not call this endpoint: they need "
            "sagemaker:InvokeEndpoint on it and sagemaker:CallWithBearerToken (attach the stack's "
            "InvokerPolicyArn or assume its InvokerRoleArn)",
        ),
        (
            httpx.Response(
                424, json={"ErrorCode": "ModelError", "Message": "Received client error (400) from primary"}
            ),
            f"HTTP 424 from {RUNTIME}/chat/completions: Received client error (400) from primary; "
            "the model container failed on this request: see the endpoint's CloudWatch logs",
        ),
        (
            httpx.Response(500, json={"error": {"message": "boom"}}),
            f"HTTP 500 from {RUNTIME}/chat/completions: boom; the endpoint failed: retry, and see its "
            "CloudWatch logs if it persists",
        ),
        (
            httpx.Response(401, json={"error": {"message": "Token expired"}}),
            f"HTTP 401 from {RUNTIME}/chat/completions: Token expired; the token was refused: check your "
            "clock, and that your credentials are valid and in the endpoint's region",
        ),
    ],
)
def test_chat_http_errors(cli: Cli, sagemaker: Stubber, response: httpx.Response, expected: str) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)
    # A 401 is renewed and resent once by BearerTokenAuth, so it is answered twice.
    _runtime_answers(cli, response, response)
    assert cli("chat", "--base-url", RUNTIME, "--max-retries", "0", "hi").error == expected


NO_CAPACITY = {
    "error": {
        "message": "Inference Component has no capacity to process this request. "
        "ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by "
        "invoking UpdateInferenceComponentRuntimeConfig API."
    }
}


def test_chat_reports_a_scaled_to_zero_model(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)
    _runtime_answers(cli, httpx.Response(400, json=NO_CAPACITY))
    error = cli("chat", "--base-url", RUNTIME, "hi").error
    assert error.startswith(f"HTTP 400 from {RUNTIME}/chat/completions: Inference Component has no capacity")
    assert error.endswith(
        "the model is scaled to zero and a copy is starting (about 10 minutes): retry later, "
        "or pass --wait-for-capacity SECONDS"
    )


def test_chat_waits_for_capacity_when_asked(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)
    no_capacity = httpx.Response(400, json=NO_CAPACITY)
    _runtime_answers(cli, no_capacity, no_capacity, _sse("awake"))
    result = cli("chat", "--base-url", RUNTIME, "--wait-for-capacity", "900", "hi")
    assert (result.code, result.stdout) == (0, "awake\n")
    assert cli.slept == [15.0, 30.0]
    assert result.stderr.count("Note: no capacity yet (a copy of the model is starting); retrying in") == 2


def test_chat_stops_waiting_at_the_deadline(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)
    _runtime_answers(cli, *[httpx.Response(400, json=NO_CAPACITY) for _ in range(4)])
    error = cli("chat", "--base-url", RUNTIME, "--wait-for-capacity", "40", "hi").error
    assert "has no capacity" in error
    assert cli.slept == [15.0, 25.0]


def test_errors_never_show_the_token(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": f"bad header {request.headers['Authorization']}"})

    cli.transport = httpx.MockTransport(echo)
    result = cli("--debug", "chat", "--base-url", RUNTIME, "hi")
    assert result.code == 1
    assert "sagemaker-api-key-" in result.stderr
    assert "bad header Bearer sagemaker-api-key-<redacted>" in result.stderr
    token_text = result.stderr.split("sagemaker-api-key-")[1]
    assert token_text.startswith("<redacted>")
    assert "X-Amz-Signature" not in result.stderr


def test_no_credentials_fail_before_any_request(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    seen = _runtime_answers(cli)
    assert cli("chat", "--base-url", RUNTIME, "hi").error.startswith(
        "no AWS credentials found: set AWS_PROFILE"
    )
    assert seen == []


def test_connection_failures_name_the_url(cli: Cli) -> None:
    settings = RuntimeSettings(layout=EndpointLayout("ep"), verifier=None)
    with LocalRuntimeServer(settings).running() as server:
        url = f"{server.origin}/endpoints/ep/openai/v1"
    # The server has stopped: nothing listens on its port any more.
    error = cli("chat", "--base-url", url, "--region", REGION, "--max-retries", "0", "hi").error
    assert error.startswith(f"cannot connect to {url}/chat/completions (")
    assert error.endswith("); check the URL and your network")


# --- smoke ---------------------------------------------------------------------------------------------


def test_smoke_checks_every_model(cli: Cli, local_runtime: RuntimeFactory, tmp_path: Path) -> None:
    server = local_runtime("ep", ("ic-a", "ic-b"))
    path = _local_stack(tmp_path, server.origin, ("ic-a", "ic-b"))
    result = cli("smoke", "--outputs-file", str(path))
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok a: 0.00 s, 10 tokens, tokens/s unknown, ")  # the fake clock stands still
    assert lines[1].startswith("ok b: ")
    assert lines[2] == "smoke: 2 of 2 models answered"


def test_smoke_reports_latency_and_tokens_per_second(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)
    answered = _completion("Yes, I am up.", completion_tokens=8)

    def respond(request: httpx.Request) -> httpx.Response:
        cli.clock += 2.0  # the call takes two seconds on the fake clock
        return answered

    cli.transport = httpx.MockTransport(respond)
    result = cli("smoke", "--base-url", RUNTIME)
    assert result.code == 0
    assert result.stdout.splitlines()[0] == f"ok demo-ep: 2.00 s, 8 tokens, 4.0 tokens/s, {RUNTIME}"


def test_smoke_fails_on_an_empty_answer_and_on_errors(
    cli: Cli, local_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    server = local_runtime("ep", ("ic-a",))
    path = _local_stack(tmp_path, server.origin, ("ic-a", "ic-gone"))
    result = cli("smoke", "--outputs-file", str(path))
    assert result.code == 1
    assert result.stdout.splitlines()[-1] == "smoke: 1 of 2 models answered"
    assert result.stderr.startswith("Error: gone: HTTP 400 from ")
    assert "Inference component ic-gone not found on endpoint ep" in result.stderr

    empty = _runtime_answers(cli, _completion(None))
    result = cli(
        "smoke",
        "--base-url",
        f"{server.origin}/endpoints/ep/inference-components/ic-a/openai/v1",
        "--region",
        REGION,
    )
    assert result.code == 1
    assert result.stderr.startswith("Error: ic-a: no answer came back from ")
    assert len(empty) == 1


# --- local-runtime ------------------------------------------------------------------------------------


def test_local_runtime_needs_credentials_and_a_region(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("local-runtime", "--endpoint", "ep", "--port", "0").error.startswith("no AWS region")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert cli("local-runtime", "--endpoint", "ep", "--port", "0", "--region", REGION).error.startswith(
        "no AWS credentials found"
    )


def test_local_runtime_argument_errors(
    cli: Cli, local_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = local_runtime("ep")
    port = str(busy.port)
    error = cli("local-runtime", "--endpoint", "ep", "--port", port, "--no-auth").error
    assert error.startswith(f"cannot listen on 127.0.0.1:{port} (")
    assert error.endswith("pick another --port (0 picks a free one)")
    assert (
        cli(
            "local-runtime",
            "--endpoint",
            "ep",
            "--inference-component",
            "a",
            "--inference-component",
            "a",
            "--no-auth",
        ).error
        == "each --inference-component may be given once"
    )
    assert cli("local-runtime", "--endpoint", "a/b", "--no-auth").error == (
        "endpoint and inference component names must be non-empty and contain no '/'"
    )
    assert cli("local-runtime", "--endpoint", "ep", "--no-auth", "--upstream", "localhost:8000").error == (
        "--upstream value is not an http(s) URL such as https://HOST/v1; "
        "use https://, or http:// to a server on this machine"
    )
    monkeypatch.delenv("VLLM_KEY", raising=False)
    assert cli(
        "local-runtime",
        "--endpoint",
        "ep",
        "--no-auth",
        "--upstream",
        "http://127.0.0.1:9/v1",
        "--upstream-api-key-env",
        "VLLM_KEY",
    ).error == ("environment variable VLLM_KEY (--upstream-api-key-env) is not set")


def test_local_runtime_without_the_server_libraries_says_what_to_install(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("sagemaker_openai.servers.local_runtime.server", "sagemaker_openai.servers.serving"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    for module in [name for name in sys.modules if name.split(".")[0] == "hypercorn"] + ["hypercorn"]:
        monkeypatch.setitem(sys.modules, module, None)
    assert cli("local-runtime", "--endpoint", "ep", "--no-auth", "--port", "0").error == (
        "local-runtime needs its server libraries (hypercorn is missing): "
        "pip install 'sagemaker-openai[proxy]'"
    )


def test_a_timeout_is_named(cli: Cli, sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint", IN_SERVICE)

    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    cli.transport = httpx.MockTransport(too_slow)
    assert cli("chat", "--base-url", RUNTIME, "--max-retries", "0", "hi").error == (
        f"no answer from {RUNTIME}/chat/completions before the timeout; the model may be busy or starting: "
        "retry, or raise --timeout"
    )


def test_unexpected_failures_are_one_line_and_debug_shows_where(cli: Cli, tmp_path: Path) -> None:
    path = write_outputs_file(tmp_path / "out.json", {"Demo": {"ClientConfig": client_config()}})

    def broken_session(profile: str | None) -> boto3.Session:
        raise RuntimeError("session exploded")

    def run_with_broken_session(*argv: str) -> Result:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = run(list(argv), CliContext(stdout=stdout, stderr=stderr, session_factory=broken_session))
        return Result(code, stdout.getvalue(), stderr.getvalue())

    quiet = run_with_broken_session("outputs", "--outputs-file", str(path))
    assert quiet.error == "unexpected RuntimeError: session exploded; rerun with --debug to see where"
    loud = run_with_broken_session("--debug", "outputs", "--outputs-file", str(path))
    assert loud.code == 1
    assert loud.stderr.startswith("Error: unexpected RuntimeError: session exploded")
    assert "Traceback (most recent call last)" in loud.stderr


def test_botocore_errors_are_described() -> None:
    from botocore.exceptions import NoCredentialsError, NoRegionError

    from sagemaker_openai.cli._errors import describe_error

    assert describe_error(NoRegionError()) == "no AWS region: pass --region or set AWS_DEFAULT_REGION"
    assert describe_error(NoCredentialsError()).startswith("no AWS credentials found")
