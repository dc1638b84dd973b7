"""Shell completion: the committed scripts in completions/ are current, and bash really completes with them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env

COMPLETIONS = REPO / "completions"
SCRIPTS = ("chatstream.bash", "_chatstream", "chatstream.fish")


def test_committed_scripts_are_current(tmp_path: Path) -> None:
    subprocess.run(
        ["sh", str(COMPLETIONS / "generate.sh"), str(tmp_path)],
        env=cli_env(PYTHON=sys.executable),
        check=True,
        timeout=60,
    )
    for name in SCRIPTS:
        fresh = (tmp_path / name).read_text()
        assert "chatstream" in fresh
        assert (COMPLETIONS / name).read_text() == fresh, f"completions/{name} is stale: run sh completions/generate.sh"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A directory holding a ``chatstream`` command that runs this checkout with this interpreter."""
    command = tmp_path / "chatstream"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chatstream_cli "$@"\n')
    command.chmod(0o755)
    return tmp_path


def bash_complete(bin_dir: Path, words: list[str]) -> list[str]:
    """What bash offers for the last of ``words`` with completions/chatstream.bash sourced."""
    script = (
        f'source "{COMPLETIONS / "chatstream.bash"}"\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))\n'
        "complete -p chatstream >/dev/null\n"  # the script registered itself for the command
        "_chatstream_completion chatstream\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = cli_env(PATH=f"{bin_dir}:{cli_env()['PATH']}")
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script, "bash", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_a_subcommand(bin_dir: Path) -> None:
    assert bash_complete(bin_dir, ["chatstream", "mod"]) == ["models"]


def test_bash_completes_every_subcommand_from_nothing(bin_dir: Path) -> None:
    assert {"prompt", "models", "keys", "config"} <= set(bash_complete(bin_dir, ["chatstream", ""]))


def test_bash_completes_a_subcommand_of_a_group(bin_dir: Path) -> None:
    assert sorted(bash_complete(bin_dir, ["chatstream", "keys", ""])) == ["list", "path", "remove", "set"]


def test_bash_completes_an_option_of_the_default_command(bin_dir: Path) -> None:
    assert bash_complete(bin_dir, ["chatstream", "hello", "--time"]) == ["--timeout"]


def test_bash_completes_an_option_of_the_default_command_as_the_first_word(bin_dir: Path) -> None:
    assert bash_complete(bin_dir, ["chatstream", "--mod"]) == ["--model"]
    assert bash_complete(bin_dir, ["chatstream", "--vers"]) == ["--version"]


def test_bash_completes_role_names(bin_dir: Path) -> None:
    assert bash_complete(bin_dir, ["chatstream", "hello", "--role", "re"]) == ["review"]
