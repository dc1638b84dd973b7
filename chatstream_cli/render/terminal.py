"""The raw terminal view: text printed through Rich as it arrives, thinking dim before it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..messages import AIMessageChunk, content_text, content_thinking
from .safe import neutralise

if TYPE_CHECKING:
    from rich.console import Console


class TerminalRenderer:
    """Streams text into the terminal unformatted (``--raw``), control sequences neutralised."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.in_thinking = False
        self.column_zero = True

    def start(self) -> None:
        pass

    def chunk(self, chunk: AIMessageChunk) -> None:
        thinking = content_thinking(chunk.content)
        if thinking:
            if not self.in_thinking:
                self._print("thinking\n", "dim bold")
                self.in_thinking = True
            self._print(thinking, "dim italic")
        text = content_text(chunk.content)
        if text:
            if self.in_thinking:
                self._print("\n\n" if not self.column_zero else "\n")
                self.in_thinking = False
            self._print(text)

    def _print(self, text: str, style: str | None = None) -> None:
        self.console.print(neutralise(text), end="", style=style, markup=False, highlight=False, soft_wrap=True)
        self.console.file.flush()
        self.column_zero = text.endswith("\n")

    def finish(self, reply: AIMessageChunk) -> None:
        self.end_line()

    def abort(self, error: BaseException) -> None:
        self.end_line()

    def end_line(self) -> None:
        if not self.column_zero:
            self._print("\n")
