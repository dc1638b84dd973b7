"""Tools on a real pseudo-terminal: the questions before a call (the shell's, --approve's) and Ctrl-C
during a tool, which kills the tool's process group, keeps the history and exits 130."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect

from .conftest import CHATSTREAM, cli_env

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]
ADD = 'def add(a: int, b: int) -> int:\n    "Add."\n    return a + b\n'


def spawn(tmp_path: Path, *args: str) -> pexpect.spawn:
    argv = [*CHATSTREAM, *ECHO, *args]
    env = cli_env(TERM="xterm-256color", CHATSTREAM_HOME=str(tmp_path / "home"))
    return pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(tmp_path), timeout=15, dimensions=(24, 200))


def finished(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return child.before.decode()


def test_the_shell_asks_and_runs_what_was_approved(tmp_path: Path) -> None:
    child = spawn(tmp_path, "-T", "shell", 'call shell {"command": "echo approved"}')
    child.expect_exact("run shell echo approved? [y]es / [n]o / [e]dit ")
    child.sendline("y")
    assert "shell: exit status 0\r\napproved" in finished(child)
    assert child.exitstatus == 0


def test_the_shell_declined_or_edited(tmp_path: Path) -> None:
    child = spawn(tmp_path, "-T", "shell", 'call shell {"command": "echo no"}\ncall shell {"command": "echo first"}')
    child.expect_exact("[e]dit ")
    child.sendline("n")
    child.expect_exact("[e]dit ")
    child.sendline("e")
    child.expect_exact("command: ")
    child.sendline("echo edited")
    shown = finished(child)
    assert "shell: the user declined to run this tool call" in shown
    assert "shell: exit status 0\r\nedited" in shown
    assert "first" not in shown.split("edited", 1)[1]


def test_approve_asks_for_every_call_until_always(tmp_path: Path) -> None:
    calls = "\n".join(f'call add {{"a": {n}, "b": 1}}' for n in range(3))
    child = spawn(tmp_path, "--approve", "--functions", ADD, calls)
    child.expect_exact('run add {"a": 0, "b": 1}? [y]es / [n]o / [a]lways this tool ')
    child.sendline("a")
    shown = finished(child)
    assert "run add" not in shown  # asked once only
    assert "add: 1\r\nadd: 2\r\nadd: 3" in shown


def test_yes_answers_approve_but_not_the_shell_on_a_terminal(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--yes", "--approve", "--functions", ADD, 'call add {"a": 1, "b": 1}')
    shown = finished(child)
    assert "run add" not in shown and "add: 2" in shown
    child = spawn(tmp_path, "--yes", "-T", "shell", 'call shell {"command": "echo asked"}')
    child.expect_exact("run shell echo asked? [y]es / [n]o / [e]dit ")
    child.sendline("n")
    assert "declined" in finished(child)


def test_ctrl_c_during_a_tool_kills_its_process_group_and_keeps_the_history(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    command = f"sh -c 'echo $$ > {marker}; sleep 30' & wait"
    child = spawn(tmp_path, "--yes", "-T", "shell", json.dumps({"command": command}).join(["call shell ", ""]))
    child.expect_exact("? [y]es / [n]o / [e]dit ")  # on a terminal the shell asks first, --yes or not
    child.sendline("y")
    for _ in range(200):
        if marker.exists() and marker.read_text().strip():
            break
        child.expect(pexpect.TIMEOUT, timeout=0.05)
    grandchild = int(marker.read_text())
    child.sendintr()
    finished(child)
    assert child.exitstatus == 130
    try:
        os.kill(grandchild, 0)
        alive = Path(f"/proc/{grandchild}/stat").read_text().split()[2] != "Z"
    except ProcessLookupError:
        alive = False
    assert not alive, "the command's own child outlived Ctrl-C"
    logs = subprocess.run(
        [*CHATSTREAM, "logs", "--json", "-n", "1"],
        capture_output=True,
        env=cli_env(CHATSTREAM_HOME=str(tmp_path / "home")),
        timeout=30,
    )
    turn = json.loads(logs.stdout)[0]
    assert (turn["outcome"], turn["exit_code"]) == ("interrupted", 130)


def test_ctrl_c_during_an_mcp_call_stops_the_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    server = Path(__file__).resolve().parent / "mcp_server.py"
    (home / "config.toml").write_text(
        f"[mcp.slow]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(server))}]\n"
    )
    child = spawn(tmp_path, "--mcp", "slow", 'call wait {"seconds": 60}')
    child.expect_exact("tool wait", timeout=60)
    log = home / "mcp-slow.log"
    for _ in range(400):
        if log.exists() and "pid " in log.read_text():
            break
        child.expect(pexpect.TIMEOUT, timeout=0.05)
    pid = int(log.read_text().split("pid ")[1].split()[0])
    child.sendintr()
    finished(child)
    assert child.exitstatus == 130
    try:
        os.kill(pid, 0)
        gone = Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except ProcessLookupError:
        gone = True
    assert gone, "the MCP server outlived Ctrl-C"


def test_a_call_appears_as_it_streams_then_its_result(tmp_path: Path) -> None:
    code = 'def shout(text: str) -> str:\n    "Capitals."\n    return text.upper()\n'
    words = "streaming " * 6
    argv = ["-o", "delay_ms", "40", "--functions", code, f"Loud:\ncall shout {json.dumps({'text': words})}"]
    child = spawn(tmp_path, *argv)
    child.expect_exact("chatstream: tool shout ")
    before = (child.before + child.after).decode()
    child.expect_exact('{"text')
    before += (child.before + child.after).decode()
    assert child.isalive() and "STREAMING" not in before + child.buffer.decode(), "the call was shown only at its end"
    shown = before + finished(child)
    assert "chatstream: tool shout -> STREAMING STREAMING" in shown
    assert shown.count("chatstream: tool shout ") == 2  # the call forming, then its result: not the call twice
