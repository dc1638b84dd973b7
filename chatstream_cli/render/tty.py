"""The terminal's modes: the live view turns the echo of typed keys off while it redraws in place,
and whatever ends the process puts them back. Light (no Rich): the CLI uses it for every reply."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any, TextIO

try:
    import termios
except ImportError:  # Windows: no terminal modes to keep
    termios = None  # type: ignore[assignment]


def _nothing() -> None:
    pass


def _modes(file: TextIO) -> tuple[int, list[Any]] | None:
    """The terminal's file descriptor and modes; None when ``file`` is not a terminal."""
    if termios is None:
        return None
    try:
        fd = file.fileno()
        return fd, termios.tcgetattr(fd)
    except (AttributeError, ValueError, OSError, termios.error):
        return None


def saved_modes(file: TextIO) -> Callable[[], None]:
    """What puts the terminal's modes back as they are now; does nothing when ``file`` is not a terminal."""
    terminal = _modes(file)
    if terminal is None:
        return _nothing
    fd, saved = terminal

    def restore() -> None:
        with suppress(OSError, termios.error):  # the terminal went away
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore


def echo_off(file: TextIO) -> Callable[[], None]:
    """Stop the terminal echoing typed keys; return what turns the echo back on. A key echoed while
    the live view redraws in place (an Enter, a ``^C``) would land inside what it redraws and leave
    lines there twice. The keys still reach the shell afterwards."""
    restore = saved_modes(file)
    if restore is not _nothing:
        modes = termios.tcgetattr(file.fileno())
        modes[3] &= ~termios.ECHO  # the local modes
        termios.tcsetattr(file.fileno(), termios.TCSANOW, modes)
    return restore


def drain(file: TextIO) -> Callable[[], None]:
    """What waits until the terminal has read all that was written to ``file``; nothing when it is no terminal."""
    terminal = _modes(file)
    if terminal is None:
        return _nothing
    fd, _ = terminal

    def wait() -> None:
        with suppress(OSError, termios.error):
            termios.tcdrain(fd)

    return wait
