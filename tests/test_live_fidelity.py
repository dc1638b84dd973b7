"""Fidelity of the live view: a document streamed through it ends, in a terminal emulator, as the
same document rendered whole, at the same width, in the same terminal, after the
choices docs/terminal.md documents (code fences and HTML as written, table cells folded, line breaks kept, long
addresses whole, CRLF as a line ending and a lone CR shown as ␍, a table printed in part keeping
its column widths, a link reference definition applying within its own block).

The bulk runs in-process into pyte (which, like tmux 3.3a and wcwidth, counts each code point of
an emoji sequence on its own, where Rich counts the grapheme); a few cases run the real CLI in tmux.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from chatstream_cli.messages import AIMessageChunk
from chatstream_cli.render.layout import Lines, TableWidths, TerminalMarkdown, render_markdown
from chatstream_cli.render.live import LiveMarkdownRenderer
from chatstream_cli.render.safe import neutralise

from .test_terminal_pty import Terminal, Tmux, needs_tmux, reply_in_tmux, wait_done

DATA = Path(__file__).parent / "data"
SPEC_EXAMPLES = json.loads((DATA / "commonmark_examples.json").read_text())
DOCUMENTS = sorted((DATA / "fidelity").glob("*.md"))


def console_for(width: int, height: int) -> Console:
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True, color_system="truecolor")


def as_shown(output: str, width: int, height: int) -> list[str]:
    """What a terminal that received ``output`` shows, its scrollback first (LF as the pty's CRLF)."""
    return Terminal(height, width).feed(output.replace("\n", "\r\n").encode()).lines


def whole(text: str, width: int, height: int, table_widths: TableWidths = ()) -> list[str]:
    """The document rendered whole after the documented choices, as the same terminal shows it."""
    console = console_for(width, height)
    document = neutralise(text.replace("\r\n", "\n"))
    console.print(Lines(render_markdown(console, document, width, table_widths).lines), crop=False)
    return as_shown(console.file.getvalue(), width, height)


def kept_width_layouts(text: str, width: int, taller_than: int = 0) -> list[TableWidths]:
    """The column widths the tables may keep where they differ from the whole text's: each table
    its own, or, printed in part, those its complete lines had at one of its lines (after
    ``taller_than`` lines of the text rendered: a table is printed in part only once it fills
    the screen), sharing out all the room it has; each table on its own, as each may be."""
    console = console_for(width, 24)
    text = neutralise(text.replace("\r\n", "\n"))
    own = render_markdown(console, text, width).table_widths
    choices = [{widths} for widths in own]
    ends = [n + 1 for n, character in enumerate(text) if character == "\n"]
    for end, after in itertools.pairwise([*ends, len(text)]):
        prefix = render_markdown(console, text[:end], width, fill_tables=True)
        grows = prefix.table_widths and len(prefix.table_widths) <= len(own)
        # Printed in part while its next line arrives: its widths are those of its complete lines.
        if grows and last_table_lines(console, text[:after], width) > taller_than:
            choices[len(prefix.table_widths) - 1].add(prefix.table_widths[-1])  # the last may still grow
    return sorted(set(itertools.product(*choices)) - {own})


def last_table_lines(console: Console, text: str, width: int) -> int:
    """How many lines the last table of ``text`` takes, from its first not blank."""
    rendered = render_markdown(console, text, width, fill_tables=True)
    start = [token.map[0] for token in TerminalMarkdown(text).parsed if token.type == "table_open" and token.map][-1]
    above = render_markdown(console, "".join(text.splitlines(keepends=True)[:start]), width).lines
    lines = ["".join(segment.text for segment in line).strip() for line in rendered.lines[len(above) :]]
    return len(lines) - next((n for n, line in enumerate(lines) if line), len(lines))


@functools.cache  # two panes of the same size share them
def kept_width_wholes(text: str, width: int, height: int) -> list[list[str]]:
    """The document rendered whole with each of the column widths its table may keep."""
    return [whole(text, width, height, widths) for widths in kept_width_layouts(text, width, taller_than=height - 1)]


def assert_streams_as_whole(text: str, width: int, height: int, **stream: int) -> None:
    shown = streamed(text, width, height, **stream)
    if "|" in text and shown != whole(text, width, height):
        # A table is printed in part (may be stretched) once its own lines are more than the screen's but one.
        kept = [whole(text, width, height, widths) for widths in kept_width_layouts(text, width, height - 1)]
        if shown in kept:
            return
    assert shown == whole(text, width, height)


def streamed(text: str, width: int, height: int, seed: int = 0, largest_chunk: int = 7) -> list[str]:
    """The document streamed in random chunks through the live view, as the terminal shows it."""
    console = console_for(width, height)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None, reflows=False)
    rng = random.Random(seed)
    renderer.start()
    position = 0
    while position < len(text):
        size = rng.randint(1, largest_chunk)
        renderer.chunk(AIMessageChunk(content=text[position : position + size]))
        position += size
    renderer.finish(AIMessageChunk(content=text))
    return as_shown(console.file.getvalue(), width, height)


# -- CommonMark's examples -----------------------------------------------------------------------


@pytest.mark.parametrize("example", SPEC_EXAMPLES, ids=[f"{n}-{e['section']}" for n, e in enumerate(SPEC_EXAMPLES, 1)])
@pytest.mark.parametrize(("width", "height"), [(40, 8), (24, 5)])
def test_commonmark_examples_stream_as_rendered_whole(example: dict[str, str], width: int, height: int) -> None:
    assert_streams_as_whole(example["markdown"], width, height)


# -- documents -----------------------------------------------------------------------------------


@pytest.mark.parametrize("document", DOCUMENTS, ids=[path.stem for path in DOCUMENTS])
@pytest.mark.parametrize(("width", "height", "largest_chunk"), [(60, 20, 7), (80, 24, 40), (33, 12, 5)])
def test_documents_stream_as_rendered_whole(document: Path, width: int, height: int, largest_chunk: int) -> None:
    assert_streams_as_whole(document.read_bytes().decode(), width, height, largest_chunk=largest_chunk)


# -- random LLM-like replies ---------------------------------------------------------------------

WORDS = st.sampled_from(
    [
        "the", "model", "streams", "tokens", "quickly,", "and", "every", "reply", "wraps.", "`code`", "**bold**",
        "*emphasis*", "👍🏽", "👨‍👩‍👧", "❤️", "日本語", "テキスト", "[a link](https://example.com/x)",
        "https://example.com/a/long/address/that/goes/on/and/on/and/on/past/the/edge", "x" * 45,
    ]
)  # fmt: skip


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.lists(WORDS, min_size=1, max_size=14), min_size=1, max_size=3))
    return "\n".join(" ".join(words) for words in lines)


@st.composite
def lists(draw: st.DrawFn) -> str:
    ordered = draw(st.booleans())
    items = draw(st.lists(st.lists(WORDS, min_size=1, max_size=10), min_size=1, max_size=12))
    gap = "\n\n" if draw(st.booleans()) else "\n"
    marks = [f"{n}." if ordered else "-" for n in range(1, len(items) + 1)]
    nested = "\n  - nested item" if draw(st.booleans()) else ""
    return gap.join(f"{mark} {' '.join(words)}" for mark, words in zip(marks, items, strict=True)) + nested


@st.composite
def fences(draw: st.DrawFn) -> str:
    fence = draw(st.sampled_from(["```", "~~~", "````"]))
    info = draw(st.sampled_from(["", "python", "text", "bash", " js"]))
    code = draw(
        st.lists(st.sampled_from(["x = 1", "", "    return f(x)", "```", "print('👍🏽')", "y" * 70]), max_size=8)
    )
    return "\n".join([fence + info, *(line for line in code if fence != "```" or line != "```"), fence])


@st.composite
def tables(draw: st.DrawFn) -> str:
    """Columns whose cells are all as wide as their header: the widths never depend on later rows."""
    widths = draw(st.lists(st.integers(min_value=1, max_value=12), min_size=2, max_size=3))
    rows = draw(st.integers(min_value=1, max_value=4))
    cell = [draw(st.sampled_from("abcdefgh")) * width for width in widths]
    lines = ["| " + " | ".join(c.upper() for c in cell) + " |", "|" + "---|" * len(widths)]
    return "\n".join(lines + ["| " + " | ".join(cell) + " |"] * rows)


BLOCKS = st.one_of(
    paragraphs(),
    paragraphs().map(lambda text: "#" * 2 + " " + text.replace("\n", " ")),
    paragraphs().map(lambda text: "> " + text.replace("\n", "\n> ")),
    lists(),
    fences(),
    tables(),
    st.sampled_from(["---", "    indented = code\n\n    more = code", "<pre>\nkept\n\n  as is\n</pre>"]),
    st.sampled_from(["<!-- a comment\n\nover a blank line -->", "<div>\n*html*\n</div>"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocks=st.lists(BLOCKS, min_size=1, max_size=5),
    crlf=st.booleans(),
    size=st.sampled_from([(30, 6), (50, 12), (80, 24)]),
    seed=st.integers(0, 1000),
    largest_chunk=st.sampled_from([4, 12, 40]),
)
def test_random_replies_stream_as_rendered_whole(
    blocks: list[str], crlf: bool, size: tuple[int, int], seed: int, largest_chunk: int
) -> None:
    text = "\n\n".join(blocks) + "\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    assert_streams_as_whole(text, *size, seed=seed, largest_chunk=largest_chunk)


# -- the real CLI in tmux ------------------------------------------------------------------------

WHOLE_SCRIPT = """
from chatstream_cli.render.layout import Lines, render_markdown
from chatstream_cli.render.safe import neutralise
from chatstream_cli.render.terminal import terminal_console

console = terminal_console()
text = open("reply.md", newline="").read().rstrip("\\n")  # as "$(cat reply.md)" gives it
document = neutralise(text.replace("\\r\\n", "\\n"))
console.print(Lines(render_markdown(console, document, console.width).lines), crop=False)
"""
RICH_SCRIPT = """
from rich.markdown import Markdown
from chatstream_cli.render.terminal import terminal_console

text = open("reply.md", newline="").read().rstrip("\\n")  # as "$(cat reply.md)" gives it
terminal_console().print(Markdown(text, hyperlinks=False))
"""
MARK = "=== whole ==="


@dataclass(frozen=True)
class Pane:
    """A tmux pane a reply streams into: its size, the delay per chunk, and the shell's lines
    above the reply (none: it starts at the top of a cleared screen)."""

    width: int
    height: int
    delay_ms: int
    lines_above: int = 0

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}-{self.delay_ms}ms-{self.lines_above}above"


# The issue's panes: 100 x 40 and 60 x 20, 0 and 2 ms per chunk, from the top and mid-screen.
ISSUE_PANES = [Pane(100, 40, 0), Pane(100, 40, 2, lines_above=20), Pane(60, 20, 0, lines_above=10), Pane(60, 20, 2)]


def in_tmux(tmp_path: Path, text: str, width: int, height: int, delay_ms: int) -> tuple[list[str], list[str]]:
    """The reply streamed by the CLI in a tmux pane, and the same reply rendered whole after it in
    the same pane; wrapped rows joined, as a copy from the pane gives them."""
    return in_tmux_panes(tmp_path, text, [Pane(width, height, delay_ms)])[0]


def in_tmux_panes(
    tmp_path: Path, text: str, panes: list[Pane], script: str = WHOLE_SCRIPT, joined: bool = True
) -> list[tuple[list[str], list[str]]]:
    """``in_tmux`` in several panes at once, one tmux server for them all; the reply rendered
    whole by ``script``; the rows as the terminal wrapped them unless ``joined``."""
    tmux = Tmux(tmp_path)
    try:
        for pane in panes:
            directory = tmp_path / pane.name
            directory.mkdir()
            (directory / "whole.py").write_text(script)
            before = "clear;" + (f" seq {pane.lines_above};" if pane.lines_above else "")
            command = reply_in_tmux(directory, text, before, pane.delay_ms).replace(
                "; touch done", f"; echo '{MARK}'; {sys.executable} whole.py; touch done"
            )
            tmux.open(pane.name, command, pane.width, pane.height, directory)
        assert all(wait_done(tmp_path / pane.name) for pane in panes)
        return [_streamed_and_whole(tmux.shown(10_000, pane.name, joined), pane) for pane in panes]
    finally:
        tmux.kill()


def _streamed_and_whole(shown: str, pane: Pane) -> tuple[list[str], list[str]]:
    lines = [line.rstrip() for line in shown.rstrip("\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    assert lines[: pane.lines_above] == [str(n) for n in range(1, pane.lines_above + 1)]
    mark = lines.index(MARK)
    return lines[pane.lines_above : mark], lines[mark + 1 :]


@needs_tmux
@pytest.mark.parametrize("delay_ms", [20, 2])
def test_in_tmux_emoji_the_terminal_measures_wider_leave_no_line_twice(tmp_path: Path, delay_ms: int) -> None:
    """tmux counts 👍🏽 as 4 cells, Rich as 2: a line ending in it wraps where Rich expects none."""
    line = "x" * 57 + " 👍🏽"
    text = f"Intro.\n\n{line} " + " ".join(f"w{i}" for i in range(40)) + f" {line} end {line}"
    streamed, rendered_whole = in_tmux(tmp_path, text, 60, 20, delay_ms)
    assert streamed == rendered_whole
    assert sum(line.endswith("👍🏽") for line in streamed) == 3


@needs_tmux
def test_in_tmux_crlf_html_fences_and_long_addresses_stream_as_rendered_whole(tmp_path: Path) -> None:
    names = ["crlf", "html_blocks", "nested_fences", "long_urls", "emoji_and_wide"]
    text = "\r\n\r\n".join((DATA / "fidelity" / f"{name}.md").read_bytes().decode() for name in names)
    streamed, rendered_whole = in_tmux(tmp_path, text, 50, 16, delay_ms=1)
    assert streamed == rendered_whole
    assert "</pre>" in streamed and "````markdown" in streamed and "~~~js" in streamed
    address = "(https://github.com/example-organisation/chatstream-command-line-interface/blob/main/README.md)"
    assert any(address in line for line in streamed)  # one line, as the terminal wraps it


@needs_tmux
@pytest.mark.parametrize("delay_ms", [20, 2])
def test_in_tmux_a_table_taller_than_the_screen_keeps_its_column_widths(tmp_path: Path, delay_ms: int) -> None:
    text = (DATA / "fidelity" / "comparison_table.md").read_text()
    streamed, rendered_whole = in_tmux(tmp_path, text, 60, 14, delay_ms)
    layouts = [whole(text, 60, 14, widths) for widths in kept_width_layouts(text, 60)]
    assert streamed == rendered_whole or streamed in layouts, "\n".join(streamed)
    assert len(rendered_whole) > 14  # the table is taller than the screen


@needs_tmux
def test_in_tmux_narrowing_early_in_an_open_code_block_leaves_no_line_twice(tmp_path: Path) -> None:
    """The issue's seventh case: a narrowing 0.2 s into a stream, the reply at the top of the screen."""
    code = "\n".join(f"    value_{i} = compute(value_{i - 1}, factor={i})  # step {i}" for i in range(1, 40))
    text = f"Here is the code:\n\n```python\n{code}\n```\n\nDone."
    (tmp_path / "reply.md").write_text(text)
    tmux = Tmux(tmp_path, reply_in_tmux(tmp_path, text, "clear;", delay_ms=2), 90, 24)
    try:
        time.sleep(0.2)  # decides when the resize happens, not the outcome
        tmux.resize(45)
        assert wait_done(tmp_path)
        shown = [line for line in tmux.shown(history=3000).split("\n") if line.strip()]
    finally:
        tmux.kill()
    assert [line.split()[0] for line in shown if "compute(" in line] == [f"value_{i}" for i in range(1, 40)]


# -- issue 25: tables that keep their room, long words that keep their block's shape -------------

TMUX_DOCUMENTS = DATA / "fidelity" / "tmux"  # too tall for the in-process runs above at every size


def header_rule(lines: list[str]) -> str:
    return next(line.strip() for line in lines if line.strip() and set(line.strip()) == {"─"})


@needs_tmux
@pytest.mark.parametrize(
    ("document", "panes"),
    [("tall_table_late_long_notes", ISSUE_PANES), ("wide_table_late_long_cells", ISSUE_PANES[2:])],
    ids=["tall", "wide"],
)
def test_in_tmux_a_table_taller_than_the_screen_keeps_the_room_it_has(
    tmp_path: Path, document: str, panes: list[Pane]
) -> None:
    """Its columns are fixed when it fills the screen, from short first rows: they share out all
    the width, so its later, longer rows fold in columns that have room and the rule spans them."""
    text = (TMUX_DOCUMENTS / f"{document}.md").read_text()
    for pane, (streamed, rendered_whole) in zip(panes, in_tmux_panes(tmp_path, text, panes), strict=True):
        assert len(rendered_whole) > pane.height  # taller than the screen: printed in part while it streams
        if streamed != rendered_whole:
            assert streamed in kept_width_wholes(text, pane.width, pane.height), pane.name
            assert len(header_rule(streamed)) >= pane.width - 2, pane.name  # the table takes all the width
            assert len(streamed) < 2 * len(rendered_whole), pane.name  # the tall one at 60 x 20: 2.9 x before


@needs_tmux
def test_in_tmux_words_longer_than_the_line_fold_as_rich_folds_them(tmp_path: Path) -> None:
    """In list items (under the item's text), quotes and a centred heading, a long address folds
    as in Rich's rendering; in a paragraph the terminal's wrap of it gives Rich's rows, and the
    words after it go on in the room its last row leaves. Compared row by row, as the terminal
    wrapped them, with Rich's own Markdown rendering the whole reply in the same pane."""
    text = (TMUX_DOCUMENTS / "long_words.md").read_text()
    shown = in_tmux_panes(tmp_path, text, ISSUE_PANES, RICH_SCRIPT, joined=False)
    for pane, (streamed, rich) in zip(ISSUE_PANES, shown, strict=True):
        assert streamed == rich, f"{pane.name}\n" + "\n".join(streamed)
