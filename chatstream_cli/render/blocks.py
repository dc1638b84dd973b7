"""Streamed Markdown cut into top-level blocks that render alone as they do in the whole text.

Light (no Rich): the live view (render/live.py) renders each block once it is complete.
"""

from __future__ import annotations

import re
from enum import Enum


class LineEndings:
    """Turns CRLF into LF, as CommonMark does, even when a chunk ends between the two; a lone CR
    is left as it is (the terminal view shows it as ``␍``: on a terminal it would overwrite a line)."""

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, text: str) -> str:
        if self._held_cr:
            text = "\r" + text
        self._held_cr = text.endswith("\r")
        return (text[:-1] if self._held_cr else text).replace("\r\n", "\n")

    def close(self) -> str:
        """What is still held back: a CR that ended the text."""
        held, self._held_cr = self._held_cr, False
        return "\r" if held else ""


class Kind(Enum):
    """What decides whether a blank line ends a block."""

    LIST = "list"  # may go on after blank lines (loose items, indented continuations)
    INDENTED = "indented"  # an indented code block, which may contain blank lines
    OTHER = "other"  # paragraphs, headings, tables, quotes: a blank line ends them


_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_LIST_MARKER = r" {0,3}(?:[-*+]|\d{1,9}[.)])"
_LIST_ITEM = re.compile(rf"^{_LIST_MARKER}(?:[ \t]|$)")  # a complete line
_LIST_ITEM_BEGUN = re.compile(rf"^{_LIST_MARKER}[ \t]")  # a line still arriving
_LIST_ITEM_PREFIX = re.compile(r" {0,3}(?:[-*+]|\d{1,9}[.)]?)")  # could still become a list item
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
# CommonMark's HTML blocks of kinds 1 to 5 go on over blank lines, up to the line that ends them.
_RAW_TAGS = "(?:pre|script|style|textarea)"
_HTML_BLOCKS = (
    (re.compile(rf"<{_RAW_TAGS}(?:[ \t>]|$)", re.IGNORECASE), re.compile(rf"</{_RAW_TAGS}>", re.IGNORECASE)),
    (re.compile(r"<!--"), re.compile(r"-->")),
    (re.compile(r"<\?"), re.compile(r"\?>")),
    (re.compile(r"<![A-Za-z]"), re.compile(r">")),
    (re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>")),
)


def _indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


def _closes_fence(fence: str, line: str) -> bool:
    mark = line.strip()
    return len(mark) >= len(fence) and mark == fence[0] * len(mark)


def html_block_end(line: str, in_list: bool) -> re.Pattern[str] | None:
    """What ends the HTML block ``line`` opens, if it opens one of kinds 1 to 5 and does not end it."""
    start = line.lstrip(" \t" if in_list else " ")
    if not in_list and len(line) - len(start) > 3:
        return None
    for opening, ending in _HTML_BLOCKS:
        match = opening.match(start)
        if match:
            return None if ending.search(start, match.end()) else ending
    return None


def continues_after_blank(kind: Kind | None, line: str, complete: bool) -> bool | None:
    """Whether ``line``, after blank lines, still belongs to a block of ``kind``; None: not known yet."""
    if kind is Kind.LIST:
        if line[0] in " \t" or (_LIST_ITEM if complete else _LIST_ITEM_BEGUN).match(line):
            return True
        return None if not complete and _LIST_ITEM_PREFIX.fullmatch(line) else False
    if kind is Kind.INDENTED:
        if _indented(line):
            return True
        return None if not complete and not line.strip(" ") else False
    return False


class BlockSplitter:
    """Cuts streamed Markdown into top-level blocks that render alone as they do in the whole text.

    Blank lines outside code fences and HTML blocks of kinds 1 to 5 end a block, except in lists
    and indented code, where the next line decides (an indented line or another item continues
    the list). A closing fence, the line that ends such an HTML block and a heading line end a
    block at once. When in doubt a block is kept open: rendering two
    blocks together is always right, cutting one in two is not.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # the open block's complete lines
        self._partial: list[str] = []  # pieces of the line still arriving
        self._kind: Kind | None = None
        self._fence: str | None = None
        self._html_end: re.Pattern[str] | None = None  # what ends the open HTML block
        self._after_blank = False  # blank lines were kept in the block; the next line decides

    @property
    def open_text(self) -> str:
        """The text of the block still open, including the line still arriving."""
        return "".join(self._lines) + "".join(self._partial)

    def feed(self, text: str) -> list[str]:
        """Take more text; return the blocks it completed, in order."""
        done: list[str] = []
        first, *rest = text.split("\n")
        self._partial.append(first)
        for piece in rest:
            line = "".join(self._partial) + "\n"
            self._partial = [piece]
            self._take_line(line, done)
        if self._after_blank:
            self._decide_early(done)
        return done

    def close(self) -> str | None:
        """The reply ended (or stopped): the open block, complete as it is."""
        if self._partial:
            self._lines.append("".join(self._partial))
            self._partial = []
        done: list[str] = []
        self._emit(done)
        return done[0] if done else None

    def _take_line(self, line: str, done: list[str]) -> None:
        if self._fence or self._html_end:
            self._lines.append(line)
            if self._fence and _closes_fence(self._fence, line):
                self._fence = None
            elif self._html_end and self._html_end.search(line):
                self._html_end = None
            else:
                return
            if self._kind is not Kind.LIST:
                self._emit(done)
            return
        if not line.strip():
            if self._kind in (Kind.LIST, Kind.INDENTED):
                self._lines.append(line)
                self._after_blank = True
            else:
                self._emit(done)
            return
        if self._after_blank:
            self._after_blank = False
            if not continues_after_blank(self._kind, line.rstrip("\n"), complete=True):
                self._emit(done)
        self._lines.append(line)
        self._classify(line)
        fence = _FENCE.match(line)
        in_list = self._kind is Kind.LIST
        if fence and (in_list or not _indented(line)):
            self._fence = fence.group(1)
        elif html_end := html_block_end(line, in_list):
            self._html_end = html_end
        elif _HEADING.match(line) and not (self._kind is Kind.LIST and line[0] in " \t"):
            self._emit(done)

    def _classify(self, line: str) -> None:
        if _LIST_ITEM.match(line):
            self._kind = Kind.LIST
        elif self._kind is None:
            self._kind = Kind.INDENTED if _indented(line) else Kind.OTHER
        elif self._kind is Kind.INDENTED and not _indented(line):
            self._kind = Kind.OTHER

    def _decide_early(self, done: list[str]) -> None:
        """Decide as soon as the first characters of the next line tell, not at its end."""
        partial = "".join(self._partial)
        if not partial.strip():
            return
        verdict = continues_after_blank(self._kind, partial, complete=False)
        if verdict is None:
            return
        self._after_blank = False
        if not verdict:
            self._emit(done)

    def _emit(self, done: list[str]) -> None:
        while self._lines and not self._lines[-1].strip():
            self._lines.pop()
        if self._lines:
            done.append("".join(self._lines))
        self._lines = []
        self._kind = None
        self._fence = None
        self._html_end = None
        self._after_blank = False
