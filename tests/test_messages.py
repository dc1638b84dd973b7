"""Tests for chatstream_cli.messages: chunk addition as langchain-core does it, field order, input forms."""

from __future__ import annotations

import copy
import functools
import json
import operator
from pathlib import Path
from typing import Any

import pytest

from chatstream_cli.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    content_text,
    content_thinking,
    to_messages,
)

from .conftest import FIXTURES

UNSERIALISED_KEYS = ("type", "lc_class")  # ``type`` is a class attribute, ``lc_class`` is not LangChain's


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def chunk_from(fields: dict[str, Any]) -> AIMessageChunk:
    return AIMessageChunk(**{k: v for k, v in fields.items() if k not in UNSERIALISED_KEYS})


def stream_chunks(scenario: str, provider: str) -> list[AIMessageChunk]:
    return [chunk_from(line) for line in read_jsonl(FIXTURES / scenario / f"{provider}.stream.jsonl")]


def end_output(scenario: str, provider: str) -> dict[str, Any]:
    events = read_jsonl(FIXTURES / scenario / f"{provider}.astream_events.jsonl")
    (end,) = [e for e in events if e["event"] == "on_chat_model_end"]
    output = dict(end["data"]["output"])
    del output["lc_class"]
    return output


def total(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return functools.reduce(operator.add, chunks)


def without_id(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "id"}


def thinking_piece(**block: Any) -> AIMessageChunk:
    return AIMessageChunk(content=[{**block, "index": 0}])


# --- single rules ----------------------------------------------------------------------------------


def test_string_content_concatenates() -> None:
    assert (AIMessageChunk(content="Gol") + AIMessageChunk(content="dfish") + AIMessageChunk(content="!")).content == (
        "Goldfish!"
    )


def test_list_blocks_merge_by_index_with_signature_last() -> None:
    pieces = [
        AIMessageChunk(content=[]),
        thinking_piece(thinking="The user", type="thinking"),
        thinking_piece(thinking=" wants a song.", type="thinking"),
        thinking_piece(signature="c2ln", type="thinking", thinking=""),
        AIMessageChunk(content=[{"text": "Here", "type": "text", "index": 1}]),
        AIMessageChunk(content=[{"text": " it is", "type": "text", "index": 1}]),
    ]
    content = total(pieces).content
    assert content == [
        {"thinking": "The user wants a song.", "type": "thinking", "index": 0, "signature": "c2ln"},
        {"text": "Here it is", "type": "text", "index": 1},
    ]
    assert [list(block) for block in content] == [["thinking", "type", "index", "signature"], ["text", "type", "index"]]


def test_first_block_type_wins_and_index_is_not_summed() -> None:
    merged = AIMessageChunk(content=[{"type": "tool_use", "index": 2, "partial_json": '{"a"'}]) + AIMessageChunk(
        content=[{"type": "input_json_delta", "index": 2, "partial_json": ": 1}"}]
    )
    assert merged.content == [{"type": "tool_use", "index": 2, "partial_json": '{"a": 1}'}]


def test_response_metadata_first_seen_order_and_provider_kept_once() -> None:
    merged = (
        AIMessageChunk(response_metadata={"model_name": "claude-haiku-4-5", "model_provider": "anthropic"})
        + AIMessageChunk(response_metadata={"model_provider": "anthropic"})
        + AIMessageChunk(
            response_metadata={"stop_reason": "end_turn", "stop_sequence": None, "model_provider": "anthropic"}
        )
    )
    assert list(merged.response_metadata.items()) == [
        ("model_name", "claude-haiku-4-5"),
        ("model_provider", "anthropic"),
        ("stop_reason", "end_turn"),
        ("stop_sequence", None),
    ]


def test_later_value_fills_a_none() -> None:
    merged = AIMessageChunk(response_metadata={"stop_sequence": None}) + AIMessageChunk(
        response_metadata={"stop_sequence": "\n\n"}
    )
    assert merged.response_metadata == {"stop_sequence": "\n\n"}


def test_usage_metadata_adds_up_with_nested_details() -> None:
    first = {"input_tokens": 16, "output_tokens": 1, "total_tokens": 17, "input_token_details": {"cache_read": 2}}
    second = {
        "input_tokens": 0,
        "output_tokens": 9,
        "total_tokens": 9,
        "input_token_details": {"cache_read": 3, "cache_creation": 4},
        "output_token_details": {"reasoning": 5},
    }
    merged = (
        AIMessageChunk(usage_metadata=first) + AIMessageChunk() + AIMessageChunk(usage_metadata=second)
    ).usage_metadata
    assert merged == {
        "input_tokens": 16,
        "output_tokens": 10,
        "total_tokens": 26,
        "input_token_details": {"cache_read": 5, "cache_creation": 4},
        "output_token_details": {"reasoning": 5},
    }


def test_usage_metadata_none_on_both_sides_stays_none() -> None:
    assert (AIMessageChunk(content="a") + AIMessageChunk(content="b")).usage_metadata is None


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [("last", None, "last"), (None, "last", "last"), (None, None, None), ("last", "last", "last")],
)
def test_chunk_position_last_wins(left: str | None, right: str | None, expected: str | None) -> None:
    assert (AIMessageChunk(chunk_position=left) + AIMessageChunk(chunk_position=right)).chunk_position == expected


def test_addition_leaves_its_operands_unchanged() -> None:
    chunks = stream_chunks("thinking", "anthropic")
    before = [copy.deepcopy(c.to_dict()) for c in chunks]
    total(chunks)
    assert [c.to_dict() for c in chunks] == before


def test_tool_call_chunks_merge_and_parse_into_tool_calls() -> None:
    merged = AIMessageChunk(
        tool_call_chunks=[{"name": "get_weather", "args": '{"city": ', "id": "toolu_1", "index": 1}]
    ) + AIMessageChunk(tool_call_chunks=[{"name": None, "args": '"Paris"}', "id": None, "index": 1}])
    assert merged.tool_call_chunks == [
        {"name": "get_weather", "args": '{"city": "Paris"}', "id": "toolu_1", "index": 1}
    ]
    assert merged.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_1", "type": "tool_call"}
    ]


# --- against LangChain's own output ----------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["short", "thinking"])
def test_anthropic_chunks_sum_to_the_end_output(scenario: str) -> None:
    expected = end_output(scenario, "anthropic")
    assert without_id(total(stream_chunks(scenario, "anthropic")).to_dict()) == without_id(expected)


@pytest.mark.parametrize("scenario", ["short", "thinking"])
def test_openai_chunks_sum_to_the_end_output(scenario: str) -> None:
    """LangChain aggregates OpenAI's stream before appending its synthetic closing chunk."""
    *chunks, closing = stream_chunks(scenario, "openai")
    assert closing.chunk_position == "last"
    expected = end_output(scenario, "openai")
    assert expected["chunk_position"] is None
    assert without_id(total(chunks).to_dict()) == without_id(expected)


@pytest.mark.parametrize(("scenario", "provider"), [("short", "anthropic"), ("thinking", "anthropic")])
def test_summed_dict_has_the_fixture_key_order(scenario: str, provider: str) -> None:
    summed = total(stream_chunks(scenario, provider)).to_dict()
    expected = end_output(scenario, provider)
    assert list(summed) == list(expected)
    assert list(summed["response_metadata"]) == list(expected["response_metadata"])
    assert list(summed["usage_metadata"]) == list(expected["usage_metadata"])


@pytest.mark.parametrize(
    ("scenario", "provider"),
    [("short", "anthropic"), ("thinking", "anthropic"), ("short", "openai"), ("thinking", "openai")],
)
def test_addition_is_associative(scenario: str, provider: str) -> None:
    chunks = stream_chunks(scenario, provider)
    left_fold = total(chunks).to_dict()
    right_fold = functools.reduce(lambda acc, chunk: chunk + acc, reversed(chunks[:-1]), chunks[-1]).to_dict()
    assert right_fold == left_fold
    for split in range(1, len(chunks)):
        assert (total(chunks[:split]) + total(chunks[split:])).to_dict() == left_fold


def test_to_dict_field_order_matches_every_fixture_chunk() -> None:
    for scenario in ("short", "thinking"):
        for provider in ("anthropic", "openai"):
            for line in read_jsonl(FIXTURES / scenario / f"{provider}.stream.jsonl"):
                expected = {k: v for k, v in line.items() if k != "lc_class"}
                produced = chunk_from(line).to_dict()
                assert produced == expected
                assert list(produced) == list(expected)


def test_ai_message_to_dict_matches_the_invoke_fixture() -> None:
    fixture = json.loads((FIXTURES / "short" / "anthropic.invoke.json").read_text())
    del fixture["lc_class"]
    message = AIMessage(**{k: v for k, v in fixture.items() if k != "type"})
    assert message.to_dict() == fixture
    assert list(message.to_dict()) == list(fixture)


def test_to_message_keeps_every_field_but_the_chunk_ones() -> None:
    summed = total(stream_chunks("short", "anthropic"))
    message = summed.to_message()
    assert type(message) is AIMessage
    expected = {k: v for k, v in summed.to_dict().items() if k not in ("tool_call_chunks", "chunk_position")}
    assert message.to_dict() == {**expected, "type": "ai"}


# --- helpers and input forms ------------------------------------------------------------------------


def test_content_text_and_thinking_of_list_content() -> None:
    content = end_output("thinking", "anthropic")["content"]
    assert content_text(content) == "Hello there! It is nice to meet you."
    assert content_thinking(content) == "The user wants a short greeting. Two sentences."
    assert content_text("plain") == "plain"
    assert content_thinking("plain") == ""


def test_to_messages_accepts_every_input_form() -> None:
    system = SystemMessage(content="be brief")
    assert to_messages("hi") == [HumanMessage(content="hi")]
    assert to_messages(system) == [system]
    assert to_messages(
        [system, ("human", "one"), ("assistant", "two"), {"role": "user", "content": "three"}, "four"]
    ) == [
        system,
        HumanMessage(content="one"),
        AIMessage(content="two"),
        HumanMessage(content="three"),
        HumanMessage(content="four"),
    ]


def test_to_messages_rejects_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="wizard"):
        to_messages([("wizard", "abracadabra")])


def test_human_message_to_dict_order() -> None:
    assert list(HumanMessage(content="hi").to_dict().items()) == [
        ("content", "hi"),
        ("additional_kwargs", {}),
        ("response_metadata", {}),
        ("type", "human"),
        ("name", None),
        ("id", None),
    ]
