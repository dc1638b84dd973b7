"""On a terminal, a reply's tool calls as they stream: the tool's name, then its arguments forming, dim,
on stderr, once the text before them is settled.

The text goes to the view stdout has (``make_view`` builds one); when the first tool-call chunk
arrives that view is finished, so nothing redraws above the call while it forms, and text that comes
after the calls (rare) gets a new view below them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from ..messages import AIMessageChunk, ChunkSum, content_text, thinking_text
from . import Renderer
from .safe import neutralise

_DIM, _RESET = "\x1b[2m", "\x1b[0m"


class ToolCallEcho:
    """Wraps the stdout view; shows each call forming on ``out`` and remembers the ids it showed."""

    def __init__(self, make_view: Callable[[], Renderer], out: TextIO, shown: set[str]) -> None:
        self.make_view = make_view
        self.out = out
        self.shown = shown
        self.view: Renderer | None = None
        self.total = ChunkSum()
        self.open_index: int | None = None  # the call whose line is being written

    def start(self) -> None:
        self.view = self.make_view()
        self.view.start()

    def chunk(self, chunk: AIMessageChunk) -> None:
        self.total.add(chunk)
        if chunk.tool_call_chunks:
            self._settle_view()
            for piece in chunk.tool_call_chunks:
                self._show(piece)
        if content_text(chunk.content) or thinking_text(chunk):
            if self.view is None:
                self._end_call_line()
                self.view = self.make_view()
                self.view.start()
            self.view.chunk(chunk)

    def finish(self, reply: AIMessageChunk) -> None:
        self._end_call_line()
        if self.view is not None:
            self.view.finish(reply)

    def abort(self, error: BaseException) -> None:
        self._end_call_line()
        if self.view is not None:
            self.view.abort(error)

    def _settle_view(self) -> None:
        if self.view is not None:
            self.view.finish(self.total.total())
            self.view = None

    def _show(self, piece: dict) -> None:
        index = piece.get("index")
        if piece.get("name") or index != self.open_index:
            self._end_call_line()
            self.open_index = index
            self._write(f"chatstream: tool {piece.get('name') or ''} ")
            if piece.get("id"):
                self.shown.add(piece["id"])
        if piece.get("args"):
            self._write(piece["args"])

    def _end_call_line(self) -> None:
        if self.open_index is not None:
            self.out.write("\n")
            self.out.flush()
            self.open_index = None

    def _write(self, text: str) -> None:
        self.out.write(f"{_DIM}{neutralise(text)}{_RESET}")
        self.out.flush()
