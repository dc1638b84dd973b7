"""The chunk-boundary view: every chunk that carries text is followed by the delimiter."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..messages import AIMessageChunk, content_text
from .plain import PlainRenderer


class DelimiterRenderer(PlainRenderer):
    """``Here| is| a| song|``, as the reference document's ``print(chunk.content, end="|")`` loop."""

    def __init__(self, out: BinaryIO, delimiter: str, clean: Callable[[str], str] | None = None) -> None:
        super().__init__(out, clean)
        self.delimiter = delimiter

    def chunk(self, chunk: AIMessageChunk) -> None:
        text = content_text(chunk.content)
        if text:
            self.write(self.clean(text) + self.delimiter)
