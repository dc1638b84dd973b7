"""Live Markdown on a terminal, at a cost per token that does not grow with the reply.

The streamed text is cut into top-level Markdown blocks (``BlockSplitter``, render/blocks.py).
A block that is complete is rendered once (render/layout.py) and printed into the scrollback;
only the block still open is redrawn, in a small region at the bottom of the output
(``LiveRegion``), at most ``refresh_per_second`` times a second by a render thread. When the
open block grows taller than half the screen, its top lines are printed for good (later text
does not change them), so the region always fits, even after the terminal narrows, and nothing
is duplicated or lost. A table may take the whole screen; once it is printed in part, it takes
all the width it has, shared out among its columns as Rich expands a table, and keeps those
widths, so its later rows line up with the first and fold only in columns that have room. Near
the top of the screen a narrowing may push the region's top lines into the history all the
same; those that may be out of reach are left where they are, for good (``LiveRegion.stranded``).

The region is drawn with the terminal's line wrap turned off, each line cut into rows of the
screen's width by Rich's measure: a grapheme Rich and the terminal measure differently (an
emoji with a skin tone, a ZWJ family) may clip a row's end while it is open, but never makes
the region take more rows than are erased. Printed for good, lines wrap as the terminal likes.

Every byte for the terminal is written by the render thread, so a Ctrl-C (which Python raises
in the main thread) never cuts a redraw in half. This module imports ``rich.markdown``; the CLI
imports it only when this view is used.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import chop_cells
from rich.console import Console
from rich.segment import Segment

from ..messages import AIMessageChunk, content_text, thinking_text
from .blocks import BlockSplitter, LineEndings
from .layout import Line, Lines, RenderedBlock, TableWidths, cell_length, render_markdown, rows_for
from .safe import neutralise
from .terminal import ThinkingSection
from .tty import drain, echo_off

REFRESH_PER_SECOND = 20.0
_SYNC_START = "\x1b[?2026h"  # synchronized output: the terminal shows the redraw in one piece
_SYNC_END = "\x1b[?2026l"
_WRAP_OFF = "\x1b[?7l"  # DECAWM: a row too long for the terminal is clipped, not wrapped
_WRAP_ON = "\x1b[?7h"


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


# What closes each inline construct that may be open: a link's text, its text closed before its
# address, its address, emphasis, a code span, a strikethrough, an autolink.
_CLOSERS = {"[": "](x)", "]": "(x)", "](": ")", "*": "*", "_": "_", "`": "`", "~~": "~~", "<": ">"}


def closers(text: str) -> list[str]:
    """What may close an inline construct left open in ``text``'s last paragraph: each its own
    guess, whose rendering tells the lines its close could change (a needless one changes none)."""
    paragraph = text[text.rfind("\n\n") + 1 :]
    return [close for opening, close in _CLOSERS.items() if opening in paragraph]


def screen_rows(line: Line, width: int) -> list[Line]:
    """``line`` cut into rows of at most ``width`` cells, as a terminal would wrap it."""
    if cell_length(line) <= width:
        return [line]
    cuts, position = [], 0
    for piece in chop_cells("".join(segment.text for segment in line), max(width, 2)):
        position += cell_length([Segment(piece)])
        cuts.append(position)
    return [row for row in Segment.divide(line, cuts) if row]


class LiveRegion:
    """The rows below the scrollback that are redrawn in place; the cursor waits at the start of
    the row after them, so an echoed ``^C`` or a resize never lands inside them."""

    def __init__(self, console: Console, reflows: bool) -> None:
        self.console = console
        self.reflows = reflows
        self._shown: list[list[int]] = []  # per line: the cells of each row it was drawn in

    def rows(self, width: int) -> int:
        """Rows the region takes now, at ``width``: after a resize the terminal may have rewrapped it."""
        return sum(self._rows_now(width))

    def _rows_now(self, width: int) -> list[int]:
        if self.reflows:
            return [sum(rows_for(cells, width) for cells in line) for line in self._shown]
        return [len(line) for line in self._shown]

    def stranded(self, width: int, lines_above: int, height: int) -> int:
        """How many of the region's top lines a narrower terminal may have put out of reach.

        A terminal that rewraps when it narrows (tmux) keeps the cursor on its row, so rewrapped
        rows that no longer fit above it go into the history, where no erase reaches: near the
        top of the screen, the region's own. The cursor's row is at least the region's former
        rows plus ``lines_above`` (ours, above it), or the screen's last; only the bottom lines
        sure to fit there are erased. The last line always is, as it may still grow.
        """
        room = min(sum(map(len, self._shown)) + lines_above, height - 1)
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
        rows = [screen_rows(line, width) for line in lines]
        self._shown = [[cell_length(row) for row in line_rows] for line_rows in rows]
        with self.console.capture() as capture:
            self.console.print(Lines(row for line_rows in rows for row in line_rows), crop=False)
        return _WRAP_OFF + capture.get() + _WRAP_ON


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
        self._line_endings = LineEndings()
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
        self._table_widths: TableWidths = ()  # the column widths its tables keep since then
        self._open_lines: tuple[str, list[Line], RenderedBlock] | None = None  # its last rendering: text, lines
        self._open_width = 0  # the width the open block was last rendered at
        self._lines_printed = 0  # lines printed for good so far, all above the region
        self._drawn_height = 0  # the screen's height at the last draw
        self._restore_echo: Callable[[], None] = lambda: None
        self._drain = drain(console.file) if live else lambda: None

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
                self._add_thinking(neutralise(thinking.replace("\r\n", "\n")))
            if text:
                self._add_text(self._line_endings.feed(text))
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

    def _add_text(self, text: str) -> None:
        self._outputs.extend(_Output(block) for block in self._splitter.feed(neutralise(text)))

    def _close_open_block(self) -> None:
        self._add_text(self._line_endings.close())
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
        screen = screen_size(self.console)
        width = self.console.width
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
        self._drain()  # the next frame's erase counts on a terminal that has taken this one in
        self._drawn_height = screen[1]

    def _leave_stranded_lines(self, screen: tuple[int, int]) -> int:
        """The region's top lines a narrower terminal may have put out of reach stay, for good; the
        tables among them keep the widths they were drawn with."""
        height = min(screen[1], self._drawn_height)
        stranded = self.region.stranded(screen[0], self._lines_printed, height)
        if stranded and self._open_lines is not None:
            text, lines, rendered = self._open_lines
            starts = self._table_starts(text, self._open_width, lines, rendered)
            left = sum(start < self._frozen + stranded for start in starts)
            self._table_widths = rendered.table_widths[: len(self._table_widths) + left]
            self._frozen += stranded
            self._pinned_width = self._pinned_width or self._open_width
            self._lines_printed += stranded
        return stranded

    def _write(self, text: str) -> None:
        if self.live:
            self.console.file.write(text)
            self.console.file.flush()

    def _block_lines(
        self, text: str, width: int, table_widths: TableWidths | None = None
    ) -> tuple[list[Line], RenderedBlock]:
        """The block's lines with the blank line that separates it from the one above; its tables
        keep ``table_widths`` (by default those kept since its top lines were printed)."""
        if self.thinking.close():
            self._separate = False
        widths = self._table_widths if table_widths is None else table_widths
        rendered = render_markdown(self.console, text, self._pinned_width or width, widths)
        lines = [[], *rendered.lines] if self._separate and rendered.wants_blank_above else rendered.lines
        return lines, rendered

    def _print_block(self, text: str, width: int) -> None:
        lines, rendered = self._block_lines(text, width)
        self._print_lines(lines[self._frozen :])
        self._separate = not rendered.ends_with_rule
        self._frozen = 0
        self._pinned_width = None
        self._table_widths = ()

    def _draw_open_block(self, text: str, width: int, screen: tuple[int, int]) -> None:
        """Redraw the open block; print its top lines for good when it would not fit the screen.

        The region keeps to half the screen, so that it still fits above the cursor when a
        terminal that rewraps (tmux) is narrowed to half its width; tables may use all of it.
        A table that must be printed in part takes all the room it has and keeps those widths;
        only the lines above a table (a blank line) being printed for good, it keeps Rich's own.
        """
        widths = self._table_widths
        lines, rendered = self._block_lines(text, width)
        overflow = self._overflow(lines, rendered, screen)
        starts = self._table_starts(text, width, lines, rendered) if overflow else []
        if starts and starts[0] < self._frozen + overflow:  # a table must be printed in part
            widths = self._widths_to_keep(text, self._pinned_width or width)
            lines, rendered = self._block_lines(text, width, widths)
            overflow = self._overflow(lines, rendered, screen)
            printed = sum(start < self._frozen + overflow for start in self._table_starts(text, width, lines, rendered))
            self._table_widths = widths[: len(self._table_widths) + printed]
        if overflow:
            overflow = max(0, min(overflow, self._settled(lines, rendered, text, width, widths, screen) - self._frozen))
        self._open_width = self._pinned_width or width
        self._open_lines = (text, lines, rendered)
        visible = lines[self._frozen :]
        if overflow:
            self._print_lines(visible[:overflow])
            self._frozen += overflow
            self._pinned_width = self._pinned_width or width
        self._write(self.region.draw(visible[overflow:], screen[0]))

    def _widths_to_keep(self, text: str, width: int) -> TableWidths:
        """The column widths the open block's tables keep from now on: a complete one its own, the
        one that may still grow all the room it has, shared out by the widths of its complete rows."""
        complete = render_markdown(self.console, text[: text.rfind("\n") + 1], width, self._table_widths, True)
        # A table whose complete lines are not one yet keeps what it has, its line still arriving included.
        arriving = render_markdown(self.console, text, width, complete.table_widths, True)
        return arriving.table_widths

    def _table_starts(self, text: str, width: int, lines: list[Line], rendered: RenderedBlock) -> list[int]:
        """Where the open block's tables that keep no widths yet begin in its ``lines``: at the
        first line their column widths change (a narrow layout tells it; above it, blank lines)."""
        widths = rendered.table_widths
        starts = []
        for index in range(len(self._table_widths), len(widths)):
            narrow = (*widths[:index], (1,) * len(widths[index]), *widths[index + 1 :])
            probe, _ = self._block_lines(text, width, narrow)
            changed = (n for n, (line, other) in enumerate(zip(lines, probe, strict=False)) if line != other)
            starts.append(next(changed, min(len(lines), len(probe))))
        return starts

    def _settled(
        self,
        lines: list[Line],
        rendered: RenderedBlock,
        text: str,
        width: int,
        table_widths: TableWidths,
        screen: tuple[int, int],
    ) -> int:
        """How many of the open block's top ``lines`` later chunks cannot change: neither the word
        still arriving (its end may make a link of a long address) nor the close of an inline
        construct still open (a link's ``[``, emphasis, a code span), which takes its marks out and
        may pull a word back onto the line above. An open construct holds lines back only while
        they fit the screen: one never closed (a lone ``[``) must not grow the region without end."""
        settled = len(lines)
        if not text[-1].isspace():
            complete = text[: max(text.rfind(" "), text.rfind("\n")) + 1]
            settled = self._same_lines(lines, complete, width, table_widths)
        unclosed = min(
            (self._same_lines(lines, text + close, width, table_widths) for close in closers(text)), default=settled
        )
        if unclosed < settled:
            visible = self._frozen + self._overflow(lines, rendered, screen, screen[1] - 1)
            settled = max(unclosed, min(settled, visible))
        return settled

    def _same_lines(self, lines: list[Line], other_text: str, width: int, table_widths: TableWidths) -> int:
        """How many of ``lines`` the block's ``other_text`` begins with, its tables keeping ``table_widths``."""
        other, _ = self._block_lines(other_text, width, table_widths)
        same = (n for n, (line, probe) in enumerate(zip(lines, other, strict=False)) if line != probe)
        return next(same, min(len(lines), len(other)))

    def _overflow(
        self, lines: list[Line], rendered: RenderedBlock, screen: tuple[int, int], room: int | None = None
    ) -> int:
        """How many of the open block's top lines must be printed for good for the rest to fit in
        ``room`` rows (by default the region's)."""
        visible = lines[self._frozen :]
        screen_width, screen_height = screen
        if room is None:
            room = screen_height - 1 if rendered.table_widths else screen_height // 2
        room = max(1, room)
        rows = [len(screen_rows(line, screen_width)) for line in visible]
        keep = len(visible)
        while keep > 1 and sum(rows[len(visible) - keep :]) > room:
            keep -= 1
        return len(visible) - keep

    def _print_lines(self, lines: list[Line]) -> None:
        if lines:
            self.console.print(Lines(lines), crop=False, end="")
            self._lines_printed += len(lines)
