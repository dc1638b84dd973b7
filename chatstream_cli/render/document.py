"""``--schema`` on a pipe or in a file: exactly the JSON document, compact (``--pretty``: indented), written
when the reply is complete. A reply that is not valid keeps its text: stdout gets it as it came."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from ..messages import AIMessageChunk, Pieces
from ..schema import document_text
from .utf8 import to_utf8

if TYPE_CHECKING:
    from ..schema.check import ReplyCheck


class DocumentRenderer:
    """Collects the reply's JSON and writes the checked document (or, failing that, the text) at the end;
    ``clean`` neutralises it where the bytes reach a terminal after all (TERM=dumb)."""

    def __init__(
        self, out: BinaryIO, check: ReplyCheck, *, pretty: bool = False, clean: Callable[[str], str] | None = None
    ) -> None:
        self.out = out
        self.clean = clean or (lambda text: text)
        self.check = check
        self.pretty = pretty
        self.text = Pieces()

    def start(self) -> None:
        pass

    def chunk(self, chunk: AIMessageChunk) -> None:
        piece = document_text(chunk)
        if piece:
            self.text.append(piece)

    def finish(self, reply: AIMessageChunk) -> None:
        from ..schema.check import document_json

        verdict = self.check.of(reply)
        self._write(document_json(verdict.document, pretty=self.pretty) if verdict.valid else verdict.text)

    def abort(self, error: BaseException) -> None:
        if not isinstance(error, BrokenPipeError):
            self._write(self.text.join())

    def _write(self, text: str) -> None:
        if text:
            text = self.clean(text)
            self.out.write(to_utf8(text if text.endswith("\n") else text + "\n"))
            self.out.flush()
