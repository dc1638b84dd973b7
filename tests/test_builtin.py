"""Tests for the offline models builtin:poet and builtin:echo."""

from __future__ import annotations

import asyncio
import functools
import itertools
import operator
import re
from types import SimpleNamespace
from typing import Any

import pytest

from chatstream_cli import get_model
from chatstream_cli.errors import UsageError
from chatstream_cli.messages import AIMessageChunk, SystemMessage, content_text, content_thinking
from chatstream_cli.providers import builtin

GOLDFISH = "Write me a 1 verse song about goldfish on the moon"


def poet(**settings: Any) -> Any:
    return get_model("builtin:poet", delay_ms=0, **settings)


def echo(**settings: Any) -> Any:
    return get_model("builtin:echo", delay_ms=0, **settings)


def texts(model: Any, prompt: Any = GOLDFISH) -> list[str]:
    """The text of every chunk that carries text."""
    return [text for chunk in model.stream(prompt) if (text := content_text(chunk.content))]


def reply(model: Any, prompt: Any = GOLDFISH) -> AIMessageChunk:
    return functools.reduce(operator.add, model.stream(prompt))


def verse_body(text: str) -> str:
    """The verse without its ``Here is a ... song about ...:`` heading, which repeats the prompt."""
    heading, blank, body = text.partition("\n\n")
    assert blank and heading.endswith(":"), text
    return body.lower()


# --- poet: the verse --------------------------------------------------------------------------------


def test_poet_is_deterministic() -> None:
    assert texts(poet()) == texts(poet())


def test_poet_seed_varies_the_verse() -> None:
    verses = {"".join(texts(poet(seed=seed))) for seed in range(5)}
    assert len(verses) >= 3


def test_poet_writes_about_goldfish_on_the_moon() -> None:
    body = verse_body(reply(poet()).text)
    assert "goldfish" in body
    assert "moon" in body


@pytest.mark.parametrize(
    ("prompt", "subject_words"),
    [
        ("Write a short poem about cats and rain", ("cats", "rain")),
        ("Sing of lighthouses", ("lighthouses",)),
    ],
)
def test_poet_follows_the_subject(prompt: str, subject_words: tuple[str, ...]) -> None:
    body = verse_body(reply(poet(), prompt).text)
    for word in subject_words:
        assert word in body
    assert "goldfish" not in body


def test_poet_chunks_are_words_and_sub_word_pieces() -> None:
    pieces = texts(poet())
    assert all(not re.search(r"\S\s+\S", piece) for piece in pieces), "a chunk holds more than one word"
    continuations = [(a, b) for a, b in itertools.pairwise(pieces) if a[-1].isalpha() and b[0].isalpha()]
    assert continuations, "no chunk is a piece of a longer word"
    assert any(a.strip().lower() + b.lower() == "goldfish" for a, b in continuations)


def test_poet_verses_option() -> None:
    one = verse_body(reply(poet()).text)
    three = verse_body(reply(poet(verses=3)).text)
    assert one.count("\n\n") == 0
    assert three.count("\n\n") == 2


# --- limits and usage -------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 5, 12])
def test_max_tokens_cuts_the_reply(limit: int) -> None:
    full = texts(poet())
    result = reply(poet(max_tokens=limit))
    assert result.text == "".join(full[:limit])
    assert result.response_metadata["stop_reason"] == "max_tokens"
    assert result.usage_metadata is not None and result.usage_metadata["output_tokens"] == limit


def test_max_tokens_larger_than_the_reply_changes_nothing() -> None:
    full = reply(poet())
    roomy = reply(poet(max_tokens=10_000))
    assert roomy.text == full.text
    assert roomy.response_metadata["stop_reason"] == "end_turn"


def boundary_stop(pieces: list[str]) -> tuple[str, int]:
    """A stop sequence made of the end of one chunk and the start of the next, first seen there."""
    text = "".join(pieces)
    offset = 0
    for left, right in itertools.pairwise(pieces):
        offset += len(left)
        if len(left) >= 2 and len(right) >= 2 and offset > 20:
            sequence = left[-2:] + right[:2]
            if text.find(sequence) == offset - 2:
                return sequence, offset - 2
    raise AssertionError("no chunk boundary to test with")


def test_stop_sequence_spanning_chunks_cuts_before_it() -> None:
    full = texts(poet())
    sequence, where = boundary_stop(full)
    result = reply(poet(stop=[sequence]))
    assert result.text == "".join(full)[:where]
    assert result.response_metadata["stop_reason"] == "stop_sequence"
    assert result.response_metadata["stop_sequence"] == sequence


def test_earliest_of_several_stop_sequences_wins() -> None:
    text = "".join(texts(poet()))
    first = min(["moon", "goldfish"], key=text.find)
    result = reply(poet(stop=["moon", "goldfish", "zzz"]))
    assert result.text == text[: text.find(first)]
    assert result.response_metadata["stop_sequence"] == first


def test_partial_stop_match_is_released() -> None:
    """Text held back because it might start a stop sequence is sent once it cannot."""
    full = reply(poet())
    assert "moo" in full.text and "moonbeams" not in full.text
    result = reply(poet(stop=["moonbeams"]))
    assert result.text == full.text
    assert result.response_metadata["stop_reason"] == "end_turn"
    assert result.response_metadata["stop_sequence"] is None


def test_usage_metadata_counts_the_tokens() -> None:
    prompt = "one two three four"
    chunks = list(echo().stream(prompt))
    usage = reply(echo(), prompt).usage_metadata
    text_chunks = [c for c in chunks if c.text]
    assert usage == {
        "input_tokens": len(text_chunks),
        "output_tokens": len(text_chunks),
        "total_tokens": 2 * len(text_chunks),
    }
    # Only the last chunk carries usage, as Anthropic's stream does.
    assert [c.usage_metadata is not None for c in chunks] == [False] * (len(chunks) - 1) + [True]


def test_usage_input_tokens_include_the_system_prompt() -> None:
    alone = reply(poet(), GOLDFISH).usage_metadata
    with_system = reply(poet(), [SystemMessage(content="You are a poet."), ("human", GOLDFISH)]).usage_metadata
    assert alone is not None and with_system is not None
    assert with_system["input_tokens"] > alone["input_tokens"]
    assert with_system["output_tokens"] == alone["output_tokens"] == len(texts(poet()))


def test_stream_shape_like_a_real_provider() -> None:
    chunks = list(poet().stream(GOLDFISH))
    assert chunks[0].text == "" and chunks[0].response_metadata == {"model_name": "poet", "model_provider": "builtin"}
    assert chunks[-1].chunk_position == "last"
    assert [c.chunk_position for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    total = reply(poet())
    assert list(total.response_metadata) == ["model_name", "model_provider", "stop_reason", "stop_sequence"]


# --- echo -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt", ["hello world", "  two  spaces,\ttabs\r\nand\n\nnewlines  ", "accents é, emoji 🐟 and \x1b[31mescapes"]
)
def test_echo_streams_the_prompt_back_exactly(prompt: str) -> None:
    assert "".join(texts(echo(), prompt)) == prompt


def test_echo_chunks_are_the_words() -> None:
    assert texts(echo(), "hello world") == ["hello", " world"]


def test_invoke_astream_and_stream_agree() -> None:
    async def collect() -> str:
        return "".join([chunk.text async for chunk in poet().astream(GOLDFISH)])

    expected = reply(poet()).text
    assert poet().invoke(GOLDFISH).content == expected
    assert asyncio.run(collect()) == expected


# --- pace -------------------------------------------------------------------------------------------


@pytest.fixture
def recorded_pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause the builtin models ask for, sync or async, without actually pausing."""
    pauses: list[float] = []

    async def async_sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(builtin, "time", SimpleNamespace(sleep=pauses.append))
    monkeypatch.setattr(builtin, "asyncio", SimpleNamespace(sleep=async_sleep))
    return pauses


def test_default_pace_is_30_to_60_chunks_a_second(recorded_pauses: list[float]) -> None:
    chunks = texts(get_model("builtin:poet"))
    assert len(recorded_pauses) == len(chunks)
    assert all(1 / 60 <= pause <= 1 / 30 for pause in recorded_pauses)


def test_default_pace_applies_to_astream(recorded_pauses: list[float]) -> None:
    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in get_model("builtin:echo").astream("a b c")]

    asyncio.run(collect())
    assert len(recorded_pauses) == 3
    assert all(1 / 60 <= pause <= 1 / 30 for pause in recorded_pauses)


def test_delay_ms_sets_the_pause(recorded_pauses: list[float]) -> None:
    texts(get_model("builtin:echo", delay_ms=50), "a b")
    assert recorded_pauses == [0.05, 0.05]


def test_delay_ms_zero_never_pauses(recorded_pauses: list[float]) -> None:
    texts(get_model("builtin:poet", delay_ms=0))
    assert recorded_pauses == []


# --- thinking and options ---------------------------------------------------------------------------


def test_thinking_gives_list_content_with_thinking_then_text() -> None:
    chunks = list(poet(thinking=True).stream(GOLDFISH))
    assert all(isinstance(c.content, list) for c in chunks)
    content = reply(poet(thinking=True)).content
    assert [(block["type"], block["index"]) for block in content] == [("thinking", 0), ("text", 1)]
    assert "goldfish" in content_thinking(content)
    assert content_text(content) == reply(poet()).text


def test_thinking_counts_towards_max_tokens() -> None:
    result = reply(poet(thinking=True, max_tokens=5))
    assert result.response_metadata["stop_reason"] == "max_tokens"
    assert result.usage_metadata is not None and result.usage_metadata["output_tokens"] == 5
    assert content_text(result.content) == ""


def test_unknown_option_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="temprature") as caught:
        get_model("builtin:poet", temprature=1)
    assert "delay_ms" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("value", ["fast", -1, True])
def test_bad_delay_is_a_usage_error(value: object) -> None:
    with pytest.raises(UsageError, match="delay_ms"):
        get_model("builtin:poet", delay_ms=value)
