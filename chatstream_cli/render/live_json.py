"""``--schema`` on a terminal: the JSON document appears as it streams, indented and highlighted.

Each chunk goes through :class:`~chatstream_cli.partial_json.PrettyJson`, which hands back only what the
chunk adds, so nothing shown is ever redrawn: no flicker, no half-key, and a chunk costs the same at the
end of a long document as at its start (benchmarks/bench_live_json.py). The thinking shows as in the
other terminal views, above the document.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ..messages import AIMessageChunk, thinking_text
from ..partial_json import RAW, PrettyJson
from ..schema import document_text
from .safe import neutralise
from .terminal import ThinkingSection, print_raw


class LiveJsonRenderer:
    """Prints each chunk's share of the indented document, in the colours of Rich's JSON highlighter
    (``unwrap``: ``--schema-multi``'s list, without the object around it)."""

    def __init__(self, console: Console, *, unwrap: bool = False) -> None:
        self.console = console
        self.thinking = ThinkingSection(console)
        self.pretty = PrettyJson(unwrap=unwrap)
        self.column_zero = True

    def start(self) -> None:
        pass

    def chunk(self, chunk: AIMessageChunk) -> None:
        thinking = thinking_text(chunk)
        if thinking:
            self.thinking.add(neutralise(thinking))
        text = document_text(chunk)
        if text:
            self.thinking.close()
            self._show(self.pretty.feed(text))

    def finish(self, reply: AIMessageChunk) -> None:
        self._end()

    def abort(self, error: BaseException) -> None:
        if not isinstance(error, BrokenPipeError):
            self._end()

    def _show(self, pieces: list[tuple[str, str]]) -> None:
        if not pieces:
            return
        line = Text()
        for text, kind in pieces:
            line.append(neutralise(text), style=None if kind == RAW else f"json.{kind}")
        self.console.print(line, end="", soft_wrap=True)
        self.column_zero = pieces[-1][0].endswith("\n")
        self.console.file.flush()

    def _end(self) -> None:
        self._show(self.pretty.close())
        self.thinking.end_line()
        if not self.column_zero:
            print_raw(self.console, "\n")
            self.column_zero = True
        self.console.file.flush()
