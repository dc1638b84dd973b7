"""usage.Report (the usage counted once, one stop reason) and partial_json (LangChain's partial parser)."""

from __future__ import annotations

import json

import pytest

from chatstream_cli.messages import AIMessageChunk, merge_content, sum_chunks
from chatstream_cli.partial_json import parse_partial_json
from chatstream_cli.usage import Report, in_declared_order


def usage(inp: int, out: int) -> dict[str, int]:
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}


def test_a_running_total_replaces_the_one_before() -> None:
    report = Report()
    for out in (1, 5, 9):
        report.count(usage(10, out))
    assert report.usage == usage(10, 9)


def test_reports_that_do_not_repeat_the_input_count_add_up() -> None:
    report = Report()
    report.count(usage(10, 1))
    report.count(usage(0, 3))
    report.count(usage(0, 2))
    assert report.usage == usage(10, 6)


def test_a_stop_reason_counts_once() -> None:
    report = Report()
    for reason in ("stop", None, "", "stop"):
        report.stopped(reason)
    assert report.stop_reason == "stop"


def test_the_sum_of_chunks_keeps_their_report_while_usage_metadata_adds_up() -> None:
    report = Report(usage(10, 9), "stop")
    chunks = [
        AIMessageChunk(content=piece, usage_metadata=usage(10, n), report=report) for n, piece in enumerate("abc")
    ]
    total = sum_chunks(chunks)
    assert total.report is report
    assert total.usage_metadata == usage(30, 3)  # LangChain's figure, which the events keep


def test_usage_keys_come_in_langchains_declared_order() -> None:
    raw = {
        "total_tokens": 3,
        "input_tokens": 1,
        "output_tokens": 2,
        "input_token_details": {"x": 1, "cache_read": 0, "audio": 0},
    }
    ordered = in_declared_order(raw)
    assert list(ordered) == ["input_tokens", "output_tokens", "total_tokens", "input_token_details"]
    assert list(ordered["input_token_details"]) == ["audio", "cache_read", "x"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"city": "Pa', {"city": "Pa"}),
        ('{"city": "Paris", "unit"', {"city": "Paris"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": "line\nbreak', {"a": "line\nbreak"}),
        ('{"a": "tab\\', {"a": "tab"}),
        ("", None),
        ('{"a": 1}}', None),
    ],
)
def test_partial_json_is_completed_as_langchain_completes_it(text: str, value: object) -> None:
    if text == "":
        with pytest.raises(json.JSONDecodeError):
            parse_partial_json(text)
    else:
        assert parse_partial_json(text) == value


def test_tool_calls_follow_their_chunks_while_they_stream() -> None:
    start = AIMessageChunk(
        tool_call_chunks=[{"name": "f", "args": "", "id": "t1", "index": 0, "type": "tool_call_chunk"}]
    )
    piece = AIMessageChunk(
        tool_call_chunks=[{"name": None, "args": '{"q": "hel', "id": None, "index": 0, "type": "tool_call_chunk"}]
    )
    assert piece.tool_calls == [{"name": "", "args": {"q": "hel"}, "id": None, "type": "tool_call"}]
    assert (start + piece).tool_calls == [{"name": "f", "args": {"q": "hel"}, "id": "t1", "type": "tool_call"}]
    broken = AIMessageChunk(
        tool_call_chunks=[{"name": "f", "args": "[1]", "id": "t2", "index": 1, "type": "tool_call_chunk"}]
    )
    assert broken.invalid_tool_calls == [
        {"name": "f", "args": "[1]", "id": "t2", "error": None, "type": "invalid_tool_call"}
    ]


def test_text_and_blocks_merge_as_in_langchain() -> None:
    block = {"type": "tool_use", "index": 1}
    assert merge_content("Hi", [block]) == ["Hi", block]
    assert merge_content("", [block]) == ["", block]
    assert merge_content(["Hi", block], " there") == ["Hi", block, " there"]
    assert merge_content(["Hi"], " there") == ["Hi there"]
    assert merge_content([], "lost") == []
