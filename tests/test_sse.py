"""Tests for chatstream_cli.sse: wire fixtures, WHATWG edge cases and split-invariance properties."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatstream_cli.sse import ServerSentEvent, SSEDecoder, aiter_sse, is_done, iter_sse

WIRE = Path(__file__).resolve().parent / "data" / "wire"
REPLY_TEXT = "Hello there! It is nice to meet you."


def parse(*chunks: bytes) -> list[ServerSentEvent]:
    return list(iter_sse(chunks))


def pieces(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def msg(data: str, event: str = "message", id: str | None = None, retry: int | None = None) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


# --- wire fixtures -------------------------------------------------------------------------------


def test_openai_stream_fixture() -> None:
    raw = (WIRE / "openai_stream_text.sse").read_bytes()
    events = parse(raw)
    assert len(events) == 14
    assert {e.event for e in events} == {"message"}
    assert [is_done(e) for e in events] == [False] * 13 + [True]
    chunks = [e.json() for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == REPLY_TEXT
    assert chunks[-1]["usage"]["total_tokens"] == 26
    assert parse(*pieces(raw, 7)) == events


def test_anthropic_stream_fixture() -> None:
    events = parse((WIRE / "anthropic_stream_text.sse").read_bytes())
    names = [e.event for e in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 10,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(e.json()["type"] == e.event for e in events)
    assert events[2].data == '{"type": "ping"}'
    assert "".join(e.json()["delta"]["text"] for e in events if e.event == "content_block_delta") == REPLY_TEXT
    assert not any(is_done(e) for e in events)


# --- line and field syntax -------------------------------------------------------------------------


def test_data_with_and_without_space_strips_exactly_one() -> None:
    assert parse(b"data:a\ndata: b\ndata:  c\ndata:\td\n\n") == [msg("a\nb\n c\n\td")]


def test_comments_are_ignored() -> None:
    assert parse(b": keep-alive\n\n:x\ndata: 1\n: in the middle\n\n") == [msg("1")]


def test_crlf_line_endings() -> None:
    assert parse(b"event: e\r\ndata: x\r\n\r\ndata: y\r\n\r\n") == [msg("x", "e"), msg("y")]


def test_crlf_split_between_feeds_is_one_line_break() -> None:
    # If the LF were taken as a second (blank) line, "a" would be dispatched on its own.
    assert parse(b"data: a\r", b"\ndata: b\r\n\r\n") == [msg("a\nb")]
    assert parse(b"data: a\r", b"", b"\n", b"\r\n") == [msg("a")]


def test_lone_cr_line_endings() -> None:
    assert parse(b"data: a\rdata: b\r\rdata: c\r\r") == [msg("a\nb"), msg("c")]
    assert parse(b"data: a\r", b"\rdata: b\r", b"\r") == [msg("a"), msg("b")]


def test_unknown_and_miscased_fields_are_ignored() -> None:
    assert parse(b"foo: bar\nDATA: y\nEvent: z\ndata: x\nfoo\n\n") == [msg("x")]


def test_an_error_field_is_an_error_event() -> None:
    """llama-box ends a failed stream with an ``error:`` line where the spec would drop the field."""
    raw = b'data: {"a": 1}\n\nerror: {"error": {"message": "failed to decode"}}\n\n\n'
    assert parse(raw) == [msg('{"a": 1}'), msg('{"error": {"message": "failed to decode"}}', event="error")]
    assert parse(*pieces(raw, 3)) == parse(raw)


def test_multi_line_data_and_bare_field_names() -> None:
    assert parse(b"data: line1\ndata\ndata:\ndata: line4\n\n") == [msg("line1\n\n\nline4")]
    assert parse(b"event\ndata: x\n\n") == [msg("x")]


def test_only_cr_and_lf_break_lines() -> None:
    data = "a\u2028b\x85c\x0bd\x0ce\x1cf\u2029g"
    assert parse(f"data: {data}\n\n".encode()) == [msg(data)]


def test_event_type_applies_to_one_event_only() -> None:
    raw = b"event: first\ndata: 1\n\ndata: 2\n\nevent: unused\n\nevent:\ndata: 3\n\n"
    assert parse(raw) == [msg("1", "first"), msg("2"), msg("3")]


def test_event_without_data_is_not_dispatched() -> None:
    assert parse(b"event: x\nid: 5\nretry: 10\n\n") == []


def test_id_is_the_last_event_id_and_ignores_nul() -> None:
    raw = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid: x\x00y\ndata: d\n\nid\ndata: e\n\n"
    assert [e.id for e in parse(raw)] == ["1", "1", "2", "2", ""]


def test_retry_accepts_ascii_digits_only() -> None:
    arabic_three = "\u0663".encode()  # a Unicode digit, but not an ASCII one
    raw = b"retry: 1500\ndata: a\n\ndata: b\n\nretry: 1a\ndata: c\n\nretry:\ndata: d\n\n"
    raw += b"retry: " + arabic_three + b"\ndata: e\n\n"
    assert [e.retry for e in parse(raw)] == [1500, None, None, None, None]


# --- stream boundaries and encoding ---------------------------------------------------------------


def test_event_without_trailing_blank_line_is_flushed_at_eof() -> None:
    assert parse(b"data: x") == [msg("x")]
    assert parse(b"data: x\n") == [msg("x")]
    assert parse(b"event: e\ndata: 1\n\ndata: 2\r") == [msg("1", "e"), msg("2")]


def test_empty_streams() -> None:
    assert parse() == []
    assert parse(b"", b"") == []
    assert parse(b"\n\n\r\n: only a comment\n\n") == []


def test_bom_at_start_is_stripped_once() -> None:
    bom = b"\xef\xbb\xbf"
    raw = bom + b"data: x\n\n"
    for cut in range(len(raw) + 1):
        assert parse(raw[:cut], raw[cut:]) == [msg("x")]
    assert parse(bom + bom + b"data: x\n\n") == []  # second BOM makes the field name unknown
    assert parse(b"data: " + bom + b"x\n\n") == [msg("\ufeffx")]


def test_one_megabyte_data_line_in_4k_feeds() -> None:
    data = "0123456789abcdef" * 65536
    events = parse(*pieces(f"event: big\ndata: {data}\n\ndata: after\n\n".encode(), 4096))
    assert events == [msg(data, "big"), msg("after")]


def test_multibyte_utf8_split_at_every_byte_boundary() -> None:
    text = "日本語🎉"
    raw = f"data: {text}\n\n".encode()
    for cut in range(len(raw) + 1):
        assert parse(raw[:cut], raw[cut:]) == [msg(text)], cut
    assert parse(*pieces(raw, 1)) == [msg(text)]


def test_invalid_utf8_is_replaced() -> None:
    assert parse(b"data: a\xffb\n\ndata: \xe6\x97\n\n") == [msg("a\ufffdb"), msg("\ufffd")]
    assert parse(b"data: \xe6\x97") == [msg("\ufffd")]


def test_decoder_feed_returns_events_as_soon_as_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n") == []
    assert decoder.feed(b"\ndata: 2") == [msg("1")]
    assert decoder.feed(b"\n") == []
    assert decoder.close() == [msg("2")]
    assert decoder.close() == []


def test_helpers() -> None:
    assert is_done(msg(" [DONE] "))
    assert not is_done(msg('"[DONE]"'))
    assert msg('{"a": [1, null]}').json() == {"a": [1, None]}
    assert ServerSentEvent() == msg("")


def test_async_variant_matches_sync() -> None:
    raw = (WIRE / "anthropic_stream_text.sse").read_bytes()

    async def chunks() -> AsyncIterator[bytes]:
        for piece in pieces(raw, 13):
            yield piece
        yield b"data: tail"

    async def collect() -> list[ServerSentEvent]:
        return [event async for event in aiter_sse(chunks())]

    events = asyncio.run(collect())
    assert events == [*parse(raw), msg("tail")]
    assert len(events) == 17


# --- properties ------------------------------------------------------------------------------------

VALUE = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=12)


@dataclass(frozen=True)
class Spec:
    """One event as written by a server, with the optional extras a server may add."""

    name: str | None
    data: list[str]
    id: str | None
    retry: int | None
    comment: str | None

    def lines(self) -> list[str]:
        head = [] if self.comment is None else [f":{self.comment}"]
        head += [] if self.name is None else [f"event: {self.name}"]
        head += [] if self.id is None else [f"id: {self.id}"]
        head += [] if self.retry is None else [f"retry: {self.retry}"]
        return head + [f"data: {d}" for d in self.data] + [""]


SPECS = st.lists(
    st.builds(
        Spec,
        name=st.none() | VALUE,
        data=st.lists(VALUE, min_size=1, max_size=3),
        id=st.none() | VALUE.filter(lambda v: "\0" not in v),
        retry=st.none() | st.integers(0, 10**6),
        comment=st.none() | VALUE,
    ),
    max_size=6,
)


def expected(specs: list[Spec]) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    last_id: str | None = None
    for s in specs:
        last_id = last_id if s.id is None else s.id
        events.append(msg("\n".join(s.data), s.name or "message", last_id, s.retry))
    return events


def serialize(specs: list[Spec], endings: list[str]) -> bytes:
    lines = [line for s in specs for line in s.lines()]
    return "".join(line + endings[i % len(endings)] for i, line in enumerate(lines)).encode()


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(c % (len(raw) + 1) for c in cuts), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


CUTS = st.lists(st.integers(0, 10**6), max_size=12)


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@settings(max_examples=100, deadline=None)
@given(specs=SPECS, cuts=CUTS)
def test_any_split_gives_the_same_events_as_feeding_whole(eol: str, specs: list[Spec], cuts: list[int]) -> None:
    raw = serialize(specs, [eol])
    whole = parse(raw)
    assert whole == expected(specs)
    assert parse(*split(raw, cuts)) == whole


@settings(max_examples=200, deadline=None)
@given(specs=SPECS, endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=1), cuts=CUTS)
def test_mixed_lf_crlf_endings_give_the_same_events(specs: list[Spec], endings: list[str], cuts: list[int]) -> None:
    assert parse(*split(serialize(specs, endings), cuts)) == expected(specs)
