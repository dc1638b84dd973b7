"""Issue 21, item 8: the notice of a model chosen for the user (a stored key, or the offline poet) is said
once, on the first call after the choice changes; -q and a default_model silence it.

stderr must be a terminal for a notice, so each call runs on a pseudo-terminal.
"""

from __future__ import annotations

from pathlib import Path

import pexpect

from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import anthropic_stream

POET_NOTICE = "chatstream: using the offline builtin:poet model"
KEY_NOTICE = "chatstream: using anthropic:"


def on_a_terminal(*args: str, **env: str) -> str:
    """What a call shows on the terminal (stdout and stderr), after it exited 0."""
    argv = [*CHATSTREAM, *args]
    child = pexpect.spawn(argv[0], argv[1:], env=cli_env(**env), timeout=20, dimensions=(24, 300))
    child.expect(pexpect.EOF)
    child.close()
    shown = child.before.decode()
    assert child.exitstatus == 0, shown
    return shown


def test_the_chosen_model_is_told_once_until_the_choice_changes(
    loopback_server: LoopbackServer,  # noqa: F811
    isolated_env: Path,
) -> None:
    first = on_a_terminal("-o", "delay_ms", "0", "hello")
    assert POET_NOTICE in first
    assert POET_NOTICE not in on_a_terminal("-o", "delay_ms", "0", "hello again")
    claude = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": loopback_server.base_url}
    loopback_server.enqueue_many([Reply.sse(anthropic_stream("Hi.")) for _ in range(2)])
    changed = on_a_terminal("hello", **claude)
    assert KEY_NOTICE in changed and "since a key for anthropic is set" in changed
    assert KEY_NOTICE not in on_a_terminal("hello", **claude)
    assert len(loopback_server.requests) == 2


def test_quiet_says_nothing_and_leaves_it_to_be_said(isolated_env: Path) -> None:
    assert POET_NOTICE not in on_a_terminal("-q", "-o", "delay_ms", "0", "hello")
    assert POET_NOTICE in on_a_terminal("-o", "delay_ms", "0", "hello")


def test_a_default_model_says_nothing(isolated_env: Path) -> None:
    isolated_env.mkdir()
    (isolated_env / "config.toml").write_text('default_model = "builtin:poet"\n')
    assert "chatstream: using" not in on_a_terminal("-o", "delay_ms", "0", "hello")
