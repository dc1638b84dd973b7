"""How every command ends: its exit code and one line on stderr, never a traceback (unless --debug)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from ..errors import ChatstreamError, ExitCode, Interrupted, Terminated, format_error

if TYPE_CHECKING:
    from ..providers import ResolvedModel


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
    except Terminated as exc:
        say_terminated(exc)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        if debug or FLAGS.debug:
            traceback.print_exc()
        print(format_error(exc), file=sys.stderr)
        code = exc.exit_code if isinstance(exc, ChatstreamError) else ExitCode.BUG
        raise typer.Exit(int(code)) from None


@contextmanager
def closed_stdout_exits() -> Iterator[None]:
    """Any command whose stdout closes early (``| head``) stops silently with exit 141; what it wrote last
    is flushed here, so that the interpreter's own flush at exit cannot fail instead (Click would make
    that exit 1)."""
    try:
        try:
            yield
        finally:
            if sys.stdout is not None:  # None: started with stdout closed (>&-), so nothing was written
                sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(ExitCode.BROKEN_PIPE) from None


def say_terminated(exc: Terminated) -> None:
    """One line on stderr, when it is still there; stdout flushed now, or pointed at /dev/null when the
    terminal that was it is gone (SIGHUP), so that the exit flush cannot fail and change the exit code."""
    with suppress(OSError):
        print(f"chatstream: {Interrupted.of(exc)}", file=sys.stderr, flush=True)
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:
        _silence_stdout()


@contextmanager
def terminating_signals_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread, so a reply
    ends as at Ctrl-C (kept, recorded as interrupted, the terminal's modes put back) and the process
    exits 128 + signal. Those that follow are ignored while it does (a closed terminal sends two SIGHUPs,
    the kernel's and the shell's; systemd may send SIGHUP after SIGTERM): SIGKILL is what forces. A
    signal the parent ignores (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from ..render.tty import saved_modes

    restore_terminal = saved_modes(sys.stdout)

    def first(signum: int, frame: Any) -> None:
        for number in previous:
            signal.signal(number, signal.SIG_IGN)
        raise Terminated(signum)

    previous = {
        number: signal.signal(number, first)
        for number in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(number) is not signal.SIG_IGN
    }
    try:
        yield
    except Terminated:
        restore_terminal()
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def notice(text: str, quiet: bool) -> None:
    """A notice for a person: on stderr, only when stderr is a terminal and not --quiet."""
    if not (quiet or FLAGS.quiet) and sys.stderr.isatty():
        print(f"chatstream: {text}", file=sys.stderr)


def default_model_notice(resolved: ResolvedModel, quiet: bool) -> None:
    """The notice of a model chosen for the user (a key is set, or none is: the offline poet), said once: on
    the first call that uses it, and again only after the choice changes. The last one said is kept in
    ``default-model-notice`` beside the history."""
    if resolved.notice is None or quiet or not sys.stderr.isatty():
        return
    from .. import history
    from ..config import atomic_write
    from ..errors import ConfigError

    said = f"{resolved.full_name} ({resolved.source})\n"
    where = history.path().with_name("default-model-notice")
    try:
        if where.read_text("utf-8") == said:
            return
    except (OSError, UnicodeDecodeError):
        pass  # not said yet, or unreadable: say it
    notice(resolved.notice, quiet)
    with suppress(ConfigError):  # a notice said twice is better than a call that fails for it
        atomic_write(where, said.encode(), mode=0o600)


def plural(count: int, noun: str) -> str:
    """``1 turn``, ``3 turns``, ``1,204 exchanges``."""
    return f"{count:,} {noun}{'s' if count != 1 else ''}"
