"""MCP servers as tools, against real servers made with the SDK's own MCPServer (tests/mcp_server.py):
one over stdio, started by chatstream, and one over Streamable HTTP on 127.0.0.1, started here; the
``mcp`` subcommands; every way a server fails is one line and an exit code, never a hang."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.config import Config
from chatstream_cli.providers import activate
from tests.conftest import CHATSTREAM, REPO, cli_env, error_line

SERVER = str(REPO / "tests" / "mcp_server.py")
ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def stdio_server(isolated_env: Path) -> Iterator[str]:
    """config.toml with [mcp.local]: the test server over stdio."""
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f"[mcp.local]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(SERVER)}]\n"
        f'env = {{ GIVEN = "yes" }}\ntimeout = 20\n'
    )
    yield "local"
    activate(Config())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """The test server over Streamable HTTP on 127.0.0.1; its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, SERVER, "http", str(port)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)  # the server is starting: there is no event to wait on but its port
    else:
        process.kill()
        pytest.fail("the Streamable HTTP test server did not start")
    yield f"http://127.0.0.1:{port}/mcp"
    process.kill()
    process.wait()


def test_a_stdio_servers_tools_run_in_the_loop(
    stdio_server: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-key-0123")
    calls = [
        'call add {"a": 2, "b": 40}',
        'call shout {"text": "quiet"}',
        "call broken {}",
        'call environment {"name": "GIVEN"}',
        'call environment {"name": "ANTHROPIC_API_KEY"}',
        'call add {"a": "two"}',
    ]
    result = run(*ECHO, "--mcp", stdio_server, "\n".join(calls))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "add: 42",
        "shout: QUIET",
        "broken: Error executing tool broken",
        "environment: set",
        "environment: unset",
        "add: the arguments do not fit the tool's schema: arguments lack the required 'b'",
    ]
    assert "shouting" not in result.stderr  # the server's stderr is in its log
    assert "shouting quiet" in (isolated_env / "mcp-local.log").read_text()


def test_a_streamable_http_servers_tools_run_in_the_loop(http_server: str) -> None:
    assert run("mcp", "add", "remote", "--url", http_server, "-H", "X-Test: 1").exit_code == 0
    result = run(*ECHO, "--mcp", "remote", "--json", 'call add {"a": 1, "b": 2}')
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["steps"][0]["tool_results"][0]["content"] == "3"
    assert record["content"] == "add: 3"


def test_mcp_add_list_remove_and_import(http_server: str, tmp_path: Path, isolated_env: Path) -> None:
    added = run("mcp", "add", "local", "--env", "A=1", "--", sys.executable, SERVER)
    assert added.exit_code == 0, added.stderr
    claude = tmp_path / ".mcp.json"
    claude.write_text(json.dumps({"mcpServers": {"web": {"url": http_server}, "gone": {"command": "/no/such/server"}}}))
    assert run("mcp", "import", str(claude)).exit_code == 0
    text = (isolated_env / "config.toml").read_text()
    assert "[mcp.local]" in text and "[mcp.web]" in text and "[mcp.gone]" in text
    listed = run("mcp", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0] == f"local  {sys.executable} {SERVER}"
    assert "  add  Add two integers." in lines
    assert f"web  {http_server}" in lines
    assert any(line.startswith("  (not available: the MCP server gone did not start") for line in lines)
    assert run("mcp", "remove", "gone").exit_code == 0
    assert "[mcp.gone]" not in (isolated_env / "config.toml").read_text()
    missing = run("mcp", "remove", "gone")
    assert missing.exit_code == 2 and "no MCP server named 'gone'" in error_line(missing)


def test_a_server_that_does_not_start_is_exit_4_naming_it(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text('[mcp.nothing]\ncommand = "/no/such/server"\n')
    result = run(*ECHO, "--mcp", "nothing", "hi")
    assert result.exit_code == 4
    assert error_line(result).startswith("the MCP server nothing did not start: ")
    activate(Config())


def test_a_server_that_crashes_mid_chain_is_exit_4_and_the_history_kept(stdio_server: str) -> None:
    result = run(*ECHO, "--mcp", stdio_server, 'call add {"a": 1, "b": 1}\ncall crash {}')
    assert result.exit_code == 4
    assert "the MCP server local failed to answer a call of crash" in result.stderr.splitlines()[-1]
    turn = json.loads(run("logs", "--json", "-n", "1").stdout)[0]
    assert (turn["outcome"], turn["exit_code"]) == ("failed", 4)


def test_a_server_that_never_answers_times_out(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    silent = '[mcp.silent]\ncommand = "sleep"\nargs = ["30"]\ntimeout = 1\n'
    (isolated_env / "config.toml").write_text(silent)
    started = time.monotonic()
    result = run(*ECHO, "--mcp", "silent", "hi")
    assert result.exit_code == 4
    assert "the MCP server silent did not start" in error_line(result)
    assert time.monotonic() - started < 10
    activate(Config())


def test_an_unknown_server_is_exit_3(isolated_env: Path) -> None:
    result = run(*ECHO, "--mcp", "nope", "hi")
    assert result.exit_code == 3
    assert error_line(result).startswith("no MCP server named 'nope' in the config")


def test_without_the_sdk_the_extra_is_named(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mcp'] = None; sys.argv[0] = 'chatstream'; from chatstream_cli.cli import main; main()"
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[mcp.x]\ncommand = "true"\n')
    result = subprocess.run(
        [sys.executable, "-c", code, *ECHO, "--mcp", "x", "hi"],
        capture_output=True,
        text=True,
        env=cli_env(CHATSTREAM_HOME=str(home)),
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "chatstream: error: MCP servers need the mcp package (install the extra: pip install 'chatstream[mcp]')"
    )
    assert CHATSTREAM  # the same entry point as `python -m chatstream_cli`


def test_config_show_hides_the_servers_env_and_headers(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    secret = "Bearer mcp-SECRET-0123"
    (isolated_env / "config.toml").write_text(
        f'[mcp.web]\nurl = "https://mcp.example.com/mcp"\nheaders = {{ Authorization = "{secret}" }}\n'
        '[mcp.local]\ncommand = "srv"\nenv = { TOKEN = "tok-SECRET-42" }\n'
    )
    shown = run("config", "show")
    assert shown.exit_code == 0, shown.stderr
    assert "SECRET" not in shown.stdout
    assert "Authorization" in shown.stdout and "TOKEN" in shown.stdout and "<hidden>" in shown.stdout
    activate(Config())
