"""Properties of adding chunks and of writing their text, checked on generated input (hypothesis).

The chunks generated are the kinds a provider streams: string content, or (for the whole reply, as
with thinking or tools) content blocks that extend a ``text`` or ``thinking`` block by its ``index``;
usage counts, ``model_provider`` on every chunk and other metadata keys on one chunk each, and
``chunk_position="last"``. Outside that ``+`` is not associative, in langchain-core either: string
content added to a list becomes a block of its own (``"a" + ("b" + [])`` is two blocks, ``("a" + "b") +
[]`` one), and equal integers in metadata are kept while different ones are added.
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from chatstream_cli.messages import AIMessageChunk, ChunkSum, Pieces, sum_chunks
from chatstream_cli.render.utf8 import Utf8Stream, to_utf8
from chatstream_cli.usage import Report

TEXT = st.text(max_size=8)
BLOCK = st.builds(
    lambda key, text, index: {key: text, "type": key, "index": index},
    st.sampled_from(["text", "thinking"]),
    TEXT,
    st.integers(0, 2),
)
USAGE = st.one_of(
    st.none(),
    st.builds(
        lambda given, made: {"input_tokens": given, "output_tokens": made, "total_tokens": given + made},
        st.integers(0, 50),
        st.integers(0, 50),
    ),
)
ONE_OFF_KEYS = ["model_name", "stop_reason", "stop_sequence", "id"]


@st.composite
def streams(draw: st.DrawFn, min_size: int = 0, max_size: int = 12, mixed: bool = False) -> list[AIMessageChunk]:
    """Chunks as one reply streams them (``mixed``: string and block content in any order); each
    one-off metadata key appears on one chunk at most."""
    count = draw(st.integers(min_size, max_size))
    blocks = st.lists(BLOCK, max_size=2, unique_by=lambda block: block["index"])  # one block per index
    content = st.one_of(TEXT, blocks) if mixed else blocks if draw(st.booleans()) else TEXT
    owners = {key: draw(st.integers(0, max(count - 1, 0))) for key in draw(st.sets(st.sampled_from(ONE_OFF_KEYS)))}
    chunks = []
    for position in range(count):
        metadata = {"model_provider": "anthropic"}
        metadata.update((key, draw(st.text(min_size=1, max_size=5))) for key, at in owners.items() if at == position)
        chunks.append(
            AIMessageChunk(
                content=draw(content),
                response_metadata=metadata,
                usage_metadata=draw(USAGE),
                chunk_position=draw(st.sampled_from([None, None, "last"])),
            )
        )
    return chunks


METADATA = st.dictionaries(
    st.sampled_from(["model_provider", "id", "stop_reason", "index", "logprobs"]),
    st.one_of(st.none(), st.sampled_from(["anthropic", "x"]), st.integers(0, 2), st.just({"a": 1})),
    max_size=3,
)


@st.composite
def repeating(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """Mostly ``base`` again, as a stream's chunks repeat their metadata; sometimes a key dropped,
    set to None, changed, or added."""
    chosen = draw(st.sets(st.sampled_from(sorted(base)))) if base else set()
    repeated = {key: base[key] for key in chosen}
    repeated.update(draw(st.one_of(st.just({}), st.just({}), METADATA)))
    return repeated


@st.composite
def text_streams(draw: st.DrawFn) -> list[AIMessageChunk]:
    """Text chunks whose other fields repeat, change or vanish, as the sum's shortcut for text must allow."""
    reports = [Report(), Report(stop_reason="end_turn")]
    kwargs, metadata = draw(METADATA), draw(METADATA)
    return [
        AIMessageChunk(
            content=draw(TEXT),
            additional_kwargs=draw(repeating(kwargs)),
            response_metadata=draw(repeating(metadata)),
            name=draw(st.sampled_from([None, None, None, "poet"])),
            id=draw(st.sampled_from([None, None, "lc_run--1", "lc_run--1", "lc_run--2"])),
            usage_metadata=draw(st.one_of(st.none(), st.none(), st.none(), USAGE)),
            chunk_position=draw(st.sampled_from([None, None, None, None, "last"])),
            report=draw(st.sampled_from([None, *reports])),
        )
        for _ in range(draw(st.integers(1, 12)))
    ]


@settings(max_examples=250)
@given(text_streams())
def test_chunk_sum_of_text_chunks_keeps_every_other_field_as_adding_does(chunks: list[AIMessageChunk]) -> None:
    added = functools.reduce(operator.add, chunks)
    total = sum_chunks(chunks)
    assert total == added
    assert total.report is added.report


@given(streams(min_size=3, max_size=3))
def test_chunk_addition_is_associative(chunks: list[AIMessageChunk]) -> None:
    a, b, c = chunks
    assert (a + b) + c == a + (b + c)


@given(st.lists(TEXT, max_size=40))
def test_the_sum_of_text_chunks_is_the_concatenated_reply(texts: list[str]) -> None:
    chunks = [AIMessageChunk(content=text) for text in texts]
    assert functools.reduce(operator.add, chunks, AIMessageChunk()).content == "".join(texts)
    assert sum_chunks(chunks).content == "".join(texts)


@given(streams(max_size=30, mixed=True))
def test_chunk_sum_equals_adding_left_to_right(chunks: list[AIMessageChunk]) -> None:
    with mock.patch.object(Pieces, "BATCH", 2):  # join pieces in batches here too
        # LangChain's sum starts from the first chunk: an empty chunk in front would add a "" item to list content.
        assert sum_chunks(chunks) == (functools.reduce(operator.add, chunks) if chunks else AIMessageChunk())


@given(streams(max_size=20, mixed=True), st.integers(0, 20))
def test_chunk_sum_can_be_read_midway(chunks: list[AIMessageChunk], cut: int) -> None:
    total = ChunkSum()
    for chunk in chunks[:cut]:
        total.add(chunk)
    midway = total.total()
    for chunk in chunks[cut:]:
        total.add(chunk)
    assert midway == sum_chunks(chunks[:cut])
    assert total.total() == sum_chunks(chunks)


def utf16_halves(text: str) -> str:
    """``text`` as a server slicing UTF-16 sends it: a character beyond U+FFFF as two surrogate halves."""
    units = text.encode("utf-16-le")
    return "".join(chr(int.from_bytes(units[i : i + 2], "little")) for i in range(0, len(units), 2))


@given(st.text(), st.lists(st.integers(0, 64)))
def test_text_cut_anywhere_even_inside_a_character_is_written_whole(text: str, cuts: list[int]) -> None:
    halves = utf16_halves(text)
    bounds = sorted({min(cut, len(halves)) for cut in cuts} | {0, len(halves)})
    encoder = Utf8Stream()
    written = b"".join(encoder.encode(halves[start:end]) for start, end in itertools.pairwise(bounds) if end > start)
    assert written + encoder.flush() == text.encode("utf-8")
    assert to_utf8(halves) == text.encode("utf-8")


def test_a_half_without_its_partner_is_a_replacement_character() -> None:
    encoder = Utf8Stream()
    assert encoder.encode("fish \ud83d") == b"fish "
    assert encoder.flush() == "\ufffd".encode()
    assert to_utf8("a\udc1fb") == "a\ufffdb".encode()


def test_bytes_escaped_by_surrogateescape_are_written_back() -> None:
    raw = b"caf\xe9 \xff"  # Latin-1, not UTF-8
    assert to_utf8(raw.decode("utf-8", "surrogateescape")) == raw
    assert Utf8Stream().encode(raw.decode("utf-8", "surrogateescape")) == raw
