"""``--schema`` on a terminal, through a real pseudo-terminal: the JSON appears indented while it streams,
nothing shown is redrawn (so no half-key ever flickers), and the screen ends as ``json.dumps(indent=2)``."""

from __future__ import annotations

import json
import random
import re

import pexpect
from typer.testing import CliRunner

from chatstream_cli.cli import app
from chatstream_cli.partial_json import KEY, PrettyJson

from .test_terminal_pty import Terminal, echo, run_on_terminal, spawn

SCHEMA = '{"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": '
SCHEMA += '{"type": "object", "properties": {"label": {"type": "string"}, "weight": {"type": "number"}}}}, '
SCHEMA += '"alive": {"type": "boolean"}, "nothing": {"type": "object"}}, "required": ["name"]}'
# What erases or moves over text already shown: a view that redraws would need one of them.
REDRAWS = re.compile(rb"\x1b\[\d*[ABCDHJK]|\r(?!\n)")


def test_the_document_streams_indented_and_ends_as_json_dumps_would_print_it() -> None:
    child = spawn(echo("--schema", SCHEMA, "a tiny goldfish", delay_ms=20), rows=30, cols=60)
    try:
        child.expect('"name"')
        assert child.isalive(), "the JSON only appeared once the reply was over"
        output = child.before + child.after
        child.expect(pexpect.EOF)
        output += child.before
    finally:
        child.close()
    assert child.exitstatus == 0
    piped = CliRunner().invoke(app, ["-m", "echo", "-o", "delay_ms", "0", "--schema", SCHEMA, "a tiny goldfish"])
    document = json.loads(piped.stdout)
    assert document["name"] == "a tiny goldfish"
    assert document["nothing"] == {}
    assert Terminal(30, 60).feed(output).lines == json.dumps(document, indent=2).splitlines()
    assert REDRAWS.search(output) is None
    assert b"\x1b[1;34m" in output  # keys in the bold blue of Rich's JSON highlighter


def test_a_document_taller_than_the_screen_scrolls_whole() -> None:
    output, status = run_on_terminal(echo("--schema-multi", "name, age int", "Ada"), rows=5, cols=40)
    assert status == 0
    expected = json.dumps([{"name": "Ada", "age": 78}] * 2, indent=2).splitlines()
    assert Terminal(5, 40).feed(output).lines == expected


def test_keys_are_never_shown_in_part_however_the_text_is_cut() -> None:
    rng = random.Random(7)
    document = {"name": 'Ada "the" first\\', "list": [1, -2.5e3, True, None, {}, [], {"deep": [{"k": "v"}]}]}
    text = json.dumps(document)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 30)))
        pretty, pieces = PrettyJson(), []
        for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
            pieces += pretty.feed(text[start:end])
        pieces += pretty.close()
        assert "".join(piece for piece, _ in pieces) == json.dumps(document, indent=2)
        assert [piece for piece, kind in pieces if kind == KEY] == ['"name"', '"list"', '"deep"', '"k"']


def test_the_thinking_shows_above_the_document() -> None:
    output, status = run_on_terminal(echo("--thinking", "--schema", "name", "Ada"), rows=10, cols=60)
    assert status == 0
    assert Terminal(10, 60).feed(output).lines == [
        "thinking",
        "The user wants their words back, unchanged.",
        "",
        "{",
        '  "name": "Ada"',
        "}",
    ]


def test_ctrl_c_keeps_what_arrived_and_closes_what_it_left_open() -> None:
    child = spawn(echo("--schema", "name, bio", "Ada " * 40, delay_ms=40), rows=10, cols=200)
    try:
        child.expect('"bio"')
        output = child.before + child.after
        child.expect("Ada")  # the value has begun
        output += child.before + child.after
        child.sendintr()
        child.expect(pexpect.EOF)
        output += child.before
    finally:
        child.close()
    assert child.exitstatus == 130
    lines = [line.replace("^C", "") for line in Terminal(10, 200).feed(output).lines]
    assert lines[-1] == "}"  # the string and the object the reply was in are closed
    assert lines[-2].startswith('  "bio": "Ada') and lines[-2].endswith('"')
