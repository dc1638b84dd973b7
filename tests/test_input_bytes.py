"""Input never crashes: any bytes on stdin or in the arguments give a reply or a one-line error, never exit 1.

The arguments are what Python makes of argv bytes (undecodable bytes become lone surrogates, as
``os.fsdecode`` does); every provider kind is tried: the builtin models, and Anthropic and an
OpenAI-compatible server played by the loopback server.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply

KINDS = {
    "builtin": (["-m", "builtin:echo", "-o", "delay_ms", "0"], None, {}),
    "anthropic": (["-m", "anthropic:claude-haiku-4-5"], "anthropic_stream_text.sse", {"ANTHROPIC_API_KEY": "sk-ant"}),
    "openai": (["-m", "openai:gpt-4o-mini"], "openai_stream_text.sse", {"OPENAI_API_KEY": "sk-oa"}),
}
FLAGS = ["-s", "-t", "-d", "-o", "--stop", "--max-tokens", "--timeout", "--retries", "--json", "--events", "--stats"]
FLAGS += ["--no-stream", "--async", "-", "--", "-q", "--raw"]
ARG_BYTES = st.binary(min_size=1, max_size=12).filter(lambda raw: b"\0" not in raw)  # argv cannot hold NUL
ARGUMENT = st.one_of(ARG_BYTES.map(os.fsdecode), st.text(min_size=1, max_size=12), st.sampled_from(FLAGS))


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def kind_env(request: pytest.FixtureRequest, server: LoopbackServer) -> tuple[list[str], dict[str, str]]:
    prefix, wire, keys = KINDS[request.param]
    server.reset()
    if wire:
        server.default = Reply.from_wire(wire)
    urls = {"ANTHROPIC_BASE_URL": server.base_url, "OPENAI_BASE_URL": f"{server.base_url}/v1"}
    return prefix, {**keys, **urls}


@pytest.mark.parametrize("kind_env", list(KINDS), indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stdin=st.one_of(st.binary(max_size=64), st.text(max_size=32).map(str.encode)),
    arguments=st.lists(ARGUMENT, max_size=4),
)
def test_no_input_is_a_crash(kind_env: tuple[list[str], dict[str, str]], stdin: bytes, arguments: list[str]) -> None:
    prefix, env = kind_env
    result = CliRunner().invoke(app, [*prefix, *arguments, "hi"], input=stdin, env=env)
    assert result.exit_code != 1, (result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    if result.exit_code:
        assert result.stderr.startswith("chatstream: error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("stdin", "argv", "where"),
    [
        (b"caf\xe9\n", ["translate"], "stdin is not UTF-8 text (byte 3 is 0xe9)"),
        (b"\x89PNG\r\n\x1a\n\0\0", [], "stdin is a PNG image, not text"),
        (b"", [b"caf\xe9"], "argument 6 (b'caf\\xe9') is not UTF-8 text"),
    ],
)
def test_bytes_that_are_not_utf8_name_where_they_came_from(stdin: bytes, argv: list[bytes], where: str) -> None:
    """A real process: argv bytes as the operating system hands them over, stdin as a pipe."""
    command = [os.fsencode(part) for part in [*CHATSTREAM, "-m", "echo", "-o", "delay_ms", "0"]] + argv
    result = subprocess.run(command, input=stdin, capture_output=True, env=cli_env(), timeout=30)
    assert result.returncode == 2
    assert result.stdout == b""
    message = result.stderr.decode()
    assert message.startswith(f"chatstream: error: {where} (") and message.count("\n") == 1, message


def test_the_python_api_refuses_undecodable_text_with_a_usage_error() -> None:
    from chatstream_cli import get_model
    from chatstream_cli.errors import UsageError

    with pytest.raises(UsageError, match="the human message is not valid UTF-8 text"):
        get_model("builtin:echo").invoke(os.fsdecode(b"caf\xe9"))


@pytest.mark.parametrize(
    ("model", "variable", "value"),
    [
        ("openai:gpt-4o-mini", "OPENAI_BASE_URL", b"http://127.0.0.1:9/caf\xe9"),
        ("anthropic:claude-haiku-4-5", "ANTHROPIC_BASE_URL", b"http://127.0.0.1:9/caf\xe9"),
        ("ollama:llama3.2", "OLLAMA_HOST", b"caf\xe9"),
        ("ollama:llama3.2", "OLLAMA_HOST", b"gpu:port"),
        ("builtin:echo", "CHATSTREAM_MODEL", b"caf\xe9"),
    ],
)
def test_an_endpoint_variable_that_is_no_url_is_a_usage_error(model: str, variable: str, value: bytes) -> None:
    env = {os.fsencode(k): os.fsencode(v) for k, v in cli_env(OPENAI_API_KEY="sk-x", ANTHROPIC_API_KEY="sk-x").items()}
    env[os.fsencode(variable)] = value
    argv = CHATSTREAM if variable == "CHATSTREAM_MODEL" else [*CHATSTREAM, "-m", model]
    result = subprocess.run([*argv, "hi"], env=env, capture_output=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().startswith("chatstream: error: ") and variable in result.stderr.decode()
