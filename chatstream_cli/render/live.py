"""Live Markdown on a terminal, at a cost per token that does not grow with the reply.

The streamed text is cut into top-level Markdown blocks (``BlockSplitter``). A block that is
complete is rendered once and printed into the scrollback; only the block still open is
redrawn, in a small region at the bottom of the output (``LiveRegion``), at most
``refresh_per_second`` times a second by a render thread. When the open block grows taller
than half the screen, its top lines are printed for good (later text does not change them,
except in tables, which may take the whole screen), so the region always fits, even after the
terminal narrows, and nothing is duplicated or lost. Near the top of the screen a narrowing may
push the region's top lines into the history all the same; those that may be out of reach are
left where they are, for good (``LiveRegion.stranded``).

Every byte for the terminal is written by the render thread, so a Ctrl-C (which Python raises
in the main thread) never cuts a redraw in half. This module imports ``rich.markdown``; the CLI
imports it only when this view is used.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownContext, TableDataElement, TextElement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from ..messages import AIMessageChunk, content_text, thinking_text
from .safe import neutralise
from .terminal import ThinkingSection
from .tty import echo_off

Line = list[Segment]

CODE_THEME = "ansi_dark"  # the terminal's own palette: readable on dark and light backgrounds
REFRESH_PER_SECOND = 20.0
_SYNC_START = "\x1b[?2026h"  # synchronized output: the terminal shows the redraw in one piece
_SYNC_END = "\x1b[?2026l"


# -- cutting the text into blocks -------------------------------------------------------------


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


def _indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


def _closes_fence(fence: str, line: str) -> bool:
    mark = line.strip()
    return len(mark) >= len(fence) and mark == fence[0] * len(mark)


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

    Blank lines outside code fences end a block, except in lists and indented code, where the
    next line decides (an indented line or another item continues the list). A closing fence
    and a heading line end a block at once. When in doubt a block is kept open: rendering two
    blocks together is always right, cutting one in two is not.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # the open block's complete lines
        self._partial: list[str] = []  # pieces of the line still arriving
        self._kind: Kind | None = None
        self._fence: str | None = None
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
        if self._fence:
            self._lines.append(line)
            if _closes_fence(self._fence, line):
                self._fence = None
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
        if fence and (self._kind is Kind.LIST or not _indented(line)):
            self._fence = fence.group(1)
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
        self._after_blank = False


# -- rendering a block ----------------------------------------------------------------------


class FencedCode(CodeBlock):
    """A code block between dim fences, highlighted in the terminal's palette, with no padding:
    copied from the scrollback it is Markdown again, and it looks right on any background."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        label = "" if self.lexer_name == "text" else self.lexer_name
        yield Text("```" + label, style="dim")
        code = str(self.text).rstrip("\n")
        if code:
            yield Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, background_color="default")
        yield Text("```", style="dim")


class HtmlBlock(TextElement):
    """HTML outside a code block, shown as written: Rich drops it, and the text in it with it."""

    def on_text(self, context: MarkdownContext, text: str | Text) -> None:
        super().on_text(context, text.rstrip("\n") if isinstance(text, str) else text)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text


class TableCell(TableDataElement):
    """A table cell whose words too long for their column fold onto the next row instead of
    ending in "…": the scrollback keeps the whole text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content.overflow = "fold"


class TerminalMarkdown(Markdown):
    """Rich's Markdown with copyable code blocks, HTML and table cells kept whole, and the model's
    line breaks kept, as chat apps show them: a verse stays a verse."""

    elements: ClassVar = {
        **Markdown.elements,
        "fence": FencedCode,
        "code_block": FencedCode,
        "html_block": HtmlBlock,
        "td_open": TableCell,
        "th_open": TableCell,
    }

    def __init__(self, markup: str, **options: Any) -> None:
        super().__init__(markup, **options)
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"


# Rich starts these with a blank line of their own, even alone; other blocks get one from the
# block above them (unless that was a horizontal rule), which a block rendered alone lacks.
_OWN_BLANK_LINE = {"bullet_list_open", "ordered_list_open", "table_open", "blockquote_open"}


@dataclass(frozen=True, slots=True)
class RenderedBlock:
    lines: list[Line]
    #: Rendered within the whole reply, a blank line would precede it (after any block but a rule).
    wants_blank_above: bool
    #: A horizontal rule brings its own blank line below it.
    ends_with_rule: bool
    #: A table: its first lines change (column widths) as rows arrive.
    has_table: bool = False


def render_markdown(console: Console, text: str, width: int) -> RenderedBlock:
    """``text`` as Markdown in lines of at most ``width`` cells, trailing blanks trimmed."""
    document = TerminalMarkdown(text, code_theme=CODE_THEME, hyperlinks=False)
    lines = console.render_lines(document, console.options.update_width(width), pad=False)
    tokens = document.parsed
    return RenderedBlock(
        [trim(line) for line in lines],
        wants_blank_above=bool(tokens) and tokens[0].type not in _OWN_BLANK_LINE,
        ends_with_rule=bool(tokens) and tokens[-1].type == "hr",
        has_table=any(token.type == "table_open" for token in tokens),
    )


def _shows_when_blank(style: Style | None) -> bool:
    return style is not None and bool(style.bgcolor or style.underline or style.reverse or style.strike)


def trim(line: Line) -> Line:
    """Drop the padding spaces Rich adds up to the width: they would be copied with the text and,
    when a terminal narrows, wrap into rows of nothing."""
    segments = list(line)
    while segments:
        text, style, control = segments[-1]
        if control or _shows_when_blank(style):
            break
        kept = text.rstrip(" ")
        if kept:
            segments[-1] = Segment(kept, style)
            break
        segments.pop()
    return segments


class Lines:
    """Pre-rendered lines as a renderable: each line, then a newline."""

    def __init__(self, lines: Iterable[Line]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


def cell_length(line: Line) -> int:
    return sum(segment.cell_length for segment in line)


def rows_for(cells: int, width: int) -> int:
    """Rows a line of ``cells`` cells takes on a terminal ``width`` cells wide."""
    return max(1, math.ceil(cells / max(width, 1)))


# -- the region redrawn in place ------------------------------------------------------------------


def screen_size(console: Console) -> tuple[int, int]:
    """The terminal's real size. Rich's ``console.size`` prefers COLUMNS and LINES, which is right
    for the layout but may be stale after a resize; where the rows go is the terminal's business."""
    try:
        size = os.get_terminal_size(console.file.fileno())
    except (AttributeError, ValueError, OSError):
        return console.size
    return size.columns or console.width, size.lines or console.height


def terminal_reflows() -> bool:
    """Whether the terminal rewraps written lines when it narrows (tmux, VTE, kitty, iTerm2 and
    Windows Terminal do; a bare xterm does not)."""
    return bool(os.environ.get("TMUX")) or not os.environ.get("XTERM_VERSION")


class LiveRegion:
    """The rows below the scrollback that are redrawn in place; the cursor waits at the start of
    the row after them, so an echoed ``^C`` or a resize never lands inside them."""

    def __init__(self, console: Console, reflows: bool) -> None:
        self.console = console
        self.reflows = reflows
        self._shown: list[tuple[int, int]] = []  # per line: cells, rows it took when written

    def rows(self, width: int) -> int:
        """Rows the region takes now, at ``width``: after a resize the terminal may have rewrapped it."""
        return sum(self._rows_now(width))

    def _rows_now(self, width: int) -> list[int]:
        if self.reflows:
            return [rows_for(cells, width) for cells, _ in self._shown]
        return [rows for _, rows in self._shown]

    def stranded(self, width: int, lines_above: int, height: int) -> int:
        """How many of the region's top lines a narrower terminal may have put out of reach.

        A terminal that rewraps when it narrows (tmux) keeps the cursor on its row, so rewrapped
        rows that no longer fit above it go into the history, where no erase reaches: near the
        top of the screen, the region's own. The cursor's row is at least the region's former
        rows plus ``lines_above`` (ours, above it), or the screen's last; only the bottom lines
        sure to fit there are erased. The last line always is, as it may still grow.
        """
        room = min(sum(rows for _, rows in self._shown) + lines_above, height - 1)
        rows = self._rows_now(width)
        fitting, used = 1, rows[-1] if rows else 0
        while fitting < len(rows) and used + rows[-fitting - 1] <= room:
            used += rows[-fitting - 1]
            fitting += 1
        return max(0, len(rows) - fitting)

    def erase(self, width: int, keep: int = 0) -> str:
        """Clear the region's rows below its top ``keep`` lines bottom up, leaving the cursor where
        the cleared rows began. Row by row, not with an erase-below: tmux keeps a copy of the
        screen when that clears all of it."""
        rows = sum(self._rows_now(width)[keep:])
        self._shown = []
        return "\r" + "\x1b[1A\x1b[2K" * rows if rows else ""

    def draw(self, lines: list[Line], width: int) -> str:
        self._shown = [(cells, rows_for(cells, width)) for cells in map(cell_length, lines)]
        with self.console.capture() as capture:
            self.console.print(Lines(lines), crop=False)
        return capture.get()


# -- the renderer ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Output:
    """Text for the scrollback, in order: a complete block, or some thinking."""

    text: str
    thinking: bool = False


@dataclass(slots=True)
class _Frame:
    """What the render thread draws next: new scrollback output, the open block, the end."""

    outputs: list[_Output]
    open_text: str
    final: bool


class LiveMarkdownRenderer:
    """Streams a reply as live Markdown: complete blocks once into the scrollback, the open one redrawn.

    ``live=False`` (a forced terminal view whose stdout is not a terminal) prints each block
    when it completes and never moves the cursor. ``refresh_per_second=None`` draws on every
    chunk in the calling thread (tests, benchmarks).
    """

    def __init__(
        self,
        console: Console,
        *,
        live: bool = True,
        refresh_per_second: float | None = REFRESH_PER_SECOND,
        reflows: bool | None = None,
    ) -> None:
        self.console = console
        self.live = live
        self.interval = 1 / refresh_per_second if refresh_per_second else None
        self.region = LiveRegion(console, terminal_reflows() if reflows is None else reflows)
        self.thinking = ThinkingSection(console)
        self._splitter = BlockSplitter()
        self._outputs: list[_Output] = []
        self._changed = threading.Condition()
        self._dirty = False
        self._closing = False
        self._discard = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        # Drawing state, touched only by whoever draws (the render thread when there is one).
        self._separate = False  # a block above asks for a blank line before the next
        self._frozen = 0  # lines of the open block already printed for good
        self._pinned_width: int | None = None  # the width those lines were rendered at
        self._open_width = 0  # the width the open block was last rendered at
        self._lines_printed = 0  # lines printed for good so far, all above the region
        self._drawn_height = 0  # the screen's height at the last draw
        self._restore_echo: Callable[[], None] = lambda: None

    # -- the Renderer protocol (called by the driver, in the main thread) --

    def start(self) -> None:
        if self.live:
            self._restore_echo = echo_off(self.console.file)

    def chunk(self, chunk: AIMessageChunk) -> None:
        thinking = thinking_text(chunk)
        text = content_text(chunk.content)
        if not (thinking or text):
            return
        with self._changed:
            if self._error is not None:
                raise self._error
            if thinking:
                self._add_thinking(neutralise(thinking))
            if text:
                self._outputs.extend(_Output(block) for block in self._splitter.feed(neutralise(text)))
            self._dirty = True
            self._changed.notify()
        if self.interval is None:
            self._draw(self._take_frame())
        elif self._thread is None:
            self._thread = threading.Thread(target=self._render_loop, name="chatstream-render", daemon=True)
            self._thread.start()

    def finish(self, reply: AIMessageChunk) -> None:
        self._end(discard=False)

    def abort(self, error: BaseException) -> None:
        """Keep what was shown, the open block included; after a closed stdout, write nothing more."""
        self._end(discard=isinstance(error, BrokenPipeError) or self._error is not None)

    # -- between the threads --

    def _add_thinking(self, text: str) -> None:
        self._close_open_block()
        if self._outputs and self._outputs[-1].thinking:  # one print for all a frame brings
            text = self._outputs.pop().text + text
        self._outputs.append(_Output(text, thinking=True))

    def _close_open_block(self) -> None:
        tail = self._splitter.close()
        if tail:
            self._outputs.append(_Output(tail))

    def _end(self, discard: bool) -> None:
        try:
            self._draw_last(discard)
        finally:
            self._restore_echo()

    def _draw_last(self, discard: bool) -> None:
        with self._changed:
            self._close_open_block()
            self._closing = True
            self._discard = discard
            self._changed.notify()
        if self._thread is not None:
            try:
                self._thread.join()
            except KeyboardInterrupt:  # a Ctrl-C during the last redraw: let it complete
                self._thread.join()
                raise
        elif not discard:
            self._draw(self._take_frame())
        if self._error is not None and not discard:
            raise self._error

    def _take_frame(self) -> _Frame:
        with self._changed:
            frame = _Frame(self._outputs, self._splitter.open_text, self._closing)
            self._outputs = []
            self._dirty = False
            return frame

    def _render_loop(self) -> None:
        assert self.interval is not None
        last = -math.inf
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._dirty or self._closing)
                closing, discard = self._closing, self._discard
            if discard:
                return
            if not closing:
                time.sleep(max(0.0, last + self.interval - time.monotonic()))
            last = time.monotonic()
            frame = self._take_frame()
            try:
                self._draw(frame)
            except Exception as exc:  # handed to the main thread, which raises it
                with self._changed:
                    self._error = exc
                return
            if frame.final:
                return

    # -- drawing (one thread at a time) --

    def _draw(self, frame: _Frame) -> None:
        width = self.console.width
        screen = screen_size(self.console)
        keep = self._leave_stranded_lines(screen)
        self._write(_SYNC_START + self.region.erase(screen[0], keep))
        for output in frame.outputs:
            if output.thinking:
                self.thinking.add(output.text)
            else:
                self._print_block(output.text, width)
        if frame.final:
            self.thinking.end_line()
        elif self.live and frame.open_text.strip():
            self._draw_open_block(frame.open_text, width, screen)
        self._write(_SYNC_END)
        self._drawn_height = screen[1]

    def _leave_stranded_lines(self, screen: tuple[int, int]) -> int:
        """The region's top lines a narrower terminal may have put out of reach stay, for good."""
        height = min(screen[1], self._drawn_height)
        stranded = self.region.stranded(screen[0], self._lines_printed, height)
        if stranded:
            self._frozen += stranded
            self._pinned_width = self._pinned_width or self._open_width
            self._lines_printed += stranded
        return stranded

    def _write(self, text: str) -> None:
        if self.live:
            self.console.file.write(text)
            self.console.file.flush()

    def _block_lines(self, text: str, width: int) -> tuple[list[Line], RenderedBlock]:
        """The block's lines with the blank line that separates it from the one above."""
        if self.thinking.close():
            self._separate = False
        rendered = render_markdown(self.console, text, self._pinned_width or width)
        lines = [[], *rendered.lines] if self._separate and rendered.wants_blank_above else rendered.lines
        return lines, rendered

    def _print_block(self, text: str, width: int) -> None:
        lines, rendered = self._block_lines(text, width)
        self._print_lines(lines[self._frozen :])
        self._separate = not rendered.ends_with_rule
        self._frozen = 0
        self._pinned_width = None

    def _draw_open_block(self, text: str, width: int, screen: tuple[int, int]) -> None:
        """Redraw the open block; print its top lines for good when it would not fit the screen.

        The region keeps to half the screen, so that it still fits above the cursor when a
        terminal that rewraps (tmux) is narrowed to half its width; tables, whose first lines
        change as rows arrive, may use all of it.
        """
        lines, rendered = self._block_lines(text, width)
        self._open_width = self._pinned_width or width
        visible = lines[self._frozen :]
        screen_width, screen_height = screen
        room = max(1, screen_height - 1 if rendered.has_table else screen_height // 2)
        rows = [rows_for(cell_length(line), screen_width) for line in visible]
        keep = len(visible)
        while keep > 1 and sum(rows[len(visible) - keep :]) > room:
            keep -= 1
        overflow = len(visible) - keep
        if overflow:
            self._print_lines(visible[:overflow])
            self._frozen += overflow
            self._pinned_width = self._pinned_width or width
        self._write(self.region.draw(visible[overflow:], screen_width))

    def _print_lines(self, lines: list[Line]) -> None:
        if lines:
            self.console.print(Lines(lines), crop=False, end="")
            self._lines_printed += len(lines)
