"""The raw terminal view (``--raw``), and what every terminal view shares: the console and the
thinking section. Model text is neutralised (render/safe.py) before it reaches the terminal."""

from __future__ import annotations

import errno
import sys
from typing import TextIO

from rich.console import Console
from rich.text import Text

from ..messages import AIMessageChunk, content_text, thinking_text
from .safe import neutralise

THINKING_HEADER = "thinking"


class TerminalConsole(Console):
    """A Rich console for stdout that reports a closed stdout as BrokenPipeError (exit 141):
    Rich's own handling would exit with status 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "stdout was closed")


def terminal_console(file: TextIO | None = None) -> TerminalConsole:
    """The console every terminal view writes through (NO_COLOR, FORCE_COLOR, COLUMNS honoured by Rich)."""
    return TerminalConsole(file=file or sys.stdout, highlight=False)


def print_raw(console: Console, text: str, style: str | None = None) -> bool:
    """Print text as it is (already neutralised), wrapped by the terminal; True if it ended a line."""
    console.print(text, end="", style=style, markup=False, highlight=False, soft_wrap=True)
    return text.endswith("\n")


class ThinkingSection:
    """The model's thinking: dim and italic under a small header, a blank line before the answer."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.open = False
        self.column_zero = True

    def add(self, text: str) -> None:
        if not self.open:
            self.console.print(Text(THINKING_HEADER, style="dim bold"))
            self.open = True
        self.column_zero = print_raw(self.console, text, "dim italic")

    def close(self) -> bool:
        """End the section before the answer: end its line, leave a blank one. True if it was open."""
        if not self.open:
            return False
        print_raw(self.console, "\n" if self.column_zero else "\n\n")
        self.open = False
        self.column_zero = True
        return True

    def end_line(self) -> None:
        """The reply ended inside the thinking: just end the line."""
        if self.open and not self.column_zero:
            print_raw(self.console, "\n")
        self.open = False
        self.column_zero = True


class TerminalRenderer:
    """Streams text into the terminal unformatted, as it arrives (``--raw``)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.thinking = ThinkingSection(console)
        self.column_zero = True

    def start(self) -> None:
        pass

    def chunk(self, chunk: AIMessageChunk) -> None:
        thinking = thinking_text(chunk)
        if thinking:
            if not self.column_zero:  # thinking again after some answer: set it apart
                print_raw(self.console, "\n\n")
                self.column_zero = True
            self.thinking.add(neutralise(thinking))
        text = content_text(chunk.content)
        if text:
            self.thinking.close()
            self.column_zero = print_raw(self.console, neutralise(text))
        self.console.file.flush()

    def finish(self, reply: AIMessageChunk) -> None:
        self.end_line()

    def abort(self, error: BaseException) -> None:
        if not isinstance(error, BrokenPipeError):
            self.end_line()

    def end_line(self) -> None:
        self.thinking.end_line()
        if not self.column_zero:
            print_raw(self.console, "\n")
            self.column_zero = True
        self.console.file.flush()
