"""``chatstream chat``: in a real pseudo-terminal (prompt_toolkit reading keys, the live view replying),
and with stdin piped, one message per line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pexpect
import pytest

from chatstream_cli import history
from tests.conftest import CHATSTREAM, cli_env

ECHO = ["chat", "-m", "builtin:echo", "-o", "delay_ms", "0"]
READY = r"\x1b\[\?2004h"
"""prompt_toolkit turns bracketed paste on when it starts reading a line."""
LIVE_VIEW_STARTS = r"\x1b\[\?2026h"
"""The live view's first synchronised update: the reply is on screen and streaming."""


def spawn_chat(*args: str) -> pexpect.spawn:
    env = cli_env(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    argv = [*CHATSTREAM, "chat", "-m", "builtin:echo", *args]
    return pexpect.spawn(argv[0], argv[1:], env=env, timeout=20, dimensions=(30, 100))


def test_a_terminal_session_two_turns_ctrl_c_up_arrow_exit(isolated_env: Path) -> None:
    child = spawn_chat("-o", "delay_ms", "40")
    try:
        child.expect("/exit to leave")
        child.expect(READY)
        child.sendline("first message")
        child.expect(LIVE_VIEW_STARTS)
        child.expect("first message")
        child.expect(READY)
        child.sendline("second " + "words " * 40)
        child.expect(LIVE_VIEW_STARTS + r"(?:\x1b\[[0-9;?]*[A-Za-z])*second")  # the region's set-up codes, then text
        child.expect("second words words")
        child.sendintr()  # mid-reply: stops the reply, not the session
        child.expect("reply interrupted")
        child.expect(READY)
        child.send("\x1b[A")  # the up arrow recalls the last input
        child.expect("second words words words")
        child.sendintr()  # at the input: clears the line
        child.expect(READY)
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    first, second = history.exchanges()
    assert (first.prompt, first.reply, first.outcome) == ("first message", "first message", "completed")
    assert second.outcome == "interrupted" and second.exit_code == 130
    assert second.reply.startswith("second words") and len(second.reply) < len(second.prompt)
    assert first.cid == second.cid and second.turn == 2
    assert len(second.messages) == 3, "the second turn carried the first"
    assert "second words" in (isolated_env / "chat-input-history").read_text()


def test_the_input_history_is_kept_between_sessions() -> None:
    first = spawn_chat("-o", "delay_ms", "0")
    try:
        first.expect(READY)
        first.sendline("remember this line")
        first.expect(LIVE_VIEW_STARTS)
        first.expect(READY)
        first.sendeof()  # Ctrl-D leaves
        first.expect(pexpect.EOF)
    finally:
        first.close()
    second = spawn_chat("-o", "delay_ms", "0")
    try:
        second.expect(READY)
        second.send("\x1b[A")
        second.expect("remember this line")
        second.sendline("")  # sends the recalled line
        second.expect(LIVE_VIEW_STARTS)
        second.expect(READY)
        second.sendline("/exit")
        second.expect(pexpect.EOF)
    finally:
        second.close()
    assert (first.exitstatus, second.exitstatus) == (0, 0)
    assert [exchange.prompt for exchange in history.exchanges()] == ["remember this line"] * 2


def chat_piped(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CHATSTREAM, *args], input=stdin, env=cli_env(), capture_output=True, text=True, timeout=60)


def test_piped_stdin_is_one_message_per_line_in_one_conversation() -> None:
    result = chat_piped(*ECHO, stdin="one\n\ntwo\n/exit\nthree\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "one\ntwo\n", "")
    first, second = history.exchanges()
    assert first.cid == second.cid
    assert [message["content"] for message in second.messages] == ["one", "one", "two"]


def test_piped_commands(tmp_path: Path) -> None:
    saved = tmp_path / "reply.txt"
    script = "\n".join(
        [
            "/system be terse",
            "alpha",
            f"/save {saved}",
            "/retry",
            "/model builtin:poet",
            "goldfish",
            "/model no-such-model",
            "/new",
            "beta",
            "/frobnicate",
            "",
        ]
    )
    result = chat_piped(*ECHO, stdin=script)
    assert result.returncode == 0
    assert result.stdout.startswith("alpha\nalpha\n")
    assert saved.read_text() == "alpha"
    errors = [line for line in result.stderr.splitlines() if line.startswith("chatstream: error:")]
    assert len(errors) == 2 and "no-such-model" in errors[0] and "unknown command /frobnicate" in errors[1]
    recorded = history.exchanges()
    assert [exchange.prompt for exchange in recorded] == ["alpha", "alpha", "goldfish", "beta"]
    assert recorded[1].retry_of == recorded[0].id
    assert recorded[2].full_model == "builtin:poet" and recorded[2].system == "be terse"
    assert [m["content"] for m in recorded[2].messages] == ["be terse", "alpha", "alpha", "goldfish"]
    assert recorded[3].cid != recorded[2].cid and recorded[3].messages[-1]["content"] == "beta"


def test_chat_resumes_a_conversation_with_c() -> None:
    subprocess.run([*CHATSTREAM, "-m", "builtin:echo", "-o", "delay_ms", "0", "earlier"], env=cli_env(), check=True)
    result = chat_piped("chat", "-c", "-o", "delay_ms", "0", stdin="later\n")
    assert result.returncode == 0
    earlier, later = history.exchanges()
    assert later.cid == earlier.cid and [m["content"] for m in later.messages] == ["earlier", "earlier", "later"]


@pytest.mark.parametrize("flag", ["--no-log", "--json"])
def test_chat_flags(flag: str, isolated_env: Path) -> None:
    result = chat_piped(*ECHO, flag, stdin="hi\n")
    if flag == "--json":  # not a chat option: a usage error
        assert result.returncode == 2 and result.stderr.startswith("chatstream: error:")
        return
    assert (result.returncode, result.stdout) == (0, "hi\n")
    assert not (isolated_env / "history.db").exists()


def test_multi_line_input_alt_enter_a_block_and_a_paste() -> None:
    child = spawn_chat("-o", "delay_ms", "0")
    try:
        for keys in ("first\x1b\rsecond\r", '"""\rblock one\rblock two\r"""\r', "\x1b[200~pasted\nlines\x1b[201~\r"):
            child.expect(READY)
            child.send(keys)
            child.expect(LIVE_VIEW_STARTS)
        child.expect(READY)
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    prompts = [exchange.prompt for exchange in history.exchanges()]
    assert prompts == ["first\nsecond", "block one\nblock two", "pasted\nlines"]
