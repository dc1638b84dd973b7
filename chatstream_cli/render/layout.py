"""Markdown laid out for the terminal view, in lines of segments (render/live.py streams them).

What differs from Rich's own Markdown, on purpose (docs/terminal.md lists it): code keeps its fences
as written, HTML is shown as written, table cells fold long words instead of ending them in
"…", the model's line breaks are kept, a word longer than the line (an address) is left whole
for the terminal to wrap where that wrap looks as Rich's fold, so it can be copied and clicked,
and list numbers always take two digits' room. A table may be given the column widths it keeps,
or told to take all the room it has.
"""

from __future__ import annotations

import io
import math
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar

from markdown_it.token import Token
from rich._wrap import divide_line
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, OverflowMethod, RenderableType, RenderResult
from rich.containers import Lines as TextLines
from rich.markdown import (
    CodeBlock,
    Heading,
    ListElement,
    Markdown,
    MarkdownContext,
    Paragraph,
    TableDataElement,
    TableElement,
    TextElement,
)
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

Line = list[Segment]
#: Per table, in order: its columns' widths, padding included.
TableWidths = tuple[tuple[int, ...], ...]

WHOLE_WORD_ROWS = 3
CODE_THEME = "ansi_dark"  # the terminal's own palette: readable on dark and light backgrounds
_BACKTICKS = re.compile(r"`{3,}")


def fence_for(code: str) -> str:
    """A backtick fence longer than any run of backticks in ``code``."""
    return "`" * max((len(run) + 1 for run in _BACKTICKS.findall(code)), default=3)


class FencedCode(CodeBlock):
    """A code block between dim fences, highlighted in the terminal's palette, with no padding:
    copied from the scrollback it is the model's Markdown again (its fence, info string and
    lines as written), and it looks right on any background."""

    fence: str | None = None  # None: an indented code block, which gets a fence of its own
    info = ""

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> CodeBlock:
        block = super().create(markdown, token)
        block.fence, block.info = token.markup or None, token.info
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        content = str(self.text)  # its lines as written, blank ones at the end included
        fence = self.fence or fence_for(content)
        yield Text(fence + self.info, style="dim")
        if content:
            code = content.removesuffix("\n")
            yield Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, background_color="default")
        yield Text(fence, style="dim")


class HtmlBlock(TextElement):
    """HTML outside a code block, shown as written: Rich drops it, and the text in it with it."""

    def on_text(self, context: MarkdownContext, text: str | Text) -> None:
        super().on_text(context, text.rstrip("\n") if isinstance(text, str) else text)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text


class WholeWordText(Text):
    """Text wrapped as Rich wraps it, but that a word longer than the line (an address) stays
    whole, for the terminal to wrap: it is not cut in pieces when copied or clicked. The terminal
    wraps it where Rich would fold it, and the words after it go on in the room its last row
    leaves, as in Rich's folding. A word of more than ``WHOLE_WORD_ROWS`` lines (a blob, not an
    address) is folded, as Rich does: the live view must be able to print its first rows for
    good while it still grows."""

    @classmethod
    def of(cls, text: Text) -> WholeWordText:
        whole = cls(justify=text.justify, end=text.end)
        whole.append_text(text)
        return whole

    def wrap(
        self,
        console: Console,
        width: int,
        *,
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        tab_size: int = 8,
        no_wrap: bool | None = None,
    ) -> TextLines:
        lines = TextLines()
        for paragraph in self.split(allow_blank=True):
            if "\t" in paragraph:
                paragraph.expand_tabs(tab_size)
            for line in paragraph.divide(whole_word_breaks(str(paragraph), width)):
                line.rstrip_end(width)
                if line.cell_len <= width:  # Rich's justifying would cut a longer one
                    TextLines([line]).justify(console, width, justify=justify or self.justify or "default")
                lines.append(line)
        return lines


def whole_word_breaks(text: str, width: int) -> list[int]:
    """Where Rich breaks ``text`` into lines of ``width`` cells, but for its folds inside a word of
    at most ``WHOLE_WORD_ROWS`` lines: that word is left whole, on the line Rich folds it over."""
    cuts = divide_line(text, width, fold=True)
    if not cuts:
        return cuts
    long_words = re.finditer(rf"\S{{{width // 2 + 1},}}", text)  # a character takes at most two cells
    whole = [word.span() for word in long_words if width < cell_len(word[0]) <= WHOLE_WORD_ROWS * width]
    return [cut for cut in cuts if not any(start < cut < end for start, end in whole)] if whole else cuts


class WholeWords(TextElement):
    """A text element whose words longer than the line are kept whole (``WholeWordText``) where
    the terminal wraps them as Rich folds them: at the top level and aligned left. In a list item
    or a quote, or centred (a first-level heading), the terminal's wrap would lose the indent,
    the quote's bar or the centring, so they are folded there, as Rich folds them."""

    nested = False

    def on_enter(self, context: MarkdownContext) -> None:
        super().on_enter(context)
        self.nested = len(context.stack) > 1  # the stack holds this element and those it is in

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for renderable in super().__rich_console__(console, options):  # type: ignore[misc]
            if isinstance(renderable, Text) and not self.nested and renderable.justify in ("left", "default", None):
                renderable = WholeWordText.of(renderable)
            yield renderable


class WholeWordParagraph(WholeWords, Paragraph):
    pass


class WholeWordHeading(WholeWords, Heading):
    pass


class TableCell(TableDataElement):
    """A table cell whose words too long for their column fold onto the next row instead of
    ending in "…": the scrollback keeps the whole text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content.overflow = "fold"


class KeptWidthTable(TableElement):
    """A table laid out with the column widths it was given, if any; the widths it takes are
    recorded: a table printed in part keeps them, so its later rows line up with its first.
    Given none where the document fills its tables, one that reaches the end of the text (it
    may still grow) takes all the room it has, the extra width shared out as Rich expands a
    table: its later rows, still unknown, fold in columns that have room, not in columns as
    narrow as its first rows. One that text follows is complete and keeps its own widths."""

    document: TerminalMarkdown
    may_grow = False

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> TableElement:
        table = cls()
        assert isinstance(markdown, TerminalMarkdown)
        table.document = markdown
        table.may_grow = token.map is not None and token.map[1] >= markdown.line_count
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for table in super().__rich_console__(console, options):
            assert isinstance(table, Table)
            kept = self.document.next_table_widths()
            # Rich has no public way to give a column its width padding included, or to read the widths it chose.
            for index, (column, width) in enumerate(zip(table.columns, kept or (), strict=False)):
                column.width = max(0, width - table._get_padding_width(index))
            table.expand = kept is None and self.document.fill_tables and self.may_grow
            # As Rich lays it out: the room its box's edges and column rules leave.
            room = options.update_width(options.max_width - table._extra_width)
            widths = table._calculate_column_widths(console, room)
            self.document.table_widths.append(tuple(widths))
            yield table


class SteadyNumberList(ListElement):
    """A list whose numbers take two digits' room from the first item (Rich's from the ninth), so
    its items do not move when more arrive: a long list printed in part still lines up."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.list_type == "bullet_list_open":
            yield from super().__rich_console__(console, options)
            return
        number = 1 if self.list_start is None else self.list_start
        room = max(number + len(self.items), 10)  # Rich's last number, which sets the width
        for index, item in enumerate(self.items):
            yield from item.render_number(console, options, number + index, room)


class TerminalMarkdown(Markdown):
    """Rich's Markdown with copyable code blocks, HTML and table cells kept whole, tables that may
    keep given column widths, and the model's line breaks kept, as chat apps show them: a verse
    stays a verse."""

    elements: ClassVar = {
        **Markdown.elements,
        "paragraph_open": WholeWordParagraph,
        "heading_open": WholeWordHeading,
        "fence": FencedCode,
        "code_block": FencedCode,
        "html_block": HtmlBlock,
        "table_open": KeptWidthTable,
        "bullet_list_open": SteadyNumberList,
        "ordered_list_open": SteadyNumberList,
        "td_open": TableCell,
        "th_open": TableCell,
    }

    def __init__(
        self, markup: str, kept_table_widths: TableWidths = (), fill_tables: bool = False, **options: Any
    ) -> None:
        super().__init__(markup, **options)
        self._kept_table_widths = iter(kept_table_widths)
        self.fill_tables = fill_tables  # tables given no widths that may still grow take all the room they have
        self.line_count = len(markup.splitlines())
        self.table_widths: list[tuple[int, ...]] = []
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"

    def next_table_widths(self) -> tuple[int, ...] | None:
        return next(self._kept_table_widths, None)


class LayoutConsole(Console):
    """Lays Markdown out: a line longer than the width (a word longer than the line, such as an
    address) is kept whole instead of cut, so that the terminal wraps it and it copies whole."""

    def render_lines(
        self,
        renderable: RenderableType,
        options: ConsoleOptions | None = None,
        *,
        style: Style | None = None,
        pad: bool = True,
        new_lines: bool = False,
    ) -> list[Line]:
        render_options = options or self.options
        segments = self.render(renderable, render_options)
        if style:
            segments = Segment.apply_style(segments, style)
        width = render_options.max_width
        lines = []
        for line in islice(Segment.split_lines(segments), render_options.height):
            if cell_length(line) < width:  # longer lines are left as they are
                line = Segment.adjust_line_length(line, width, style=style, pad=pad)
            lines.append([*line, Segment.line()] if new_lines else line)
        if render_options.height is not None and len(lines) < render_options.height:
            blank = [Segment(" " * width, style)] if pad else []
            lines += [[*blank, Segment.line()] if new_lines else list(blank)] * (render_options.height - len(lines))
        return lines


_layout_consoles: weakref.WeakKeyDictionary[Console, LayoutConsole] = weakref.WeakKeyDictionary()


def layout_console(console: Console) -> LayoutConsole:
    """The console that lays Markdown out for ``console`` (one each, made once)."""
    layout = _layout_consoles.get(console)
    if layout is None:
        layout = LayoutConsole(
            file=io.StringIO(),
            color_system=console.color_system,  # type: ignore[arg-type]
            force_terminal=console.is_terminal,
            legacy_windows=console.legacy_windows,
        )
        _layout_consoles[console] = layout
    return layout


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
    #: The column widths of its tables, in order (none: no table).
    table_widths: TableWidths = ()


def render_markdown(
    console: Console, text: str, width: int, table_widths: TableWidths = (), fill_tables: bool = False
) -> RenderedBlock:
    """``text`` as Markdown in lines of at most ``width`` cells (but for words longer than that),
    trailing blanks trimmed; its tables keep ``table_widths`` where given, and if ``fill_tables``,
    one given none that reaches the end of ``text`` takes all the room it has."""
    document = TerminalMarkdown(text, table_widths, fill_tables, code_theme=CODE_THEME, hyperlinks=False)
    layout = layout_console(console)
    lines = layout.render_lines(document, layout.options.update(width=width), pad=False)
    tokens = document.parsed
    return RenderedBlock(
        [trim(line) for line in lines],
        wants_blank_above=bool(tokens) and tokens[0].type not in _OWN_BLANK_LINE,
        ends_with_rule=bool(tokens) and tokens[-1].type == "hr",
        table_widths=tuple(document.table_widths),
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
