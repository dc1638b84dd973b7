"""``batch --provider-batch`` against loopback copies of Anthropic's Message Batches and OpenAI's Batch API,
and ``batch status | results | cancel`` from a second process (tests/batch_server.py serves both)."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.batch.services.anthropic import AnthropicBatches
from chatstream_cli.batch.services.openai import OpenAIBatches
from chatstream_cli.cli import app
from chatstream_cli.retry import HTTP_TRACE
from tests.batch_server import BatchServer, batch_server  # noqa: F401  (the fixture)
from tests.conftest import CHATSTREAM, cli_env

KEYS = {"ANTHROPIC_API_KEY": "sk-ant-test-batches", "OPENAI_API_KEY": "sk-test-batches-key"}


@pytest.fixture
def server(batch_server: BatchServer, monkeypatch: pytest.MonkeyPatch) -> BatchServer:  # noqa: F811  (the fixture)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    return batch_server


def anthropic(server: BatchServer) -> list[str]:
    return ["-m", "anthropic:claude-haiku-4-5", "--base-url", server.base_url]


def openai(server: BatchServer) -> list[str]:
    return ["-m", "openai:gpt-4o-mini", "--base-url", f"{server.base_url}/v1"]


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["batch", *args], input=input)


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


PROMPTS = [{"id": f"q{n}", "prompt": f"question {n}" + (" #bad" if n == 2 else "")} for n in range(6)]
JSONL = "".join(json.dumps(line) + "\n" for line in PROMPTS)


@pytest.mark.parametrize("service", [anthropic, openai], ids=["anthropic", "openai"])
def test_provider_batch_writes_results_in_input_order_with_errors_and_expiry_mapped(
    server: BatchServer, service: Any
) -> None:
    server.expire_after = 4  # the batch expired with two requests not run
    result = run("-", *service(server), "--provider-batch", "-s", "be brief", "-q", input=JSONL)
    lines = lines_of(result.stdout)
    assert [line["id"] for line in lines] == [f"q{n}" for n in range(6)]
    assert [line["content"] for line in lines if "error" not in line] == [
        "echo: question 0",
        "echo: question 1",
        "echo: question 3",
    ]
    bad, expired = lines[2]["error"], lines[4]["error"]
    assert bad["exit_code"] == 4 and "prompt is bad" in bad["message"] and bad["type"] == "invalid_request_error"
    assert expired["type"] == "expired" and "expired" in expired["message"] and lines[5]["error"]["type"] == "expired"
    assert lines[0]["usage"]["input_tokens"] == 2 and lines[0]["provider"] == service(server)[1].split(":")[0]
    assert result.exit_code == 4
    assert "submitted" in result.stderr


def test_anthropic_requests_carry_the_messages_api_params(server: BatchServer) -> None:
    line = {"id": 1, "prompt": "hi", "max_tokens": 50, "temperature": 0.5}
    result = run("-", *anthropic(server), "--provider-batch", "-s", "be brief", input=json.dumps(line) + "\n")
    assert result.exit_code == 0, result.output
    (request,) = server.created[0]["requests"]
    assert request["custom_id"] == "r0"
    params = request["params"]
    assert params["model"] == "claude-haiku-4-5" and params["system"] == "be brief"
    assert params["messages"] == [{"role": "user", "content": "hi"}]
    assert params["max_tokens"] == 50 and params["temperature"] == 0.5


def test_openai_uploads_a_batch_file_and_creates_a_24h_batch(server: BatchServer) -> None:
    result = run("-", *openai(server), "--provider-batch", input="hello\n")
    assert result.exit_code == 0, result.output
    (created,) = server.created
    assert created["endpoint"] == "/v1/chat/completions" and created["completion_window"] == "24h"
    (uploaded,) = [json.loads(line) for line in server.files[created["input_file_id"]].decode().splitlines()]
    assert uploaded["method"] == "POST" and uploaded["url"] == "/v1/chat/completions"
    assert (
        uploaded["body"]["messages"] == [{"role": "user", "content": "hello"}] and uploaded["body"]["stream"] is False
    )


@pytest.mark.parametrize(
    ("service", "kind"), [(anthropic, AnthropicBatches), (openai, OpenAIBatches)], ids=["anthropic", "openai"]
)
def test_a_big_input_is_split_over_the_request_limit(
    server: BatchServer, monkeypatch: pytest.MonkeyPatch, service: Any, kind: type
) -> None:
    monkeypatch.setattr(kind, "max_requests", 2)
    server.throttle_first_poll = True  # the first poll of each part is answered 429: it is retried
    result = run("-", *service(server), "--provider-batch", input="".join(f"prompt {n}\n" for n in range(5)))
    assert result.exit_code == 0, result.output
    assert len(server.created) == 3
    assert [line["content"] for line in lines_of(result.stdout)] == [f"echo: prompt {n}" for n in range(5)]


@pytest.mark.parametrize("service", [anthropic, openai], ids=["anthropic", "openai"])
def test_polls_honour_retries_as_a_prompt_does(server: BatchServer, service: Any) -> None:
    server.throttle_first_poll = True  # the first poll is answered 429
    refused = run("-", *service(server), "--provider-batch", "--retries", "0", input="one\n")
    gateway = f"{service.__name__} at {server.base_url.removeprefix('http://')}"  # a loopback host is no vendor's
    assert refused.exit_code == 4 and f"rate limited by {gateway} (HTTP 429" in refused.stderr
    server.jobs.clear()
    retried = run("-", *service(server), "--provider-batch", "--retries", "1", input="one\n")
    assert retried.exit_code == 0, retried.output
    assert [line["content"] for line in lines_of(retried.stdout)] == ["echo: one"]


@pytest.fixture
def quiet_trace_afterwards() -> Iterator[None]:
    """--debug in this process turns the HTTP trace on for good; turn it off again for the next tests."""
    yield
    HTTP_TRACE.setLevel(logging.NOTSET)
    HTTP_TRACE.handlers.clear()


@pytest.mark.usefixtures("quiet_trace_afterwards")
@pytest.mark.parametrize("service", [anthropic, openai], ids=["anthropic", "openai"])
def test_debug_traces_the_service_requests_with_the_key_and_headers_redacted(server: BatchServer, service: Any) -> None:
    argv = ["-", *service(server), "--provider-batch", "--debug", "--header", "X-Gateway-Key: gw-secret-0123456789"]
    result = run(*argv, input="one\n")
    assert result.exit_code == 0, result.output
    trace = [line for line in result.stderr.splitlines() if line.startswith("chatstream: debug: ")]
    assert any(" POST " in line and "/batches" in line for line in trace)
    assert any(line.startswith("chatstream: debug: < 200") for line in trace)
    assert "'x-gateway-key': '<redacted>'" in "\n".join(trace)
    for secret in [*KEYS.values(), "gw-secret-0123456789"]:
        assert secret not in result.stderr


def test_a_prompt_over_the_size_limit_is_refused(server: BatchServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AnthropicBatches, "max_bytes", 100)
    result = run("-", *anthropic(server), "--provider-batch", input="x" * 200 + "\n")
    assert result.exit_code == 4 and "larger than Anthropic's Message Batches API accepts" in result.stderr
    assert server.created == []


def test_a_provider_without_a_batch_service_is_a_usage_error() -> None:
    result = run("-", "-m", "builtin:echo", "--provider-batch", input="hi\n")
    assert result.exit_code == 2 and "builtin has no batch service" in result.stderr


@pytest.mark.parametrize("service", [anthropic, openai], ids=["anthropic", "openai"])
def test_status_results_and_cancel_work_from_another_process(server: BatchServer, tmp_path: Path, service: Any) -> None:
    server.polls_to_end = 10_000  # the service keeps working until canceled
    env = cli_env(CHATSTREAM_HOME=str(tmp_path / "home"), **KEYS)
    source = tmp_path / "prompts.txt"
    source.write_text("one\ntwo\nthree\n")
    argv = [*CHATSTREAM, "batch", str(source), *service(server), "--provider-batch"]
    with subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env) as submitter:
        assert submitter.stderr is not None
        said = submitter.stderr.readline().decode()
        assert "submitted" in said
        job_id = said.split()[2]
        while not any(job.polls for job in server.jobs.values()):
            time.sleep(0.01)
        submitter.send_signal(signal.SIGINT)
        _, rest = submitter.communicate(timeout=20)
    assert submitter.returncode == 130
    assert f"chatstream batch status {job_id}" in rest.decode() and b"Traceback" not in rest

    def chatstream(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CHATSTREAM, "batch", *args], capture_output=True, text=True, env=env, timeout=30)

    status = chatstream("status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(job_id) and "running" in status.stdout
    early = chatstream("results", job_id)
    assert early.returncode == 2 and "still running" in early.stderr
    cancel = chatstream("cancel", job_id)
    assert cancel.returncode == 0 and job_id in cancel.stdout
    out = tmp_path / "results.jsonl"
    fetched = chatstream("results", job_id, "--out", str(out))
    assert fetched.returncode == 4  # every request was canceled before it ran
    lines = lines_of(out.read_text())
    assert [line["id"] for line in lines] == [1, 2, 3]
    assert {line["error"]["type"] for line in lines} == {"canceled"}
    assert KEYS["ANTHROPIC_API_KEY"] not in (tmp_path / "home" / "batches" / f"{job_id}.json").read_text()


def test_an_unknown_job_id_is_a_usage_error() -> None:
    result = run("results", "msgbatch_nope")
    assert result.exit_code == 2 and "no batch 'msgbatch_nope'" in result.stderr
