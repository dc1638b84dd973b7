"""Shell completion: the scripts the package ships are current, ``chatstream completions`` prints and installs
them, and bash really completes with them (subcommands, options, -m and --role values)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHATSTREAM, REPO, cli_env

COMPLETIONS = REPO / "chatstream_cli" / "data" / "completions"
SCRIPTS = ("chatstream.bash", "_chatstream", "chatstream.fish")


def test_committed_scripts_are_current(tmp_path: Path) -> None:
    subprocess.run(
        ["sh", str(REPO / "scripts" / "generate_completions.sh"), str(tmp_path)],
        env=cli_env(PYTHON=sys.executable),
        check=True,
        timeout=60,
    )
    for name in SCRIPTS:
        fresh = (tmp_path / name).read_text()
        assert "chatstream" in fresh
        assert (COMPLETIONS / name).read_text() == fresh, f"{name} is stale: run sh scripts/generate_completions.sh"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A directory holding a ``chatstream`` command that runs this checkout with this interpreter."""
    command = tmp_path / "chatstream"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chatstream_cli "$@"\n')
    command.chmod(0o755)
    return tmp_path


def bash_complete(bin_dir: Path, words: list[str], extra_env: dict[str, str] | None = None) -> list[str]:
    """What bash offers for the last of ``words`` with completions/chatstream.bash sourced."""
    script = (
        f'source "{COMPLETIONS / "chatstream.bash"}"\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))\n'
        "complete -p chatstream >/dev/null\n"  # the script registered itself for the command
        "_chatstream_completion chatstream\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = cli_env(PATH=f"{bin_dir}:{cli_env()['PATH']}", **(extra_env or {}))
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


def test_bash_completes_models_providers_and_aliases(bin_dir: Path) -> None:
    assert bash_complete(bin_dir, ["chatstream", "hello", "-m", "builtin:"]) == [
        "builtin:",
        "builtin:poet",
        "builtin:echo",
    ]
    offered = set(bash_complete(bin_dir, ["chatstream", "--model", "o"]))
    assert {"openai", "openai:", "openai:gpt-4o-mini", "ollama"} <= offered
    assert all(name.startswith("o") for name in offered)


def test_bash_completes_the_config_file_s_aliases(bin_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[aliases]\nverse = "builtin:poet"\n')
    env = {"CHATSTREAM_HOME": str(tmp_path)}
    assert bash_complete(bin_dir, ["chatstream", "hi", "-m", "vers"], env) == ["verse"]


def test_a_broken_config_completes_nothing_rather_than_failing(bin_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[aliases\n")
    assert bash_complete(bin_dir, ["chatstream", "hi", "-m", "b"], {"CHATSTREAM_HOME": str(tmp_path)}) == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completions_prints_the_shipped_script(shell: str) -> None:
    from chatstream_cli.commands.completions import SHELLS

    done = subprocess.run([*CHATSTREAM, "completions", shell], env=cli_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (COMPLETIONS / SHELLS[shell].file).read_text()


@pytest.mark.parametrize(
    ("shell", "where"),
    [
        ("bash", "data/bash-completion/completions/chatstream"),
        ("zsh", "home/.zfunc/_chatstream"),
        ("fish", "config/fish/completions/chatstream.fish"),
    ],
)
def test_install_puts_the_script_where_the_shell_looks(tmp_path: Path, shell: str, where: str) -> None:
    env = cli_env(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        SHELL=f"/usr/bin/{shell}",
    )
    done = subprocess.run([*CHATSTREAM, "completions", "install"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    target = tmp_path / where
    assert done.stdout.splitlines()[0] == f"installed the {shell} completions in {target}"
    assert target.read_text() == subprocess.check_output([*CHATSTREAM, "completions", shell], env=env, text=True)


def test_install_for_zsh_says_what_is_left_unless_zshrc_has_it(tmp_path: Path) -> None:
    env = cli_env(HOME=str(tmp_path), ZDOTDIR=str(tmp_path / "dots"))
    install = [*CHATSTREAM, "completions", "install", "zsh"]
    first = subprocess.run(install, env=env, capture_output=True, text=True, check=True).stdout.splitlines()
    assert first[1] == (
        f"zsh reads it from a folder on $fpath: put `fpath=(~/.zfunc $fpath)` before compinit in {tmp_path}/dots/.zshrc"
    )
    (tmp_path / "dots").mkdir()
    (tmp_path / "dots" / ".zshrc").write_text("fpath=(~/.zfunc $fpath)\nautoload -U compinit; compinit\n")
    again = subprocess.run(install, env=env, capture_output=True, text=True, check=True).stdout.splitlines()
    assert again == [
        f"installed the zsh completions in {tmp_path}/.zfunc/_chatstream",
        "they take effect in a new shell",
    ]


def test_install_without_xdg_variables_uses_the_home_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env(HOME=str(tmp_path)).items() if not k.startswith("XDG_")}
    done = subprocess.run([*CHATSTREAM, "completions", "install", "bash"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".local/share/bash-completion/completions/chatstream").is_file()


def test_install_for_an_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    env = cli_env(HOME=str(tmp_path), SHELL="/bin/tcsh")
    done = subprocess.run([*CHATSTREAM, "completions", "install"], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "chatstream: error: 'tcsh' is not a shell chatstream has completions for "
        "(name one: chatstream completions install bash|zsh|fish)\n"
    )


def test_install_into_a_folder_it_cannot_write_says_so(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the folder would be\n")
    env = cli_env(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    done = subprocess.run([*CHATSTREAM, "completions", "install", "bash"], env=env, capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stderr.startswith(f"chatstream: error: cannot write {tmp_path}/data/bash-completion/completions/")
    assert len(done.stderr.splitlines()) == 1
