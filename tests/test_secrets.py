"""Secrets audit: with recognisable fake keys, every command and output mode, replies and failures alike,
and the key shows up in no output and in no file chatstream writes (keys.toml, where ``keys set`` puts
it on purpose, aside). Servers that quote the key back in an error message are part of the audit.

Most runs go through CliRunner (the same code, faster); ``--debug`` runs are real processes, because
the trace it turns on stays on in the process that ran it.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatstream_cli.cli import app
from chatstream_cli.retry import HTTP_TRACE
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (its fixture)
from tests.test_faults import ANTHROPIC, OPENAI, TEXT, Wire, choose_transport

KEYS = {"anthropic": "sk-ant-AUDIT-7f3a9c", "openai": "sk-AUDIT-openai-55e1"}
SECRETS = [*KEYS.values(), "AUDIT-7f3a9c", "AUDIT-openai-55e1"]
"""The keys, and their distinctive parts: not even a key with its prefix cut off may show."""
WIRES = {"anthropic": ANTHROPIC, "openai": OPENAI}
NAMES = ["anthropic", "anthropic-sdk", "openai"]
"""The providers audited: Anthropic over both its transports, and OpenAI."""


def leaks(data: str | bytes) -> list[str]:
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    return [secret for secret in SECRETS if secret in text]


def written_files(home: Path) -> Iterator[Path]:
    """Every file chatstream wrote under its home, except keys.toml, which holds keys by design."""
    for path in sorted(home.rglob("*")):
        if path.is_file() and path.name != "keys.toml":
            yield path


@dataclass(frozen=True)
class Audit:
    server: LoopbackServer
    home: Path
    cwd: Path

    def run(self, *args: str, stdin: str | None = None) -> tuple[int, str]:
        """A command in-process: its exit code and everything it wrote."""
        result = CliRunner().invoke(app, list(args), input=stdin)
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.stdout + result.stderr

    def run_process(self, *args: str) -> tuple[int, str]:
        """A command as a real process (for --debug)."""
        env = cli_env(**{wire.key_env: KEYS[name] for name, wire in WIRES.items()})
        result = subprocess.run(
            [*CHATSTREAM, *args], env=env, cwd=self.cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
        )
        return result.returncode, (result.stdout + result.stderr).decode(errors="replace")

    def wire(self, name: str) -> Wire:
        """The wire of ``name`` ("anthropic-sdk": Anthropic through the SDK, chosen in config.toml)."""
        provider, _, transport = name.partition("-")
        if transport:
            choose_transport(self.home, transport)
        return WIRES[provider]

    def chat_args(self, wire: Wire, *args: str) -> list[str]:
        url = self.server.base_url + wire.url_suffix
        return ["-m", wire.model, "--base-url", url, "--retries", "0", "--timeout", "5", *args, "Greet me"]


@pytest.fixture
def audit(
    loopback_server: LoopbackServer,  # noqa: F811
    isolated_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Audit]:
    for name, wire in WIRES.items():
        monkeypatch.setenv(wire.key_env, KEYS[name])
    monkeypatch.chdir(tmp_path)
    yield Audit(loopback_server, isolated_env, tmp_path)
    for path in [*written_files(isolated_env), *written_files(tmp_path)]:
        assert not leaks(path.read_bytes()), f"a key was written to {path}"


@pytest.fixture(autouse=True)
def trace_off_afterwards() -> Iterator[None]:
    """A --debug run in this process would leave the HTTP trace on for the tests after it."""
    yield
    HTTP_TRACE.setLevel(logging.NOTSET)
    HTTP_TRACE.handlers.clear()


def quoting_error(wire: Wire, status: int, name: str) -> Reply:
    """An error whose message quotes the key back, as some servers and proxies do."""
    return wire.error_reply(status, "authentication_error", f"invalid x-api-key: {KEYS[name]} (check it)", [])


REPLY_MODES = [
    pytest.param([], id="plain"),
    pytest.param(["-d", "|"], id="delimiter"),
    pytest.param(["--events"], id="events"),
    pytest.param(["--json"], id="json"),
    pytest.param(["--stats"], id="stats"),
    pytest.param(["--async"], id="async"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", REPLY_MODES)
def test_replies_in_every_mode(audit: Audit, name: str, mode: list[str]) -> None:
    wire = audit.wire(name)
    name = wire.name
    audit.server.enqueue(Reply.sse(wire.stream()))
    code, output = audit.run(*audit.chat_args(wire, *mode))
    assert code == 0, output
    assert not leaks(output)
    assert (
        audit.server.requests[0]
        .headers.get("x-api-key" if name == "anthropic" else "authorization", "")
        .endswith(KEYS[name])
    )  # sent to the server, never shown


@pytest.mark.parametrize("name", NAMES)
def test_whole_reply_without_streaming(audit: Audit, name: str) -> None:
    wire = audit.wire(name)
    name = wire.name
    audit.server.enqueue(Reply.from_wire(f"{name}_nonstream.json"))
    code, output = audit.run(*audit.chat_args(wire, "--no-stream"))
    assert code == 0, output
    assert not leaks(output)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", [[], ["--events"], ["--json"]], ids=["plain", "events", "json"])
@pytest.mark.parametrize(("fault", "code"), [("401", 3), ("500", 4), ("mid-stream", 4), ("dropped", 5)])
def test_failures(audit: Audit, name: str, mode: list[str], fault: str, code: int) -> None:
    wire = audit.wire(name)
    name = wire.name
    audit.server.enqueue(failing_reply(wire, name, fault))
    exit_code, output = audit.run(*audit.chat_args(wire, *mode))
    assert exit_code == code, output
    assert not leaks(output)


def failing_reply(wire: Wire, name: str, fault: str) -> Reply:
    if fault in ("401", "500"):
        return quoting_error(wire, int(fault), name)
    if fault == "mid-stream":
        events = wire.events()[: len(wire.head()) + 2]
        return Reply.sse("".join([*events, wire.error_event("api_error", f"bad key {KEYS[name]}")]))
    return Reply.sse(wire.stream(), drop_after=len(wire.head()) + 2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fault", ["none", "401", "mid-stream", "dropped"])
def test_debug_traces_and_tracebacks(audit: Audit, name: str, fault: str) -> None:
    wire = audit.wire(name)
    name = wire.name
    audit.server.enqueue(Reply.sse(wire.stream()) if fault == "none" else failing_reply(wire, name, fault))
    code, output = audit.run_process(*audit.chat_args(wire, "--debug"))
    assert code == {"none": 0, "401": 3, "mid-stream": 4, "dropped": 5}[fault], output
    assert "chatstream: debug: > POST" in output and "<redacted>" in output  # the trace was there
    assert not leaks(output)


def test_debug_without_streaming(audit: Audit) -> None:
    audit.server.enqueue(quoting_error(OPENAI, 401, "openai"))
    code, output = audit.run_process(*audit.chat_args(OPENAI, "--debug", "--no-stream"))
    assert code == 3, output
    assert not leaks(output)


def test_stored_keys_and_every_command(audit: Audit, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = [audit.run("keys", "set", name, stdin=key + "\n") for name, key in KEYS.items()]
    for wire in WIRES.values():
        monkeypatch.delenv(wire.key_env)  # from here on, the stored keys
    audit.server.enqueue_many([Reply.sse(ANTHROPIC.stream()), Reply.sse(OPENAI.stream())])
    audit.server.enqueue(quoting_error(ANTHROPIC, 401, "anthropic"))
    outputs += [
        audit.run(*audit.chat_args(ANTHROPIC, "--json")),
        audit.run(*audit.chat_args(OPENAI, "--events")),
        audit.run(*audit.chat_args(ANTHROPIC)),
        audit.run("keys", "list"),
        audit.run("keys", "path"),
        audit.run("config", "set", "default_model", "anthropic:claude-haiku-4-5"),
        audit.run("config", "show"),
        audit.run("config", "path"),
        audit.run("models"),
        audit.run("models", "--json"),
    ]
    assert [code for code, _ in outputs] == [0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]
    for _, output in outputs:
        assert not leaks(output)
    keys_file = next(audit.home.rglob("keys.toml"))
    assert all(key in keys_file.read_text() for key in KEYS.values())  # stored there, and only there
    assert keys_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(outputs[2][1].splitlines()[0])["content"] == TEXT  # the stored key worked


# -- Amazon Bedrock: AWS secrets ------------------------------------------------------------------

AWS = {
    "AWS_ACCESS_KEY_ID": "AKIDAUDIT00000000",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-AUDIT-0f9e8d7c",
    "AWS_SESSION_TOKEN": "aws-session-AUDIT-6b5a4c3d",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
AWS_SECRETS = ["aws-secret-AUDIT-0f9e8d7c", "AUDIT-0f9e8d7c", "aws-session-AUDIT-6b5a4c3d", "AUDIT-6b5a4c3d"]


def bedrock_frames(fault: str) -> Reply:
    """The fault suite's Anthropic reply as Bedrock's event-stream frames; a fault quotes the secret."""
    from tests.aws_frames import CONTENT_TYPE, chunk_frame, exception_frame

    events = [json.loads(line[6:]) for line in "".join(ANTHROPIC.events()).splitlines() if line.startswith("data: ")]
    if fault == "none":
        body = b"".join(chunk_frame(event) for event in events)
    else:
        body = b"".join(chunk_frame(event) for event in events[:4])
        body += exception_frame("modelStreamErrorException", f"bad credentials {AWS['AWS_SECRET_ACCESS_KEY']}")
    return Reply(headers=[("content-type", CONTENT_TYPE)], chunks=[body])


@pytest.mark.parametrize("mode", [[], ["--events"], ["--json"], ["--stats"], ["--debug"]], ids=str)
@pytest.mark.parametrize("fault", ["none", "mid-stream", "403"])
def test_aws_secrets_never_appear(audit: Audit, tmp_path: Path, mode: list[str], fault: str) -> None:
    quoted = {"message": f"The security token {AWS['AWS_SESSION_TOKEN']} is invalid."}
    audit.server.enqueue(Reply.json(quoted, status=403) if fault == "403" else bedrock_frames(fault))
    env = cli_env(**AWS, ANTHROPIC_BEDROCK_BASE_URL=audit.server.base_url, AWS_CONFIG_FILE=str(tmp_path / "none"))
    argv = [*CHATSTREAM, "-m", "bedrock:anthropic.claude-haiku-4-5-20251001-v1:0", "--retries", "0", *mode, "hi"]
    done = subprocess.run(argv, env=env, cwd=audit.cwd, capture_output=True, timeout=60)
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == {"none": 0, "mid-stream": 4, "403": 3}[fault], output
    assert not [secret for secret in AWS_SECRETS if secret in output]
    request = audit.server.requests[0]
    assert request.headers["x-amz-security-token"] == AWS["AWS_SESSION_TOKEN"]  # sent, never shown
    if mode == ["--debug"]:
        assert "chatstream: debug: > POST" in output and "<redacted>" in output
