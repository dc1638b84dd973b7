"""Issue 21, item 5: ``-f DIR`` outside a git work tree (as inside) leaves out dot-files, dot-directories,
node_modules, __pycache__ and virtual environments unless they are named; all the files together have
a size limit (1 MiB unless config.toml's max_files_size says otherwise), over which it is exit 2.
"""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env, error_line

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]


def echo(*args: str) -> Result:
    return CliRunner().invoke(app, [*ECHO, *args])


def sent_paths(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return re.findall(r'<file path="([^"]+)">', result.stdout)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plain folder, no git work tree above it, with what nobody means to send beside the code."""
    work = tmp_path / "plain"
    files = {
        "app.py": "print('app')\n",
        "src/util.py": "X = 1\n",
        ".env": "SECRET=hunter2\n",
        ".config/settings.toml": "a = 1\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/site.py": "venv\n",
        "env/pyvenv.cfg": "home = /usr/bin\n",
        "env/lib/other.py": "another venv\n",
        "conda/conda-meta/history": "conda\n",
        "conda/lib/c.py": "conda env\n",
        "node_modules/left-pad/index.js": "module.exports = 1\n",
        "src/__pycache__/util.txt": "cache\n",
    }
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    monkeypatch.chdir(work)
    return work


def test_a_plain_folder_sends_only_the_code(folder: Path) -> None:
    assert not any((parent / ".git").exists() for parent in folder.parents)
    assert sent_paths(echo("-f", ".", "review")) == ["app.py", "src/util.py"]


def test_the_same_inside_a_git_work_tree(folder: Path) -> None:
    (folder / ".git").mkdir()
    assert sent_paths(echo("-f", ".", "review")) == ["app.py", "src/util.py"]


def test_what_is_named_is_sent(folder: Path) -> None:
    assert sent_paths(echo("-f", ".env", "-f", "node_modules/left-pad/index.js", "x")) == [
        ".env",
        "node_modules/left-pad/index.js",
    ]
    assert sent_paths(echo("-f", ".venv", "x")) == [".venv/pyvenv.cfg", ".venv/lib/site.py"]


def test_a_glob_leaves_them_out_too(folder: Path) -> None:
    assert sent_paths(echo("-f", "**/*.py", "x")) == ["app.py", "src/util.py"]
    assert sent_paths(echo("-f", "env/**/*.py", "x")) == ["env/lib/other.py"]  # below the named folder


def test_what_was_left_out_is_told_on_a_terminal(folder: Path) -> None:
    argv = [*CHATSTREAM, *ECHO, "-f", ".", "review"]
    child = pexpect.spawn(argv[0], argv[1:], env=cli_env(), cwd=str(folder), timeout=20)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (
        "chatstream: -f left out 1 file and 6 folders: .config/ (hidden), .venv/ (hidden), "
        "conda/ (a virtual environment), env/ (a virtual environment), node_modules/ (dependencies) and 2 more"
    ) in child.before.decode()


def test_over_the_size_limit_is_exit_2_with_the_total_and_how_to_raise_it(folder: Path) -> None:
    big = folder / "data"
    big.mkdir()
    for n in range(5):
        (big / f"part{n}.txt").write_text("x" * 250_000 + "\n")
    result = echo("-f", "data", "summarise")
    assert result.exit_code == 2
    assert error_line(result) == (
        "the -f files come to 1.2 MiB (5 files), over the 1 MiB limit "
        "(name fewer files, or raise the limit: chatstream config set max_files_size 2MiB)"
    )
    assert CliRunner().invoke(app, ["config", "set", "max_files_size", "2MiB"]).exit_code == 0
    assert len(sent_paths(echo("-f", "data", "summarise"))) == 5
    assert CliRunner().invoke(app, ["config", "set", "max_files_size", "100KiB"]).exit_code == 0
    assert error_line(echo("-f", "data/part0.txt", "one file")).startswith(
        "the -f files come to 244.1 KiB (1 file), over the 100 KiB limit"
    )
