"""The pure Anthropic event -> chunk translation, run directly on the recorded wire/ streams."""

from __future__ import annotations

import json
from functools import reduce
from operator import add
from typing import Any

import pytest

from chatstream_cli.errors import NetworkError, ProviderError
from chatstream_cli.messages import AIMessageChunk
from chatstream_cli.providers.anthropic.events import (
    StreamTranslator,
    chunks_from_events,
    message_from_response,
    usage_metadata,
)
from chatstream_cli.sse import iter_sse
from tests.conftest import FIXTURES, WIRE


def wire_events(name: str) -> list[dict[str, Any]]:
    """The JSON events of a recorded stream, read by the project's SSE decoder."""
    return [event.json() for event in iter_sse([(WIRE / name).read_bytes()])]


def fixture_chunks(scenario: str) -> list[dict[str, Any]]:
    """LangChain's chunks for a scenario, without the fixture-only class name and with ids masked."""
    lines = (FIXTURES / scenario / "anthropic.stream.jsonl").read_text().splitlines()
    return [masked({k: v for k, v in json.loads(line).items() if k != "lc_class"}) for line in lines]


def masked(chunk: dict[str, Any]) -> dict[str, Any]:
    return {**chunk, "id": "<id>" if chunk["id"] else None}


def as_json(items: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(item) for item in items]


def dumped(chunks: list[AIMessageChunk]) -> list[dict[str, Any]]:
    """Chunks as the fixtures hold them; the translator leaves ids to ChatModel.stream, so mask them."""
    return [masked(chunk.to_dict()) for chunk in chunks]


def test_text_stream_matches_langchain_chunk_for_chunk() -> None:
    chunks = list(chunks_from_events(wire_events("anthropic_stream_text.sse"), list_content=False))
    expected = [{**chunk, "id": None} for chunk in fixture_chunks("short")]
    assert as_json(dumped(chunks)) == as_json(expected)  # key order included


def test_text_stream_sums_to_the_reply_with_usage() -> None:
    total = reduce(add, chunks_from_events(wire_events("anthropic_stream_text.sse"), list_content=False))
    assert total.content == "Hello there! It is nice to meet you."
    assert total.response_metadata == {
        "model_name": "claude-haiku-4-5",
        "model_provider": "anthropic",
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    assert total.usage_metadata == {
        "input_tokens": 16,
        "output_tokens": 10,
        "total_tokens": 26,
        "input_token_details": {"cache_creation": 0, "cache_read": 0},
    }
    assert total.chunk_position == "last"


def test_thinking_stream_gives_blocks_with_their_index() -> None:
    chunks = list(chunks_from_events(wire_events("anthropic_stream_thinking.sse"), list_content=True))
    contents = [chunk.content for chunk in chunks]
    assert contents[0] == []
    assert contents[1:7] == [
        [{"thinking": piece, "type": "thinking", "index": 0}]
        for piece in ["The", " user", " wants", " a", " greeting", "."]
    ]
    assert contents[7] == [
        {"signature": "EqQBCkgIARABGAIiQLJ4mockSignatureAAAA==", "type": "thinking", "index": 0, "thinking": ""}
    ]
    assert contents[8:11] == [[{"text": piece, "type": "text", "index": 1}] for piece in ["Hello", " there", "!"]]
    last = chunks[-1]
    assert (last.content, last.chunk_position) == ([], "last")
    assert last.usage_metadata == {
        "input_tokens": 16,
        "output_tokens": 9,
        "total_tokens": 25,
        "input_token_details": {"cache_creation": 0, "cache_read": 0},
        "output_token_details": {"reasoning": 6},
    }
    assert len(chunks) == 12


def test_thinking_chunks_have_langchains_shape() -> None:
    """Same first, signature and last chunk metadata as LangChain's thinking fixture."""
    ours = dumped(list(chunks_from_events(wire_events("anthropic_stream_thinking.sse"), list_content=True)))
    theirs = [{**chunk, "id": None} for chunk in fixture_chunks("thinking")]
    assert ours[0] == theirs[0]
    signature = next(chunk for chunk in theirs if "signature" in json.dumps(chunk["content"]))
    assert signature in ours
    assert {k: v for k, v in ours[-1].items() if k != "usage_metadata"} == {
        k: v for k, v in theirs[-1].items() if k != "usage_metadata"
    }


def test_tool_use_stream_gives_tool_call_chunks_that_add_up() -> None:
    chunks = list(chunks_from_events(wire_events("anthropic_stream_tool_use.sse"), list_content=True))
    start = next(chunk for chunk in chunks if chunk.tool_call_chunks)
    assert start.content == [
        {
            "id": "toolu_01MockToolUseId000000",
            "caller": {"type": "direct"},
            "input": {},
            "name": "get_weather",
            "type": "tool_use",
            "toolset_name": None,
            "index": 1,
        }
    ]
    assert start.tool_call_chunks == [
        {"name": "get_weather", "args": "", "id": "toolu_01MockToolUseId000000", "index": 1, "type": "tool_call_chunk"}
    ]
    deltas = [chunk for chunk in chunks if chunk.content and chunk.content[0]["type"] == "input_json_delta"]
    assert [chunk.tool_call_chunks[0]["args"] for chunk in deltas] == ["", '{"city": "Pa', 'ris"}']
    assert all(chunk.tool_call_chunks[0]["name"] is None for chunk in deltas)

    total = reduce(add, chunks)
    assert total.content == [
        {"text": "Let me check.", "type": "text", "index": 0},
        {
            "id": "toolu_01MockToolUseId000000",
            "caller": {"type": "direct"},
            "input": {},
            "name": "get_weather",
            "type": "tool_use",
            "toolset_name": None,
            "index": 1,
            "partial_json": '{"city": "Paris"}',
        },
    ]
    assert total.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_01MockToolUseId000000", "type": "tool_call"}
    ]
    assert total.response_metadata["stop_reason"] == "tool_use"


def test_error_event_raises_a_provider_error_with_its_type() -> None:
    events = wire_events("anthropic_stream_midstream_error.sse")
    produced: list[AIMessageChunk] = []
    with pytest.raises(ProviderError) as caught:
        produced.extend(chunks_from_events(events, list_content=False))
    assert "".join(chunk.content for chunk in produced) == "Hello there"
    assert caught.value.error_type == "overloaded_error"
    assert caught.value.status == 200
    assert "Overloaded" in str(caught.value)


def test_a_stream_cut_before_the_end_is_reported() -> None:
    events = wire_events("anthropic_stream_text.sse")
    cut = [event for event in events if event["type"] not in ("message_delta", "message_stop")]
    with pytest.raises(NetworkError, match="ended before the reply was complete"):
        list(chunks_from_events(cut, list_content=False))


def test_a_stream_without_anthropic_events_is_not_taken_for_an_empty_reply() -> None:
    with pytest.raises(ProviderError, match="not an Anthropic message stream"):
        list(chunks_from_events([{"choices": []}], list_content=False))


def test_pings_stops_and_unknown_events_give_nothing() -> None:
    translator = StreamTranslator(list_content=False)
    for event in (
        {"type": "ping"},
        {"type": "content_block_stop", "index": 0},
        {"type": "something_new", "detail": 1},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ):
        assert translator.translate(event) is None


def test_block_that_opens_with_text_emits_it() -> None:
    start = {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "Hi"}}
    assert StreamTranslator(list_content=False).translate(start).content == "Hi"
    assert StreamTranslator(list_content=True).translate(start).content == [{"text": "Hi", "type": "text", "index": 2}]


def test_citations_delta_is_a_text_block() -> None:
    citation = {"type": "web_search_result_location", "cited_text": "x", "url": "https://e.org", "title": "t"}
    event = {"type": "content_block_delta", "index": 2, "delta": {"type": "citations_delta", "citation": citation}}
    chunk = StreamTranslator(list_content=True).translate(event)
    assert chunk.content == [{"citations": [citation], "type": "text", "index": 2}]


def test_message_delta_without_stop_reason_is_not_last() -> None:
    event = {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 3}}
    chunk = StreamTranslator(list_content=False).translate(event)
    assert chunk.chunk_position is None
    assert chunk.usage_metadata["output_tokens"] == 3


def test_usage_counts_cache_tokens_as_input() -> None:
    usage = {
        "input_tokens": 10,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 50,
        "cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 20},
        "output_tokens": 7,
    }
    assert list(usage_metadata(usage)["input_token_details"]) == [
        "cache_creation",
        "cache_read",
        "ephemeral_5m_input_tokens",
        "ephemeral_1h_input_tokens",
    ]
    assert list(usage_metadata(usage, streamed=False)["input_token_details"])[:2] == ["cache_read", "cache_creation"]
    assert usage_metadata(usage) == {
        "input_tokens": 160,
        "output_tokens": 7,
        "total_tokens": 167,
        "input_token_details": {
            "cache_read": 100,
            "cache_creation": 0,
            "ephemeral_5m_input_tokens": 30,
            "ephemeral_1h_input_tokens": 20,
        },
    }


def test_usage_from_an_older_server_without_input_tokens() -> None:
    assert usage_metadata({"output_tokens": 5}) == {
        "input_tokens": 0,
        "output_tokens": 5,
        "total_tokens": 5,
        "input_token_details": {},
    }


def test_message_from_response_with_thinking_keeps_the_blocks() -> None:
    data = {
        "id": "msg_1",
        "content": [
            {"signature": "sig", "thinking": "Hmm.", "type": "thinking"},
            {"citations": None, "text": "Hello.", "type": "text"},
        ],
        "model": "claude-haiku-4-5",
        "role": "assistant",
        "stop_reason": "end_turn",
        "type": "message",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    message = message_from_response(data)
    assert message.content == [
        {"signature": "sig", "thinking": "Hmm.", "type": "thinking"},
        {"text": "Hello.", "type": "text"},
    ]
    assert list(message.response_metadata) == ["id", "model", "stop_reason", "usage", "model_name", "model_provider"]
    assert message.usage_metadata["total_tokens"] == 7
