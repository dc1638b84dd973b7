"""The command as a real process: exact bytes on a pipe, Ctrl-C, a closed pipe, what --help imports."""

from __future__ import annotations

import os
import signal
import subprocess
import sysconfig
from pathlib import Path

import pytest

from chatstream_cli import __version__, get_model

from .conftest import CHATSTREAM, cli_env, imported_modules

GOLDFISH = "Write me a 1 verse song about goldfish on the moon"
POET = ["-m", "builtin:poet", "-o", "delay_ms", "0"]
CONSOLE_SCRIPT = Path(sysconfig.get_path("scripts")) / "chatstream"
TIMEOUT = 20


def run(argv: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, env=cli_env(), cwd=cwd, timeout=TIMEOUT, **kwargs)  # type: ignore[call-overload]


def poet_reply(prompt: str = GOLDFISH, **options: int) -> str:
    return get_model("builtin:poet", delay_ms=0, **options).invoke(prompt).text


def default_sigint() -> None:
    """Start the child as a terminal would: Ctrl-C's signal not ignored, whatever the test runner does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- bytes on a pipe --------------------------------------------------------------------------------


def test_module_piped_output_is_byte_exact(tmp_path: Path) -> None:
    result = run([*CHATSTREAM, *POET, GOLDFISH], tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == (poet_reply() + "\n").encode()


def test_model_bytes_pass_through_unchanged(tmp_path: Path) -> None:
    prompt = "tabs\there, accents é, a fish 🐟 and an \x1b[31mescape\x1b[0m"
    result = run([*CHATSTREAM, "-m", "builtin:echo", "-o", "delay_ms", "0", prompt], tmp_path)
    assert result.stdout == prompt.encode() + b"\n"


def test_console_script(tmp_path: Path) -> None:
    assert CONSOLE_SCRIPT.exists(), "the chatstream console script is not installed"
    result = run(
        [str(CONSOLE_SCRIPT), "-m", "builtin:echo", "-o", "delay_ms", "0", "-d", "|", "hello", "world"], tmp_path
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hello| world|\n", b"")
    version = run([str(CONSOLE_SCRIPT), "--version"], tmp_path)
    assert version.stdout == f"chatstream {__version__}\n".encode()


def test_stdin_and_words_through_a_pipe(tmp_path: Path) -> None:
    result = run([*CHATSTREAM, "-m", "builtin:echo", "-o", "delay_ms", "0", "review this"], tmp_path, input=b"a diff\n")
    assert result.stdout == b"a diff\n\nreview this\n"


def test_bad_flag_in_a_real_process_is_one_line(tmp_path: Path) -> None:
    result = run([*CHATSTREAM, "--no-such-flag", "hi"], tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(b"chatstream: error: ")


# --- interruptions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["stream", "astream"])
def test_ctrl_c_exits_130_and_keeps_the_partial_reply(tmp_path: Path, mode: list[str]) -> None:
    argv = [*CHATSTREAM, *mode, "-m", "builtin:poet", "-o", "delay_ms", "50", GOLDFISH]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(), cwd=tmp_path, preexec_fn=default_sigint
    ) as process:
        assert process.stdout is not None
        first = os.read(process.stdout.fileno(), 64)  # the reply has begun
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=TIMEOUT)
    text = (first + rest).decode()
    full = poet_reply()
    assert process.returncode == 130
    assert text.endswith("\n")
    shown = text.rstrip("\n")
    assert shown and len(shown) < len(full)
    assert full.startswith(shown)
    assert b"Traceback" not in stderr
    assert len(stderr.splitlines()) <= 1


def test_closed_pipe_exits_141_quietly(tmp_path: Path) -> None:
    error_file = tmp_path / "stderr.txt"
    script = '"$@" 2>"$ERRORS" | head -c 20; exit "${PIPESTATUS[0]}"'
    argv = [*CHATSTREAM, "-m", "builtin:poet", "-o", "delay_ms", "10", "-o", "verses", "3", GOLDFISH]
    result = subprocess.run(
        ["bash", "-c", script, "bash", *argv],
        capture_output=True,
        env=cli_env(ERRORS=str(error_file)),
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    assert result.stdout == poet_reply(verses=3).encode()[:20]
    assert result.returncode == 141
    assert error_file.read_bytes() == b""


# --- start-up cost ----------------------------------------------------------------------------------


def test_help_imports_neither_anthropic_nor_rich_markdown(tmp_path: Path) -> None:
    result = run([*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], "--help"], tmp_path)
    assert result.returncode == 0
    assert b"Usage" in result.stdout
    modules = imported_modules(result.stderr.decode())
    assert "chatstream_cli.cli" in modules  # the report was read
    assert not {m for m in modules if m == "anthropic" or m.startswith(("anthropic.", "rich.markdown"))}


SUBCOMMAND_MODULES = {
    f"chatstream_cli.commands.{name}"
    for name in ("batch", "chat", "config", "keys", "logs", "models", "replay", "roles")
}


@pytest.mark.parametrize("argv", [["--help"], [*POET, GOLDFISH]], ids=["help", "reply"])
def test_subcommands_are_imported_only_when_they_run(tmp_path: Path, argv: list[str]) -> None:
    result = run([*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], *argv], tmp_path)
    assert result.returncode == 0
    modules = imported_modules(result.stderr.decode())
    assert "chatstream_cli.cli" in modules  # the report was read
    assert modules & SUBCOMMAND_MODULES == set()
    # --help needs neither the prompt's machinery nor the package's Python API
    assert ("chatstream_cli.commands.prompt" in modules) == (argv != ["--help"])
    assert ("chatstream_cli.messages" in modules) == (argv != ["--help"])


def test_a_subcommand_imports_its_own_module_and_no_other(tmp_path: Path) -> None:
    ran = run([*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], "roles", "list"], tmp_path)
    assert ran.returncode == 0 and b"review" in ran.stdout
    assert imported_modules(ran.stderr.decode()) & SUBCOMMAND_MODULES == {"chatstream_cli.commands.roles"}


def test_builtin_reply_imports_neither_anthropic_nor_rich_markdown(tmp_path: Path) -> None:
    result = run([*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], *POET, GOLDFISH], tmp_path)
    assert result.stdout == (poet_reply() + "\n").encode()
    modules = imported_modules(result.stderr.decode())
    assert "chatstream_cli.render.plain" in modules
    assert not {m for m in modules if m == "anthropic" or m.startswith(("anthropic.", "rich.markdown", "httpx"))}
