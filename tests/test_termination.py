"""Issue 21, item 3: SIGTERM and SIGHUP (``timeout``, ``kill``, a closed terminal) keep the reply so far in
the history, marked interrupted as Ctrl-C's partial is, put the terminal back, and exit 128 + signal.

Real signals to real processes: a piped subprocess, the live view on a pseudo-terminal, and chat.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pexpect
import pytest

from chatstream_cli import history

from .conftest import CHATSTREAM, cli_env

SLOW_POET = ["-m", "builtin:poet", "-o", "verses", "30", "-o", "delay_ms", "20"]
NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_piped_reply_keeps_what_arrived(signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [*CHATSTREAM, *SLOW_POET, "sigterm test"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env()
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()  # the reply is streaming
    process.send_signal(signum)
    rest, errors = process.communicate(timeout=20)
    assert process.returncode == 128 + signum
    assert errors.decode() == f"chatstream: terminated by {NAMES[signum]}\n"
    shown = (first_line + rest).decode()
    (exchange,) = history.exchanges()
    assert exchange.outcome == "interrupted" and exchange.exit_code == 128 + signum
    assert exchange.error == f"terminated by {NAMES[signum]}"
    assert exchange.reply.startswith("Here is a 30 verse song")
    # the signal may land between recording a chunk and printing it: the two differ by that chunk at most
    assert shown.startswith(exchange.reply) or exchange.reply.startswith(shown)
    assert len(exchange.reply) < 600, "the reply was cut, not waited for"


@pytest.mark.parametrize("first", [signal.SIGHUP, signal.SIGTERM])
def test_a_sighup_right_after_still_leaves_the_record(first: signal.Signals) -> None:
    """A closed terminal sends SIGHUP twice (the kernel's, then the shell's); systemd may follow SIGTERM
    with SIGHUP. The reply so far is recorded all the same."""
    process = subprocess.Popen([*CHATSTREAM, *SLOW_POET, "sigterm test"], stdout=subprocess.PIPE, env=cli_env())
    assert process.stdout is not None
    process.stdout.readline()
    process.send_signal(first)
    process.send_signal(signal.SIGHUP)
    process.communicate(timeout=20)
    assert process.returncode in {128 + first, 129}  # two signals pending at once are handled SIGHUP first
    (exchange,) = history.exchanges()
    assert exchange.outcome == "interrupted" and exchange.reply.startswith("Here is a 30 verse song")


def test_a_piped_events_run_ends_with_the_error_event_and_its_exit_code() -> None:
    process = subprocess.Popen(
        [*CHATSTREAM, *SLOW_POET, "--events", "sigterm test"], stdout=subprocess.PIPE, env=cli_env(), text=True
    )
    assert process.stdout is not None
    while '"on_chat_model_stream"' not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=20)
    assert process.returncode == 143
    last = rest.strip().splitlines()[-1]
    assert '"event": "on_chat_model_error"' in last and '"exit_code": 143' in last


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_the_live_view_puts_the_terminal_back(signum: signal.Signals, tmp_path: Path) -> None:
    """The live view turns the terminal's echo off while it redraws; after the signal it is on again."""
    command = " ".join([*CHATSTREAM, *SLOW_POET, "'sigterm test'"])
    script = f"{command} & echo PID=$!; wait $!; echo EXIT=$?; stty -a"
    child = pexpect.spawn("sh", ["-c", script], env=cli_env(TERM="xterm-256color"), timeout=20, cwd=str(tmp_path))
    try:
        child.expect(r"PID=(\d+)")
        pid = int(child.match.group(1))
        child.expect("song about")  # streaming, on the terminal
        subprocess.run(["kill", f"-{NAMES[signum][3:]}", str(pid)], check=True)
        child.expect(r"EXIT=(\d+)")
        code = int(child.match.group(1))
        child.expect(pexpect.EOF)
        modes = child.before.decode()
    finally:
        child.close()
    assert code == 128 + signum
    assert re.search(r"(?<![-\w])echo(?!\w)", modes), modes
    (exchange,) = history.exchanges()
    assert exchange.outcome == "interrupted" and exchange.reply.startswith("Here is a 30 verse song")


def test_chat_ends_on_sigterm_with_the_reply_kept() -> None:
    env = cli_env(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    argv = [*CHATSTREAM, "chat", *SLOW_POET]
    child = pexpect.spawn(argv[0], argv[1:], env=env, timeout=20, dimensions=(30, 100))
    try:
        child.expect(r"\x1b\[\?2004h")  # reading a line
        child.sendline("a song about signals")
        child.expect("verse song")
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 143
    (exchange,) = history.exchanges()
    assert exchange.outcome == "interrupted" and exchange.exit_code == 143


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_chat_waiting_at_its_input_puts_the_terminal_back(signum: signal.Signals) -> None:
    """prompt_toolkit reads the line in raw mode (no echo, no line editing by the terminal); after the
    signal the shell finds the terminal as it was."""
    env = cli_env(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    command = " ".join([*CHATSTREAM, "chat", "-m", "builtin:echo"])
    child = pexpect.spawn("sh", ["-c", f"{command}; echo EXIT=$?; stty -a"], env=env, timeout=20)
    try:
        child.expect(r"\x1b\[\?2004h")  # reading a line, in raw mode
        found = subprocess.run(["pgrep", "-P", str(child.pid)], capture_output=True, text=True, check=True)
        subprocess.run(["kill", f"-{NAMES[signum][3:]}", found.stdout.split()[0]], check=True)
        child.expect(r"EXIT=(\d+)")
        code = int(child.match.group(1))
        child.expect(pexpect.EOF)
        modes = child.before.decode()
    finally:
        child.close()
    assert code == 128 + signum
    assert re.findall(r"-?icanon|-?echo(?![a-z])", modes) == ["icanon", "echo"], modes
