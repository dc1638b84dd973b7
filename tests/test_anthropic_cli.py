"""`chatstream -m anthropic:...` end to end against the loopback server: replies, every failure, Ctrl-C, keys."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env, error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import GREETING, KEY, MODEL, anthropic_stream, error_reply, free_port, sse

RETRY_NOW = [("retry-after-ms", "10")]
pytestmark = pytest.mark.usefixtures("anthropic_transport")  # every test over both transports


@pytest.fixture
def server(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    """The loopback server, with chatstream's Anthropic key and endpoint pointing at it."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    return loopback_server


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["-m", f"anthropic:{MODEL}", *args])


# -- replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [[], ["--async"], ["--no-stream"]], ids=["stream", "async", "invoke"])
def test_reply_on_a_pipe(server: LoopbackServer, mode: list[str]) -> None:
    server.enqueue(
        Reply.from_wire("anthropic_nonstream.json" if mode == ["--no-stream"] else "anthropic_stream_text.sse")
    )
    result = run(*mode, "Greet me")
    assert (result.exit_code, result.stdout, result.stderr) == (0, GREETING + "\n", "")


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["stream", "async"])
def test_a_refusal_is_told_on_stderr(server: LoopbackServer, mode: list[str]) -> None:
    details = {"type": "refusal", "category": "cyber", "explanation": "I can't help with that."}
    stream = sse(
        [
            {"type": "message_start", "message": {"model": MODEL, "id": "m", "type": "message", "content": []}},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "refusal", "stop_sequence": None, "stop_details": details},
            },
            {"type": "message_stop"},
        ]
    )
    server.enqueue(Reply.sse(stream))
    result = run(*mode, "-q", "Greet me")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "chatstream: the model refused: I can't help with that.\n"


def test_delimiter_shows_the_chunks(server: LoopbackServer) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_text.sse", split="byte"))
    result = run("-d", "|", "Greet me")
    assert result.stdout == "Hello| there|!| It| is| nice| to| meet| you|.|\n"


def test_thinking_never_reaches_a_piped_stdout(server: LoopbackServer) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_thinking.sse"))
    result = run("--thinking", "Greet me")
    assert (result.exit_code, result.stdout) == (0, "Hello there!\n")
    assert server.requests[0].json["thinking"] == {"type": "adaptive", "display": "summarized"}


def test_flags_reach_the_request(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    result = run("-s", "Be brief.", "--stop", "END", "--max-tokens", "64", "-o", "thinking_budget", "40", "hi")
    assert result.exit_code == 0, result.stderr
    body = server.requests[0].json
    assert (body["model"], body["system"], body["stop_sequences"], body["max_tokens"]) == (
        MODEL,
        "Be brief.",
        ["END"],
        64,
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 40, "display": "summarized"}
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_temperature_works_through_the_older_api_version(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    result = run("-t", "0.2", "-o", "top_k", "5", "hi")
    assert result.exit_code == 0, result.stderr
    request = server.requests[0]
    assert (request.json["temperature"], request.json["top_k"]) == (0.2, 5)
    assert request.headers["anthropic-version"] == "2023-06-01"


def test_alias_and_default_model(server: LoopbackServer) -> None:
    server.enqueue_many([Reply.sse(anthropic_stream()), Reply.sse(anthropic_stream())])
    assert CliRunner().invoke(app, ["-m", "claude-3-haiku", "hi"]).exit_code == 0
    assert CliRunner().invoke(app, ["hi"]).exit_code == 0  # a known Anthropic key makes Claude the default
    assert [request.json["model"] for request in server.requests] == ["claude-3-haiku-20240307", "claude-haiku-5-5"]


# -- failures: exit code, the one stderr line, the text kept ----------------------------------


def busy(status: int, kind: str, message: str) -> Reply:
    return error_reply(status, kind, message, RETRY_NOW)


FAILURES: list[tuple[str, list[Reply], list[str], int, str, str]] = [
    (
        "401",
        [error_reply(401, "authentication_error", "invalid x-api-key")],
        [],
        3,
        "<server> rejected the API key (HTTP 401: invalid x-api-key) "
        "(set ANTHROPIC_API_KEY or run `chatstream keys set anthropic`)",
        "",
    ),
    (
        "403",
        [error_reply(403, "permission_error", "Your key lacks permission")],
        [],
        3,
        "<server> refused this API key access (HTTP 403: Your key lacks permission) "
        "(set ANTHROPIC_API_KEY or run `chatstream keys set anthropic`)",
        "",
    ),
    (
        "404",
        [error_reply(404, "not_found_error", f"model: {MODEL}")],
        [],
        3,
        f"<server> does not know the model '{MODEL}' (HTTP 404: model: {MODEL}) "
        "(check the model name (`chatstream models --remote` lists them) and the endpoint <endpoint>)",
        "",
    ),
    (
        "400",
        [error_reply(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum")],
        [],
        4,
        "<server> rejected the request (HTTP 400: prompt is too long: 250000 tokens > 200000 maximum) "
        "(check the prompt and options)",
        "",
    ),
    (
        "413",
        [error_reply(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")],
        [],
        4,
        "<server> rejected the request as too large (HTTP 413: Request exceeds the maximum allowed number of bytes.) "
        "(shorten the prompt)",
        "",
    ),
    (
        "429-exhausted",
        [busy(429, "rate_limit_error", "Slow down.")] * 3,
        ["--retries", "2"],
        4,
        "rate limited by <server> (HTTP 429: Slow down.) after 2 retries (wait a minute, or raise --retries)",
        "",
    ),
    (
        "529-exhausted",
        [busy(529, "overloaded_error", "Overloaded")] * 2,
        ["--retries", "1"],
        4,
        "<server> is overloaded (HTTP 529: Overloaded) after 1 retry (try again shortly, or raise --retries)",
        "",
    ),
    (
        "503-exhausted",
        [busy(503, "api_error", "Service unavailable")] * 2,
        ["--retries", "1"],
        4,
        "<server> is unavailable (HTTP 503: Service unavailable) after 1 retry (try again shortly, or raise --retries)",
        "",
    ),
    (
        "500",
        [error_reply(500, "api_error", "Internal server error")],
        ["--retries", "0"],
        4,
        "<server> failed (HTTP 500: Internal server error) (try again shortly, or raise --retries)",
        "",
    ),
    (
        "302",
        [Reply(status=302, headers=[("location", "http://127.0.0.1:1/x")])],
        [],
        4,
        "<server> redirected the request to http://127.0.0.1:1/x (HTTP 302) (use the new address as --base-url)",
        "",
    ),
    (
        "error-event",
        [Reply.from_wire("anthropic_stream_midstream_error.sse")],
        [],
        4,
        "<server> stopped the reply with an error: Overloaded (overloaded_error) "
        "(try again; any text already shown stays)",
        "Hello there\n",
    ),
    (
        "dropped",
        [Reply.from_wire("anthropic_stream_text.sse", drop_after=7)],
        [],
        5,
        "the connection to <server> dropped before the reply was complete (try again)",
        "Hello there! It\n",
    ),
    (
        "stall",
        [Reply.from_wire("anthropic_stream_text.sse", stall_after=5)],
        ["--timeout", "0.3"],
        5,
        "no data from <server> for 0.3 s (raise --timeout, or use --timeout 0 to wait without limit)",
        "Hello there\n",
    ),
    (
        "no-response",
        [Reply(no_response=True)],
        ["--timeout", "0.3"],
        5,
        "no data from <server> for 0.3 s (raise --timeout, or use --timeout 0 to wait without limit)",
        "",
    ),
]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("replies", "flags", "code", "message", "stdout"),
    [case[1:] for case in FAILURES],
    ids=[case[0] for case in FAILURES],
)
def test_failure(
    server: LoopbackServer,
    replies: list[Reply],
    flags: list[str],
    code: int,
    message: str,
    stdout: str,
    use_async: bool,
) -> None:
    server.enqueue_many(replies)
    result = run(*flags, *(["--async"] if use_async else []), "Greet me")
    assert result.exit_code == code, result.stderr
    expected = message.replace("<endpoint>", server.base_url).replace("<server>", server.named_as("anthropic"))
    assert error_line(result) == expected
    assert result.stdout == stdout
    assert len(server.requests) == len(replies)


def test_rate_limit_then_success_needs_no_message(server: LoopbackServer) -> None:
    server.enqueue_many([busy(429, "rate_limit_error", "Slow down."), Reply.from_wire("anthropic_stream_text.sse")])
    result = run("Greet me")
    assert (result.exit_code, result.stdout, result.stderr) == (0, GREETING + "\n", "")  # stderr is no terminal
    assert len(server.requests) == 2


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    result = run("--base-url", url, "hi")
    assert result.exit_code == 5
    assert (
        error_line(result) == f"cannot connect to {url}: connection refused (is the server running? check --base-url)"
    )


def test_unknown_host() -> None:
    result = CliRunner().invoke(
        app, ["-m", "haiku", "--base-url", "http://no-such-host.invalid", "hi"], env={"ANTHROPIC_API_KEY": KEY}
    )
    assert result.exit_code == 5
    assert error_line(result).startswith("cannot resolve the host of http://no-such-host.invalid")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["-m", "haiku", "hi"],
            3,
            "no Anthropic API key (set ANTHROPIC_API_KEY or run `chatstream keys set anthropic`)",
        ),
        (
            ["-m", "haiku", "-t", "1.5", "hi"],
            2,
            "-t/--temperature 1.5 is out of range for anthropic (use a value from 0 to 1)",
        ),
        (["-m", "haiku", "-o", "top_p", "2", "hi"], 2, "-o top_p 2 is not valid (use a number from 0 to 1)"),
    ],
)
def test_settings_errors(args: list[str], code: int, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if code != 3:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code
    assert error_line(result) == message


# -- real processes: Ctrl-C, the key, notices on a terminal ------------------------------------


def start(server: LoopbackServer, *args: str) -> subprocess.Popen[bytes]:
    env = cli_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=server.base_url)
    argv = [*CHATSTREAM, "-m", f"anthropic:{MODEL}", *args]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_until(process: subprocess.Popen[bytes], wanted: bytes, timeout: float = 15.0) -> bytes:
    """Read the process's stdout until ``wanted`` appears (it is still running then)."""
    assert process.stdout is not None
    received = b""
    deadline = time.monotonic() + timeout
    while wanted not in received:
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"no {wanted!r} on stdout; got {received!r}"
        piece = os.read(process.stdout.fileno(), 4096)
        assert piece, f"stdout ended before {wanted!r}; got {received!r}"
        received += piece
    return received


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["sync", "async"])
def test_ctrl_c_closes_the_stream_keeps_the_text_and_exits_130(server: LoopbackServer, mode: list[str]) -> None:
    words = " ".join(f"word{n}" for n in range(60))
    server.enqueue(Reply.sse(anthropic_stream(words), delay_s=0.05))
    process = start(server, *mode, "count")
    try:
        shown = read_until(process, b"word3")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert server.wait_for_disconnect()
    text = (shown + out).decode()
    assert text.startswith("word0 word1 word2 word3")
    assert text.endswith("\n") and "word59" not in text
    assert b"Traceback" not in err


def test_the_key_never_appears_in_any_output(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    server.enqueue(error_reply(401, "authentication_error", f"invalid x-api-key {KEY}"))
    passing = start(server, "--debug", "-t", "0.5", "hi")
    outputs = [passing.communicate(timeout=30)]
    assert passing.returncode == 0, outputs[0][1]
    failing = start(server, "--debug", "--events", "hi")
    outputs.append(failing.communicate(timeout=30))
    assert failing.returncode == 3
    assert b'"authentication_error"' in outputs[1][0]  # the --events error line, its message redacted
    for out, err in outputs:
        assert KEY.encode() not in out + err
        assert b"chatstream: debug: > POST" in err  # the trace was there, with the key redacted
        assert b"<redacted>" in err
    assert server.requests[0].headers["x-api-key"] == KEY  # it was sent, just never shown


def test_retry_notice_on_a_terminal(server: LoopbackServer, tmp_path: Path) -> None:
    """The notice shows in the spinner's line while it waits (long enough here for a few frames)."""
    limited = error_reply(429, "rate_limit_error", "Slow down.", [("retry-after-ms", "400")])
    server.enqueue_many([limited, Reply.sse(anthropic_stream("All good."))])
    child = spawn(server, tmp_path, "--raw", "hi")
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before.decode()
    limited_by = server.named_as("anthropic")
    assert f"rate limited by {limited_by} (HTTP 429: Slow down.); retrying in 0.4 s (attempt 2 of 3)" in screen
    assert "All good." in screen
    assert child.exitstatus == 0


def test_quiet_silences_the_retry_notice(server: LoopbackServer, tmp_path: Path) -> None:
    limited = error_reply(429, "rate_limit_error", "Slow down.", [("retry-after-ms", "400")])
    server.enqueue_many([limited, Reply.sse(anthropic_stream("All good."))])
    child = spawn(server, tmp_path, "--raw", "-q", "hi")
    child.expect(pexpect.EOF)
    child.close()
    assert "retrying" not in child.before.decode()
    assert "All good." in child.before.decode()
    assert child.exitstatus == 0


def spawn(server: LoopbackServer, cwd: Path, *args: str) -> Any:
    """chatstream on a wide pseudo-terminal (stdout and stderr both terminals)."""
    env = cli_env(TERM="xterm-256color", ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=server.base_url)
    argv = [*CHATSTREAM, "-m", f"anthropic:{MODEL}", *args]
    return pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(cwd), timeout=30, dimensions=(24, 200))


def test_error_event_before_any_text_is_retried_on_the_cli(server: LoopbackServer) -> None:
    overloaded = sse(
        [
            {"type": "message_start", "message": {"model": MODEL}},
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ]
    )
    server.enqueue_many([Reply.sse(overloaded), Reply.sse(anthropic_stream())])
    result = run("hi")
    assert (result.exit_code, result.stdout) == (0, GREETING + "\n")
