"""Issue 21, item 2: every subcommand whose stdout closes early (``| head``) exits 141, silently.

Each command writes into a pipe whose reading end is already closed, so that every write fails as a
``head`` that has had enough makes it fail: deterministic, where a real ``| head -1`` is a race.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from chatstream_cli import history
from chatstream_cli.history import Exchange, Outcome

from .conftest import CHATSTREAM, cli_env

COMMANDS = [
    ["models"],
    ["models", "--json"],
    ["models", "--help"],
    ["config", "show"],
    ["config", "path"],
    ["roles", "list"],
    ["roles", "show", "shell"],
    ["roles", "path"],
    ["keys", "list"],
    ["keys", "path"],
    ["logs"],
    ["logs", "--json"],
    ["logs", "list"],
    ["logs", "path"],
    ["--help"],
    ["--version"],
    ["-m", "builtin:echo", "-o", "delay_ms", "0", "hello"],
]


@pytest.fixture
def closed_pipe() -> Iterator[int]:
    """The writing end of a pipe nobody reads any more."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    yield write_end
    os.close(write_end)


def test_every_subcommand_exits_141_without_a_word(closed_pipe: int) -> None:
    history.record(Exchange(cid="c0ffee00c0ffee00", model="echo", provider="builtin", prompt="hi", reply="hi",
                            outcome=Outcome.COMPLETED))  # fmt: skip
    env = cli_env()
    running = [
        (argv, subprocess.Popen([*CHATSTREAM, *argv], stdout=closed_pipe, stderr=subprocess.PIPE, env=env))
        for argv in COMMANDS
    ]
    ended = {" ".join(argv): (process.wait(timeout=60), process.communicate()[1].decode()) for argv, process in running}
    assert ended == {" ".join(argv): (141, "") for argv in COMMANDS}


@pytest.mark.parametrize("argv", [["--version"], ["models"], ["config", "path"]])
def test_a_command_started_with_stdout_closed_is_not_a_bug(argv: list[str]) -> None:
    """``>&-``: Python has no sys.stdout at all; what the command prints goes nowhere, as before."""
    result = subprocess.run(
        ["bash", "-c", '"$@" >&-', "bash", *CHATSTREAM, *argv], capture_output=True, env=cli_env(), timeout=60
    )
    assert (result.returncode, result.stderr) == (0, b"")
