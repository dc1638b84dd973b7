"""stdin, read at most once as bytes (``-a -`` and ``-f -`` take it before the prompt may); text checked as UTF-8."""

from __future__ import annotations

from typing import BinaryIO

from ..errors import UsageError
from .media import media_label, sniff_media_type


class Stdin:
    """stdin for one prompt: ignored with ``--no-stdin``, otherwise read whole on the first ``take``."""

    def __init__(self, stream: BinaryIO, *, is_tty: bool, ignored: bool = False) -> None:
        self.stream = stream
        self.is_tty = is_tty
        self.ignored = ignored
        self.taken_by: str | None = None

    @property
    def piped(self) -> bool:
        """Whether stdin still holds piped input the prompt would read (cli.md: a non-terminal stdin is read)."""
        return not (self.is_tty or self.ignored or self.taken_by)

    def take(self, by: str) -> bytes:
        """All of stdin, for ``by`` (the flag that asked); a usage error when it is ignored or already taken."""
        if self.ignored:
            raise UsageError(f"{by} reads stdin, which --no-stdin ignores", f"drop --no-stdin or {by}")
        if self.taken_by:
            raise UsageError(f"{by} and {self.taken_by} both read stdin", "stdin can be read once: choose one")
        self.taken_by = by
        return self.stream.read()


def decode_text(data: bytes, name: str, flag: str | None = "-f") -> str:
    """``data`` as UTF-8 text; a usage error naming ``name`` otherwise (pointing at ``-a`` for images and PDFs)."""
    try:
        return data.decode("utf-8-sig")  # a byte order mark (Windows tools write one) is not part of the text
    except UnicodeDecodeError as exc:
        media_type = sniff_media_type(data)
        source = "-" if name == "stdin" else name
        attach_flag = "-a -" if source == "-" else "-a"
        if media_type:
            raise UsageError(
                f"{name} is {media_label(media_type)}, not text",
                f"attach it with -a {source}" + (f" instead of {flag}" if flag else ""),
            ) from None
        raise UsageError(
            f"{name} is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x})",
            "convert it first, e.g. iconv -f latin1 -t utf-8; images and PDFs go in with " + attach_flag,
        ) from None
