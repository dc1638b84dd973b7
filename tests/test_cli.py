"""Tests for the command line through Typer's CliRunner: prompt and stdin rules, output, options, errors."""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli import __version__, get_model
from chatstream_cli.cli import app
from chatstream_cli.commands.prompt import read_prompt
from chatstream_cli.errors import UsageError
from chatstream_cli.messages import content_text
from tests.conftest import error_line

GOLDFISH = "Write me a 1 verse song about goldfish on the moon"
ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]
POET = ["-m", "builtin:poet", "-o", "delay_ms", "0"]


def run(*args: str, input: str | None = None, **kwargs: Any) -> Result:
    return CliRunner().invoke(app, list(args), input=input, **kwargs)


def poet_chunks(prompt: str = GOLDFISH, **settings: Any) -> list[str]:
    model = get_model("builtin:poet", delay_ms=0, **settings)
    return [text for chunk in model.stream(prompt) if (text := content_text(chunk.content))]


def assert_one_error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    return "chatstream: error: " + error_line(result)


# --- prompt words and stdin -------------------------------------------------------------------------


def test_prompt_words_are_joined_with_spaces() -> None:
    result = run(*ECHO, "hello", "big", "world")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "hello big world\n", "")


def test_stdin_alone_is_the_prompt() -> None:
    result = run(*ECHO, input="line one\nline two\n")
    assert (result.exit_code, result.stdout) == (0, "line one\nline two\n")


def test_stdin_then_a_blank_line_then_the_words() -> None:
    result = run(*ECHO, "review", "this", input="diff --git a b\n+added\n")
    assert (result.exit_code, result.stdout) == (0, "diff --git a b\n+added\n\nreview this\n")


def test_empty_stdin_leaves_the_words_alone() -> None:
    assert run(*ECHO, "just", "words", input="").stdout == "just words\n"


def test_dash_reads_stdin() -> None:
    result = run(*ECHO, "-", input="from stdin")
    assert (result.exit_code, result.stdout) == (0, "from stdin\n")


@pytest.mark.parametrize("stdin", ["", "  \n\n"])
def test_no_prompt_is_a_usage_error(stdin: str) -> None:
    line = assert_one_error_line(run(*ECHO, input=stdin), 2)
    assert "no prompt" in line


def test_a_terminal_stdin_is_not_read_unless_asked() -> None:
    def refuse() -> str:
        raise AssertionError("stdin was read")

    assert read_prompt(["hi", "there"], stdin_is_tty=True, read_stdin=refuse) == "hi there"
    assert read_prompt(["-"], stdin_is_tty=True, read_stdin=lambda: "typed") == "typed"
    with pytest.raises(UsageError):
        read_prompt([], stdin_is_tty=True, read_stdin=refuse)


def test_prompt_subcommand_sends_the_word_models() -> None:
    result = run("prompt", *ECHO, "models")
    assert (result.exit_code, result.stdout) == (0, "models\n")


def test_prompt_is_the_default_subcommand() -> None:
    assert run(*ECHO, "prompt?").stdout == run("prompt", *ECHO, "prompt?").stdout == "prompt?\n"


# --- what stdout carries ----------------------------------------------------------------------------


def test_delimiter_output_is_exact() -> None:
    result = run("-m", "builtin:echo", "-o", "delay_ms", "0", "-d", "|", "hello", "world")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "hello| world|\n", "")


def test_delimiter_follows_every_chunk_of_the_poet() -> None:
    result = run(*POET, "--delimiter", "|", GOLDFISH)
    assert result.stdout == "".join(f"{text}|" for text in poet_chunks()) + "\n"


def test_piped_output_is_the_reply_and_a_final_newline() -> None:
    result = run(*POET, GOLDFISH)
    assert result.stdout == "".join(poet_chunks()) + "\n"


def test_a_reply_ending_in_a_newline_gets_no_second_one() -> None:
    assert run(*ECHO, input="ends with newline\n").stdout == "ends with newline\n"


def test_no_ansi_and_no_thinking_when_not_a_terminal() -> None:
    result = run(*POET, "--thinking", GOLDFISH)
    assert "\x1b" not in result.stdout
    assert result.stdout == "".join(poet_chunks()) + "\n"


def test_force_color_gives_the_terminal_view() -> None:
    """The contrast case: the same run with FORCE_COLOR carries ANSI styling for the thinking."""
    result = run(*POET, "--thinking", "--raw", GOLDFISH, env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0
    assert "\x1b[" in result.stdout
    assert "wants a song about goldfish" in re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


@pytest.mark.parametrize("mode", ["--async", "--no-stream"])
def test_async_and_no_stream_print_the_same(mode: str) -> None:
    assert run(*POET, mode, GOLDFISH).stdout == run(*POET, GOLDFISH).stdout


def test_no_stream_with_delimiter_is_one_chunk() -> None:
    assert run(*ECHO, "--no-stream", "-d", "|", "a", "b").stdout == "a b|\n"


# --- options ----------------------------------------------------------------------------------------


def test_option_values_are_json() -> None:
    two_verses = run(*POET, "-o", "verses", "2", GOLDFISH).stdout
    assert two_verses.count("\n\n") == 2  # after the heading and between the verses
    assert run(*POET, "-o", "seed", "3", GOLDFISH).stdout == "".join(poet_chunks(seed=3)) + "\n"
    assert run("-m", "builtin:echo", "-o", "delay_ms", "0.0", "ok").stdout == "ok\n"


@pytest.mark.parametrize("value", ['"0"', "zero"])
def test_option_string_value_is_a_string(value: str) -> None:
    line = assert_one_error_line(run("-m", "builtin:poet", "-o", "delay_ms", value, "hi"), 2)
    assert "delay_ms" in line


def test_unknown_option_names_the_known_ones() -> None:
    line = assert_one_error_line(run("-m", "builtin:poet", "-o", "speed", "2", "hi"), 2)
    assert "speed" in line and "delay_ms" in line


def test_max_tokens_and_stop() -> None:
    assert run(*ECHO, "--max-tokens", "2", "one two three").stdout == "one two\n"
    assert run(*ECHO, "--stop", " thr", "one two three").stdout == "one two\n"
    assert run(*ECHO, "--stop", "zzz", "--stop", "wo", "one two three").stdout == "one t\n"


def test_temperature_in_range_is_accepted() -> None:
    assert run(*ECHO, "-t", "1.5", "ok").exit_code == 0


@pytest.mark.parametrize("value", ["5", "-0.1"])
def test_temperature_out_of_range_is_a_usage_error(value: str) -> None:
    line = assert_one_error_line(run(*ECHO, "-t", value, "hi"), 2)
    assert "temperature" in line


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus", "hi"],
        ["-m"],
        ["--max-tokens", "abc", "hi"],
        ["--max-tokens", "0", "hi"],
        ["-t", "hot", "hi"],
        ["-o", "delay_ms"],
        ["--retries", "-1", "hi"],
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str]) -> None:
    assert_one_error_line(run(*args), 2)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["keys", "bogus"], "no such command 'bogus' (see chatstream keys --help)"),
        (["config", "set", "timeout"], "missing argument 'VALUE' (see chatstream config set --help)"),
        (["--bogus", "hi"], "no such option: --bogus (see chatstream prompt --help)"),
    ],
)
def test_a_usage_error_is_one_sentence_pointing_at_the_help_of_its_command(args: list[str], line: str) -> None:
    assert assert_one_error_line(run(*args), 2) == f"chatstream: error: {line}"


def test_unknown_model_exits_3_naming_what_exists() -> None:
    line = assert_one_error_line(run("-m", "nosuch:model", "hi"), 3)
    assert "nosuch" in line and "builtin" in line


def test_unknown_builtin_model_suggests_the_close_one() -> None:
    line = assert_one_error_line(run("-m", "builtin:peot", "hi"), 3)
    assert "poet" in line


def test_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSTREAM_MODEL", "builtin:echo")
    assert run("-o", "delay_ms", "0", "from env").stdout == "from env\n"


def test_default_model_is_the_poet_without_keys() -> None:
    result = run("-o", "delay_ms", "0", GOLDFISH)
    assert result.stdout == "".join(poet_chunks()) + "\n"
    assert result.stderr == ""  # the notice is for a terminal stderr only


# --- version ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--version"], ["prompt", "--version"]])
def test_version(args: list[str]) -> None:
    result = run(*args)
    assert (result.exit_code, result.stdout) == (0, f"chatstream {__version__}\n")


def test_version_is_single_sourced() -> None:
    assert importlib.metadata.version("chatstream") == __version__
