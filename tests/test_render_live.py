"""The live Markdown view: the block splitter, and the renderer on a recorded Rich console.

The reference for every streamed rendering is the same reply rendered in one go: whatever the
chunking, the throttling or the screen height, the scrollback must end up exactly the same.
"""

from __future__ import annotations

import io
import itertools
import random
import re

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment

from chatstream_cli.messages import AIMessageChunk
from chatstream_cli.render.blocks import BlockSplitter, LineEndings
from chatstream_cli.render.layout import Lines, render_markdown
from chatstream_cli.render.live import LiveMarkdownRenderer, LiveRegion

from .test_live_fidelity import assert_streams_as_whole

REPLY = """# Streaming replies

Some *emphasis*, **strong** text and `inline code`, long enough to wrap at forty columns.
A second line of the same paragraph.

- first item
- second item

- a loose item
  with an indented continuation

1. one
2. two

```python
def greet(name):

    return f"hello {name}"
```

| model | speed |
|-------|-------|
| haiku | fast  |

> quoted
> text

---

Wide: 日本語のテキスト and 😀 emoji.
Last paragraph with a [link](https://example.com)."""

EXPECTED_BLOCKS = [
    "# Streaming replies\n",
    "Some *emphasis*, **strong** text and `inline code`, long enough to wrap at forty columns.\n"
    "A second line of the same paragraph.\n",
    "- first item\n- second item\n\n- a loose item\n  with an indented continuation\n\n1. one\n2. two\n",
    '```python\ndef greet(name):\n\n    return f"hello {name}"\n```\n',
    "| model | speed |\n|-------|-------|\n| haiku | fast  |\n",
    "> quoted\n> text\n",
    "---\n",
    "Wide: 日本語のテキスト and 😀 emoji.\nLast paragraph with a [link](https://example.com).",
]

# A reply whose blocks are taller than a small screen: their top lines are printed for good.
TALL = (
    "A long paragraph "
    + " ".join(f"word{i}" for i in range(150))
    + "\n\n```python\n"
    + "\n".join(f"x{i} = {i}  # line {i}" for i in range(40))
    + "\n```\n\n- "
    + "\n- ".join(f"item {i}" for i in range(30))
    + "\n\nEnd."
)


def split(text: str, sizes: list[int]) -> list[str]:
    """Feed ``text`` to a splitter in pieces of the given sizes (cycled); all blocks, in order."""
    splitter = BlockSplitter()
    blocks: list[str] = []
    position, turn = 0, 0
    while position < len(text):
        size = sizes[turn % len(sizes)]
        blocks += splitter.feed(text[position : position + size])
        position += size
        turn += 1
    tail = splitter.close()
    return [*blocks, tail] if tail else blocks


def recorded_console(width: int = 40, height: int = 100) -> Console:
    return Console(
        file=io.StringIO(), width=width, height=height, force_terminal=True, color_system="truecolor", record=True
    )


def one_go(text: str, width: int) -> str:
    """The whole reply rendered at once: what the scrollback must hold at the end."""
    console = recorded_console(width)
    console.print(Lines(render_markdown(console, text, width).lines), crop=False)
    return console.export_text(styles=False)


def stream(renderer: LiveMarkdownRenderer, text: str, seed: int = 0) -> None:
    rng = random.Random(seed)
    renderer.start()
    position = 0
    while position < len(text):
        size = rng.randint(1, 7)
        renderer.chunk(AIMessageChunk(content=text[position : position + size]))
        position += size
    renderer.finish(AIMessageChunk(content=text))


# -- the splitter --------------------------------------------------------------------------------


def test_blocks_of_a_reply() -> None:
    assert split(REPLY, [len(REPLY)]) == EXPECTED_BLOCKS


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=20))
def test_any_chunking_gives_the_same_blocks(sizes: list[int]) -> None:
    assert split(REPLY, sizes) == EXPECTED_BLOCKS


def test_a_block_is_complete_at_the_blank_line_after_it() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("First paragraph\nstill first") == []
    assert splitter.feed("\n\n") == ["First paragraph\nstill first\n"]
    assert splitter.open_text == ""


def test_a_heading_is_complete_at_its_line_end() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("## Title") == []
    assert splitter.feed("\nText") == ["## Title\n"]
    assert splitter.open_text == "Text"


def test_blank_lines_inside_a_fence_do_not_end_it() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("```\na\n\n\nb\n") == []
    assert splitter.open_text == "```\na\n\n\nb\n"
    assert splitter.feed("```\n") == ["```\na\n\n\nb\n```\n"]


def test_an_open_fence_stays_one_block_until_the_end() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("~~~js\nlet a = 1;\n\n") == []
    assert splitter.close() == "~~~js\nlet a = 1;\n"


@pytest.mark.parametrize("after", ["- next", "  indented", "3. third", " * nested"])
def test_a_list_goes_on_after_a_blank_line(after: str) -> None:
    splitter = BlockSplitter()
    assert splitter.feed(f"- item\n\n{after}\n\nParagraph") == [f"- item\n\n{after}\n"]


def test_the_next_line_decides_as_soon_as_its_first_characters_tell() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("- item\n\n*") == []  # may still become "* another item"
    assert splitter.feed("*Bold") == ["- item\n"]  # "**": not a list item, the list is complete
    assert splitter.open_text == "**Bold"


def test_indented_code_keeps_its_blank_lines() -> None:
    assert split("    a = 1\n\n    b = 2\n\nText", [3]) == ["    a = 1\n\n    b = 2\n", "Text"]


@pytest.mark.parametrize(
    "html",
    [
        "<pre>\na\n\n    b\n</pre>\n",
        "<SCRIPT>\nx\n\ny\n</SCRIPT>\n",
        '<style\n  type="text/css">\n\np {}\n</style>\n',
        "<textarea>\n\n*foo*\n\n</textarea>\n",
        "<!-- a\n\nb -->\n",
        "<?php\n\n?>\n",
        "<!DOCTYPE\n\nhtml>\n",
        "<![CDATA[\n\n]]>\n",
    ],
)
def test_html_blocks_of_kinds_1_to_5_go_on_over_blank_lines(html: str) -> None:
    assert split(f"Before\n\n{html}After", [2]) == ["Before\n", html, "After"]


def test_other_html_blocks_end_at_a_blank_line() -> None:
    assert split("<div>\na\n\nb\n</div>", [3]) == ["<div>\na\n", "b\n</div>"]


def test_crlf_is_a_line_ending_even_split_between_chunks_and_a_lone_cr_stays() -> None:
    endings = LineEndings()
    pieces = [endings.feed(piece) for piece in ("a\r", "\nb\r\n", "c\rd\r")]
    assert "".join(pieces) + endings.close() == "a\nb\nc\rd\r"


# -- the renderer on a recorded console ----------------------------------------------------------


@pytest.mark.parametrize("width", [40, 100])
@pytest.mark.parametrize("refresh_per_second", [None, 50.0], ids=["every-chunk", "throttled"])
def test_the_scrollback_equals_the_reply_rendered_in_one_go(width: int, refresh_per_second: float | None) -> None:
    console = recorded_console(width)
    stream(LiveMarkdownRenderer(console, refresh_per_second=refresh_per_second), REPLY)
    assert console.export_text(styles=False) == one_go(REPLY, width)


def test_the_rendering_itself() -> None:
    console = recorded_console(40)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), REPLY)
    lines = [line.rstrip() for line in console.export_text(styles=False).splitlines()]
    assert lines[0].strip() == "Streaming replies"
    assert "Some emphasis, strong text and inline" in lines  # no Markdown marks left, wrapped at 40
    assert " • first item" in lines
    assert "  1 one" in lines  # numbers take two digits' room
    fence = lines.index("```python")
    assert lines[fence : fence + 5] == ["```python", "def greet(name):", "", '    return f"hello {name}"', "```"]
    quote = lines.index("▌ quoted")
    assert lines[quote + 1] == "▌ text"  # the model's line breaks are kept
    assert "-" * 40 in lines
    assert "Last paragraph with a link (https://example.com)." in " ".join(lines)  # the address stays visible
    assert "Wide: 日本語のテキスト and 😀 emoji." in lines


def test_html_outside_code_is_shown_as_written() -> None:
    text = 'Before\n\n<div class="note">\n  <p>Kept text</p>\n</div>\n\nAfter'
    console = recorded_console(40)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), text)
    lines = [line.rstrip() for line in console.export_text(styles=False).splitlines()]
    assert lines == ["Before", "", '<div class="note">', "  <p>Kept text</p>", "</div>", "", "After"]


def test_table_cells_too_narrow_for_their_words_keep_every_character() -> None:
    text = "| Identifier | Description |\n|---|---|\n| transmogrification | x |"
    console = recorded_console(16)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), text)
    shown = console.export_text(styles=False)
    assert "…" not in shown
    assert " Identi  Descri\n fier    ption\n" in shown  # folded across rows
    letters = re.sub(r"[^a-z]", "", shown, flags=re.IGNORECASE)
    assert sorted(letters) == sorted("IdentifierDescriptiontransmogrificationx")


def test_a_table_printed_in_part_takes_all_the_width_it_has() -> None:
    text = "| id | note |\n|---|---|\n" + "".join(f"| {n} | ok |\n" for n in range(12)) + "| 12 | a longer note |"
    console = recorded_console(30, 8)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), text)
    lines = console.export_text(styles=False).strip("\n").splitlines()
    assert lines[1] == " " + "─" * 28  # the rule under the header spans the width
    assert lines[-1].split() == ["12", "a", "longer", "note"]  # on one line: its column has room


def test_a_complete_table_in_a_block_printed_in_part_keeps_its_own_widths() -> None:
    """A list taller than the screen is printed in part, a table in it too; the list has gone on
    past the table, which cannot grow any more: it is laid out as in the whole reply."""
    items = "".join(f"- item {n}\n" for n in range(12))
    text = f"- first\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |\n{items}"
    console = recorded_console(40, 16)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), text)
    assert console.export_text(styles=False) == one_go(text, 40)


def test_a_table_that_fits_once_the_blank_lines_above_it_are_printed_keeps_its_own_widths() -> None:
    """In a screen of six rows, a table's first rows push the blank lines above it out of the
    region, for good; the table itself is never printed in part, so it is laid out as in the whole
    reply, not stretched to the width (a regression of issue 25)."""
    text = "the\n\n| A | AAAAAAAA | AAAAAAAAAAAA |\n|---|---|---|\n| a | aaaaaaaa | aaaaaaaaaaaa |\n\n"
    text += "| A | A |\n|---|---|\n| a | a |\n"
    console = recorded_console(30, 6)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None)
    renderer.start()
    rows_begin = [match.end() + 1 for match in re.finditer(r"\|---.*\n", text)]  # just after a row's first "|"
    for start, end in itertools.pairwise([0, *rows_begin, len(text)]):
        renderer.chunk(AIMessageChunk(content=text[start:end]))
    renderer.finish(AIMessageChunk(content=text))
    assert console.export_text(styles=False) == one_go(text, 30)
    assert " A  A" in one_go(text, 30).splitlines()


def test_a_table_laid_out_with_the_widths_it_records_is_laid_out_as_rich_lays_it_out() -> None:
    """The widths a table records are those Rich gives it, in the room its column rules leave: a
    table filling the width, given them back, wraps its cells where Rich does."""
    text = "| AAAA | AAAAAAAAAAAA | AAAAAAAAAAAA |\n|---|---|---|\n| aaaa | aaaaaaaaaaaa | aaaaaaaaaaaa |\n"
    console = recorded_console(30)
    own = render_markdown(console, text, 30)
    kept = render_markdown(console, text, 30, own.table_widths)
    assert sum(own.table_widths[0]) < 30  # the rules between its three columns take room too
    assert kept.lines == own.lines
    assert kept.table_widths == own.table_widths


@pytest.mark.parametrize("largest_chunk", [4, 12, 40])
def test_a_table_filling_the_width_and_all_but_one_row_streams_as_rendered_whole(largest_chunk: int) -> None:
    """Its own rows take all the screen's rows but one; its widths, kept once it is printed in
    part, are Rich's own (a regression: they were taken in the room its column rules take too)."""
    text = "the\n\n| AAAA | AAAAAAAAAAAA | AAAAAAAAAAAA |\n|---|---|---|\n| aaaa | aaaaaaaaaaaa | aaaaaaaaaaaa |\n"
    for seed in range(10):
        assert_streams_as_whole(text, 30, 6, seed=seed, largest_chunk=largest_chunk)


def test_fences_and_info_strings_are_shown_as_written() -> None:
    text = "````markdown\n```text\nx\n```\n````\n\n~~~ js\nlet a;\n\n~~~\n\n    indented\n    ```"
    lines = [line.rstrip() for line in one_go(text, 40).splitlines()]
    assert lines == [
        *["````markdown", "```text", "x", "```", "````", ""],
        *["~~~ js", "let a;", "", "~~~", ""],
        *["````", "indented", "```", "````"],
    ]


def test_a_word_longer_than_the_line_is_not_cut_where_the_terminal_wraps_it_as_rich_folds_it() -> None:
    address = "https://example.com/a/long/path/that/does/not/fit"
    # The words after it go on in the room its last row leaves, as after Rich's fold.
    assert one_go(f"See {address} here", 30).splitlines() == ["See", f"{address} here"]
    assert one_go(f"## {address} here", 30).splitlines() == [f"{address} here"]


@pytest.mark.parametrize(("width", "height"), [(30, 6), (50, 12), (80, 24)])
def test_a_line_is_not_printed_for_good_while_a_link_on_it_is_still_open(width: int, height: int) -> None:
    # The words after the address share its last row, which fills the region while "[a" is open:
    # printed then, it would stay "[a" where the whole reply shows the link's "a link".
    text = "https://example.com/a/long/address/that/goes/on/and/on/and/on/past/the/edge [a link](https://example.com/x)"
    for seed, largest_chunk in itertools.product(range(12), (4, 12, 40)):
        assert_streams_as_whole(text, width, height, seed=seed, largest_chunk=largest_chunk)


def test_a_construct_never_closed_holds_back_no_more_lines_than_fit_the_screen() -> None:
    width, height = 40, 12
    console = recorded_console(width, height)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None)
    renderer.start()
    highest = 0
    for word in ("[a", *(f"word{n}" for n in range(200))):
        renderer.chunk(AIMessageChunk(content=f"{word} "))
        highest = max(highest, renderer.region.rows(width))
    renderer.finish(AIMessageChunk(content=""))
    assert height // 2 < highest <= height - 1  # held back past the half screen, but not past the screen
    assert console.export_text(styles=False) == one_go("[a " + " ".join(f"word{n}" for n in range(200)) + " ", width)


def test_a_word_longer_than_the_line_folds_as_rich_folds_it_in_list_items_quotes_and_centred_headings() -> None:
    address = "https://example.com/a/long/path/that/does/not/fit"
    assert one_go(f"- see {address} here", 30).splitlines() == [
        *["", " • see", "   https://example.com/a/long/", "   path/that/does/not/fit here"]
    ]
    assert one_go(f"> see {address} here", 30).splitlines() == [
        *["", "▌ see", "▌ https://example.com/a/long", "▌ /path/that/does/not/fit", "▌ here"]
    ]
    assert one_go(f"# {address} here", 30).splitlines() == [
        "https://example.com/a/long/pat",
        "   h/that/does/not/fit here",
    ]


def test_a_blob_longer_than_three_lines_is_folded_as_rich_folds_it() -> None:
    blob = "b" * 100  # more than three lines: folded, as Rich does
    assert one_go(f"See {blob}", 30).splitlines() == ["See", "b" * 30, "b" * 30, "b" * 30, "b" * 10]


def test_the_region_is_drawn_without_wrap_in_rows_of_the_screen_width() -> None:
    console = recorded_console(10)
    region = LiveRegion(console, reflows=False)
    line = [Segment("0123456789abcdef")]
    drawn = region.draw([line, [Segment("short")]], 10)
    assert drawn.startswith("\x1b[?7l") and drawn.endswith("\x1b[?7h")
    assert drawn.removeprefix("\x1b[?7l").removesuffix("\x1b[?7h") == "0123456789\nabcdef\nshort\n"
    assert region.rows(10) == 3


def test_code_is_highlighted_and_the_fences_are_dim() -> None:
    console = recorded_console(40)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), "```python\ndef f():\n    return 1\n```")
    exported = console.export_text(styles=True)
    assert "\x1b[2m```python" in exported
    assert re.search(r"\x1b\[[\d;]*m(def|return)", exported), "no syntax colours"


@pytest.mark.parametrize("height", [4, 9])
def test_blocks_taller_than_the_screen_are_printed_once(height: int) -> None:
    console = recorded_console(30, height)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), TALL)
    assert console.export_text(styles=False) == one_go(TALL, 30)


def test_an_interrupted_reply_keeps_its_open_block_as_code() -> None:
    console = recorded_console(40)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None)
    renderer.chunk(AIMessageChunk(content="Intro\n\n```python\nprint('partial"))
    renderer.abort(KeyboardInterrupt())
    lines = console.export_text(styles=False).splitlines()
    assert lines == ["Intro", "", "```python", "print('partial", "```"]


def test_nothing_more_is_written_after_stdout_closed() -> None:
    console = recorded_console(40)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None)
    renderer.chunk(AIMessageChunk(content="Shown\n\nnot yet shown"))
    written = console.file.getvalue()
    renderer.abort(BrokenPipeError())
    assert console.file.getvalue() == written


def test_thinking_is_dim_under_a_header_and_apart_from_the_answer() -> None:
    console = recorded_console(40)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None)
    for piece in ("Let me", " think."):
        renderer.chunk(AIMessageChunk(content=[{"type": "thinking", "thinking": piece, "index": 0}]))
    renderer.chunk(AIMessageChunk(content=[{"type": "text", "text": "The **answer**.", "index": 1}]))
    renderer.finish(AIMessageChunk())
    assert console.export_text(styles=False, clear=False).splitlines() == [
        "thinking",
        "Let me think.",
        "",
        "The answer.",
    ]
    styled = console.export_text(styles=True)
    assert "\x1b[1;2mthinking" in styled
    assert "\x1b[2;3mLet me\x1b[0m\x1b[2;3m think." in styled


def test_control_sequences_from_the_model_never_reach_the_terminal() -> None:
    hostile = "Clip\x1b]52;c;aGVsbG8=\x07 clear\x1b[2J link\x1b]8;;http://x\x1b\\here\x1b]8;;\x1b\\ AAAA\rBB\x9b1m"
    console = recorded_console(100)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None), hostile)
    written = console.file.getvalue()
    for raw in ("\x1b]52", "\x1b[2J", "\x1b]8;;", "\x07", "AAAA\rBB", "\x9b"):
        assert raw not in written
    shown = console.export_text(styles=False)
    assert "␛]52;c;aGVsbG8=␇ clear␛[2J link␛]8;;http://x␛\\here␛]8;;␛\\ AAAA␍BB" in shown


# -- what a terminal shows: the output replayed in a terminal emulator --------------------------------


def emulate(output: str, width: int, height: int, resize_at: int | None = None, new_width: int = 0) -> list[str]:
    """Scrollback and screen of a terminal that received ``output`` (LF as the pty's CRLF)."""
    screen = pyte.HistoryScreen(width, height, history=10_000)
    terminal = pyte.Stream(screen)
    data = output.replace("\n", "\r\n")
    if resize_at is None:
        terminal.feed(data)
    else:
        terminal.feed(data[:resize_at])
        screen.resize(height, new_width)
        terminal.feed(data[resize_at:])
    columns = screen.columns
    rows = ["".join(line[x].data for x in range(columns)).rstrip() for line in screen.history.top]
    rows += [line.rstrip() for line in screen.display]
    while rows and not rows[-1]:
        rows.pop()
    return rows


@pytest.mark.parametrize(("text", "height"), [(REPLY, 8), (TALL, 6)], ids=["reply", "tall"])
def test_the_terminal_shows_every_line_once(text: str, height: int) -> None:
    console = recorded_console(30, height)
    stream(LiveMarkdownRenderer(console, refresh_per_second=None, reflows=False), text)
    shown = emulate(console.file.getvalue(), 30, height)
    assert shown == [line.rstrip() for line in one_go(text, 30).rstrip("\n").split("\n")]


def test_a_wider_terminal_mid_reply_leaves_no_trace_of_the_old_region() -> None:
    text = "\n\n".join(f"Paragraph {p}: " + " ".join(f"w{p}.{i}" for i in range(30)) for p in range(4))
    console = recorded_console(30, 40)
    renderer = LiveMarkdownRenderer(console, refresh_per_second=None, reflows=False)
    half = len(text) // 2 + 7
    renderer.chunk(AIMessageChunk(content=text[:half]))
    resize_at = len(console.file.getvalue())
    console.size = (50, 40)
    for position in range(half, len(text), 5):
        renderer.chunk(AIMessageChunk(content=text[position : position + 5]))
    renderer.finish(AIMessageChunk())
    words = " ".join(emulate(console.file.getvalue(), 30, 40, resize_at, 50)).split()
    assert words == text.split()
