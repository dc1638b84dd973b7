"""``-x``/``--xl``: only a code block of the reply on stdout, written when the reply is complete.

While the reply streams it is echoed as plain text to ``echo`` (stderr, when that is a terminal), so on
a terminal the reply is seen live and the code is what stdout holds: ``chatstream -x "..." > run.sh``.
A reply without a code block is printed whole (as ``llm -x`` does), with a notice; a reply cut short
(an error, Ctrl-C) still gives the code it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..messages import AIMessageChunk, Pieces, content_text
from .plain import PlainRenderer
from .safe import neutralise
from .utf8 import to_utf8


class ExtractRenderer:
    def __init__(
        self,
        out: BinaryIO,
        extract: Callable[[str], str | None],
        *,
        on_notice: Callable[[str], None],
        echo: BinaryIO | None = None,
        clean: Callable[[str], str] | None = None,
    ) -> None:
        self.out = out
        self.clean = clean or (lambda text: text)
        self.extract = extract
        self.on_notice = on_notice
        self.echo = PlainRenderer(echo, clean=neutralise) if echo is not None else None
        self._text = Pieces()

    def start(self) -> None:
        pass

    def chunk(self, chunk: AIMessageChunk) -> None:
        text = content_text(chunk.content)
        if text:
            self._text.append(text)
        if self.echo is not None:
            self.echo.chunk(chunk)

    def finish(self, reply: AIMessageChunk) -> None:
        if self.echo is not None:
            self.echo.finish(reply)
        self._write(content_text(reply.content))

    def abort(self, error: BaseException) -> None:
        if self.echo is not None:
            self.echo.abort(error)
        text = self._text.join()
        if text and not isinstance(error, BrokenPipeError):
            self._write(text)

    def _write(self, text: str) -> None:
        code = self.extract(text)
        if code is None:
            if text:
                self.on_notice("the reply has no fenced code block: all of it follows")
            code = text if text.endswith("\n") or not text else text + "\n"
        self.out.write(to_utf8(self.clean(code)))
        self.out.flush()
