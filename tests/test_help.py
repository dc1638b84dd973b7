"""--help for people: metavars that say what to type, and the Typer that cli.py's private import was tried with."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

import pytest
import typer
from packaging.requirements import Requirement
from typer.testing import CliRunner

from chatstream_cli import cli
from tests.conftest import REPO


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cli.app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("prompt",),
        ("models",),
        ("replay",),
        ("config", "set"),
        ("config", "unset"),
        ("keys", "set"),
        ("chat",),
        ("batch", "run"),
        ("batch", "results"),
        ("logs",),
        ("logs", "delete"),
        ("roles", "save"),
    ],
)
def test_no_python_types_in_help(command: tuple[str, ...]) -> None:
    text = help_of(*command)
    assert not re.search(r"<(str|int|float|list|bool)\b[^>]*>", text), text


def test_prompt_help_names_what_each_option_takes() -> None:
    text = help_of("prompt")
    assert "Usage: chatstream prompt [OPTIONS] [PROMPT]" in text
    for option in [
        "-m, --model MODEL",
        "-s, --system TEXT",
        "-t, --temperature NUMBER",
        "--max-tokens N",
        "--stop TEXT",
        "-o, --option KEY VALUE",
        "-d, --delimiter TEXT",
        "--timeout SECONDS",
        "--retries N",
        "--base-url URL",
    ]:
        assert f"  {option}  " in text, option
    assert re.search(r"-d, --delimiter TEXT +Print TEXT after every chunk", text)


def test_config_set_help_names_key_and_value() -> None:
    assert "Usage: chatstream config set [OPTIONS] {KEY} {VALUE}" in help_of("config", "set")


def test_typer_is_declared_with_the_range_it_was_tried_with() -> None:
    """cli.py imports typer._click, which is private: the requirement must have an upper bound that excludes
    any release not tried, and the installed Typer must be inside it."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    (typer_requirement,) = [
        Requirement(line) for line in pyproject["project"]["dependencies"] if line.startswith("typer")
    ]
    assert any(spec.operator == "<" for spec in typer_requirement.specifier)
    assert typer_requirement.specifier.contains(version("typer"))


def test_the_usage_error_typer_raises_is_the_class_cli_catches() -> None:
    """If Typer stopped raising typer._click's ClickException, usage errors would escape cli.py as exit 1."""
    prompt = typer.main.get_command(cli.app).commands["prompt"]  # type: ignore[attr-defined]
    with pytest.raises(cli.ClickException):
        prompt.make_context("prompt", ["--max-tokens", "many"])
    result = CliRunner().invoke(cli.app, ["--max-tokens", "many", "hi"])
    assert result.exit_code == 2
    assert result.stderr.startswith("chatstream: error: invalid value for '--max-tokens'")


@pytest.mark.parametrize("name", list(cli.DefaultGroup.subcommands))
def test_each_subcommand_is_listed_by_its_own_summary(name: str) -> None:
    """--help lists the subcommands without importing them: the summary it shows is the command's own help."""
    root = typer.main.get_command(cli.app)
    context = root.make_context("chatstream", ["--help"], resilient_parsing=True)
    loaded = root.get_command(context, name)
    assert loaded is not None and loaded.name == name
    stand_in = typer.core.TyperCommand(name, help=cli.DefaultGroup.subcommands[name].summary)
    for width in (30, 45, 200):
        assert stand_in.get_short_help_str(width) == loaded.get_short_help_str(width)
