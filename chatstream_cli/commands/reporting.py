"""How every command ends: its exit code and one line on stderr, never a traceback (unless --debug)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from ..errors import ChatstreamError, ExitCode, format_error


@dataclass(slots=True)
class ReportingFlags:
    """``--debug`` and ``--quiet`` as given to a subcommand that does not take them as parameters of its
    own (``models``, ``logs``, ``config``, ...): they hold for the whole process, like the exit code."""

    debug: bool = False
    quiet: bool = False


FLAGS = ReportingFlags()


@contextmanager
def reporting(debug: bool) -> Iterator[None]:
    """Turn every failure into its exit code and one line on stderr (a traceback with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(ExitCode.BROKEN_PIPE) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        if debug or FLAGS.debug:
            traceback.print_exc()
        print(format_error(exc), file=sys.stderr)
        code = exc.exit_code if isinstance(exc, ChatstreamError) else ExitCode.BUG
        raise typer.Exit(int(code)) from None


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def notice(text: str, quiet: bool) -> None:
    """A notice for a person: on stderr, only when stderr is a terminal and not --quiet."""
    if not (quiet or FLAGS.quiet) and sys.stderr.isatty():
        print(f"chatstream: {text}", file=sys.stderr)


def plural(count: int, noun: str) -> str:
    """``1 turn``, ``3 turns``, ``1,204 exchanges``."""
    return f"{count:,} {noun}{'s' if count != 1 else ''}"
