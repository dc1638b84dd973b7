"""On a real pseudo-terminal the reply appears while it is still being written."""

from __future__ import annotations

from pathlib import Path

import pexpect

from chatstream_cli import get_model

from .conftest import CHATSTREAM, cli_env

GOLDFISH = "Write me a 1 verse song about goldfish on the moon"


def test_first_words_are_on_screen_before_the_reply_ends(tmp_path: Path) -> None:
    last_line = get_model("builtin:poet", delay_ms=0).invoke(GOLDFISH).text.splitlines()[-1]
    argv = [*CHATSTREAM, "-m", "builtin:poet", "-o", "delay_ms", "30", GOLDFISH]
    child = pexpect.spawn(argv[0], argv[1:], env=cli_env(TERM="xterm-256color"), cwd=str(tmp_path), timeout=15)
    try:
        child.expect("Here")
        received = child.before + child.after + child.buffer
        assert child.isalive(), "the first word only appeared once the reply was over"
        assert last_line.encode() not in received, "the whole reply arrived at once"
        child.expect(pexpect.EOF)
        assert last_line.encode() in child.before
    finally:
        child.close()
    assert child.exitstatus == 0
