"""Plain text for pipes and files: the model's exact bytes, flushed chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..messages import AIMessageChunk, content_text
from .utf8 import Utf8Stream


class PlainRenderer:
    """Writes each chunk's text as it arrives and ends the reply with a newline if it lacked one.

    ``clean`` neutralises the text first where the bytes reach a terminal after all (TERM=dumb).
    """

    def __init__(self, out: BinaryIO, clean: Callable[[str], str] | None = None) -> None:
        self.out = out
        self.clean = clean or (lambda text: text)
        self.last_char = "\n"  # nothing written yet: no newline owed
        self.encoder = Utf8Stream()

    def start(self) -> None:
        pass

    def chunk(self, chunk: AIMessageChunk) -> None:
        text = content_text(chunk.content)
        if text:
            self.write(self.clean(text))

    def write(self, text: str) -> None:
        # Noted before writing: a Ctrl-C right after the write must still find the newline owed.
        self.last_char = text[-1]
        data = self.encoder.encode(text)
        if data:
            self.out.write(data)
            self.out.flush()

    def finish(self, reply: AIMessageChunk) -> None:
        self.end_line()

    def abort(self, error: BaseException) -> None:
        self.end_line()

    def end_line(self) -> None:
        self.out.write(self.encoder.flush())  # half a character that never got its other half
        if self.last_char != "\n":
            self.write("\n")
