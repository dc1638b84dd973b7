"""Issue 21, item 4: every file chatstream edits (config.toml, keys.toml, a role) is written through a
symlink to its target, keeps its mode, and is replaced atomically (a new file beside the target, renamed).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatstream_cli.cli import app
from tests.conftest import error_line


def run(*args: str, input: str | None = None) -> None:
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.stderr


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def dotfiles(tmp_path: Path, isolated_env: Path) -> Path:
    """A dotfiles repository the chatstream home links into."""
    isolated_env.mkdir()
    repo = tmp_path / "dotfiles"
    repo.mkdir()
    return repo


def linked(dotfiles: Path, link: Path, text: str, mode: int) -> Path:
    target = dotfiles / link.name
    target.write_text(text)
    target.chmod(mode)
    link.symlink_to(target)
    return target


@pytest.mark.parametrize(
    "change, expected",
    [(["config", "set", "timeout", "45"], "timeout = 45"), (["logs", "off"], "log = false")],
    ids=["config-set", "logs-off"],
)
def test_config_is_written_through_its_link_keeping_its_mode(
    dotfiles: Path, isolated_env: Path, change: list[str], expected: str
) -> None:
    link = isolated_env / "config.toml"
    target = linked(dotfiles, link, "# my settings\nretries = 1\n", 0o640)
    inode = target.stat().st_ino
    run(*change)
    assert link.is_symlink() and link.resolve() == target
    text = target.read_text()
    assert text.startswith("# my settings\nretries = 1\n") and expected in text
    assert mode_of(target) == 0o640
    assert target.stat().st_ino != inode, "replaced by a rename, not rewritten in place"
    assert sorted(os.listdir(dotfiles)) == ["config.toml"], "no temporary file is left beside it"


def test_keys_are_written_through_their_link_and_stay_private(dotfiles: Path, isolated_env: Path) -> None:
    link = isolated_env / "keys.toml"
    target = linked(dotfiles, link, 'openai = "sk-old"\n', 0o600)
    run("keys", "set", "anthropic", input="sk-ant-new\n")
    assert link.is_symlink()
    assert target.read_text() == 'openai = "sk-old"\nanthropic = "sk-ant-new"\n'
    assert mode_of(target) == 0o600
    target.chmod(0o400)  # a stricter mode is kept too
    run("keys", "remove", "openai")
    assert (link.is_symlink(), mode_of(target), target.read_text()) == (True, 0o400, 'anthropic = "sk-ant-new"\n')


def test_a_role_is_written_through_its_link(dotfiles: Path, isolated_env: Path) -> None:
    run("roles", "save", "terse", "-s", "Be terse.")
    roles = isolated_env / "roles"
    saved = roles / "terse.toml"
    target = dotfiles / "terse.toml"
    saved.rename(target)
    target.chmod(0o600)
    saved.symlink_to(target)
    inode = target.stat().st_ino
    run("roles", "save", "terse", "-s", "Be very terse.")
    assert saved.is_symlink() and "Be very terse." in target.read_text()
    assert target.stat().st_ino != inode, "replaced by a rename, not rewritten in place"
    assert mode_of(target) == 0o600
    assert sorted(os.listdir(roles)) == ["terse.toml"]


def test_a_link_that_points_nowhere_yet_gets_its_target_created(dotfiles: Path, isolated_env: Path) -> None:
    link = isolated_env / "config.toml"
    link.symlink_to(dotfiles / "chatstream" / "config.toml")
    run("config", "set", "timeout", "45")
    assert link.is_symlink()
    assert "timeout = 45" in (dotfiles / "chatstream" / "config.toml").read_text()


def test_a_file_that_cannot_be_written_is_one_line_naming_it_and_its_target(isolated_env: Path) -> None:
    isolated_env.mkdir()
    link = isolated_env / "config.toml"
    link.symlink_to("/proc/chatstream-nowhere/config.toml")  # no config yet, and nothing can be made there
    result = CliRunner().invoke(app, ["config", "set", "timeout", "45"])
    assert result.exit_code == 3
    assert error_line(result) == (
        f"cannot write {link} (a link to /proc/chatstream-nowhere/config.toml): No such file or directory "
        "(check the file, its directory and their permissions)"
    )
