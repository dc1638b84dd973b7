"""The events layer and ``--events``: shapes and key orders, metadata, input echo, the end output,
the JSON-lines writer, and what happens when a run fails or is interrupted."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli import get_model
from chatstream_cli.cli import app
from chatstream_cli.driver import Mode, run_reply
from chatstream_cli.errors import NetworkError, ProviderError
from chatstream_cli.events import END, ERROR, START, STREAM, EventRun, error_info, event_input, to_json
from chatstream_cli.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, content_text
from chatstream_cli.render.jsonl import JsonlRenderer
from chatstream_cli.runnable import ChatModel
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_events_compat import FAKE_KEY, masked_lines, require_provider, run_cli_events

SONG = "Write me a 1 verse song about goldfish on the moon"
POET = ["-m", "builtin:poet", "-o", "delay_ms", "0"]
KEY_ORDER = {
    START: ["event", "data", "name", "tags", "run_id", "metadata", "parent_ids"],
    STREAM: ["event", "run_id", "name", "tags", "metadata", "data", "parent_ids"],
    END: ["event", "data", "run_id", "name", "tags", "metadata", "parent_ids"],
    ERROR: ["event", "run_id", "name", "tags", "metadata", "data", "parent_ids"],
}
CHUNK_KEYS = [
    "content",
    "additional_kwargs",
    "response_metadata",
    "type",
    "name",
    "id",
    "tool_calls",
    "invalid_tool_calls",
    "usage_metadata",
    "tool_call_chunks",
    "chunk_position",
]


def poet(**settings: Any) -> ChatModel:
    return get_model("builtin:poet", delay_ms=0, **settings)


def json_events(events: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(to_json(event)) for event in events]


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(app, ["--events", *args])


def lines_of(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# --- shapes ------------------------------------------------------------------------------------------


def test_every_event_has_langchains_keys_in_langchains_order() -> None:
    events = json_events(poet().stream_events(SONG))
    assert [event["event"] for event in events] == [START] + [STREAM] * (len(events) - 2) + [END]
    for event in events:
        assert list(event) == KEY_ORDER[event["event"]]
        assert (event["tags"], event["parent_ids"], event["name"]) == ([], [], "ChatBuiltin")
    assert list(events[0]["data"]) == ["input"]
    for event in events[1:]:
        (key,) = event["data"]
        message = event["data"][key]
        assert list(message) == CHUNK_KEYS
        assert message["type"] == "AIMessageChunk"


def test_one_fresh_uuid7_run_id_per_run_and_chunk_ids_from_it() -> None:
    first, second = (json_events(poet().stream_events(SONG)) for _ in range(2))
    run_id = first[0]["run_id"]
    assert uuid.UUID(run_id).version == 7
    assert second[0]["run_id"] != run_id
    assert {event["run_id"] for event in first} == {run_id}
    assert {event["data"].get("chunk", event["data"].get("output", {})).get("id") for event in first[1:]} == {
        f"lc_run--{run_id}"
    }


def test_metadata_is_the_models_ls_params_in_order() -> None:
    (start, *_) = json_events(poet(temperature=0.5, max_tokens=40, stop=["moon"]).stream_events(SONG))
    assert start["metadata"] == {
        "ls_provider": "builtin",
        "ls_model_name": "poet",
        "ls_model_type": "chat",
        "ls_temperature": 0.5,
        "ls_max_tokens": 40,
        "ls_stop": ["moon"],
    }
    assert list(start["metadata"]) == [
        "ls_provider",
        "ls_model_name",
        "ls_model_type",
        "ls_temperature",
        "ls_max_tokens",
        "ls_stop",
    ]
    (plain, *_) = json_events(poet().stream_events(SONG))
    assert plain["metadata"] == {
        "ls_provider": "builtin",
        "ls_model_name": "poet",
        "ls_model_type": "chat",
        "ls_temperature": None,
    }


def test_stream_line_is_exactly_json_dumps_of_the_stream_event() -> None:
    """The precomputed JSON around the chunk must not change a byte of the line."""
    model = get_model("builtin:poet", delay_ms=0, stop=['"quoted" ünïcode'], temperature=0.2)
    run = EventRun(model, "prompt")
    chunks = [
        AIMessageChunk(content='Tab\t"quote" ü 🐟', id="lc_run--x"),
        AIMessageChunk(content=[{"thinking": "hm", "type": "thinking", "index": 0}], id="lc_run--x"),
        AIMessageChunk(content="", usage_metadata={"input_tokens": 1}, chunk_position="last", id="lc_run--x"),
    ]
    for chunk in chunks:
        assert run.stream_line(chunk) == to_json(run.stream(chunk))
        assert run.stream_line(chunk) == json.dumps(
            {**run.stream(chunk), "data": {"chunk": chunk.to_dict()}}
        )  # what LangChain users print


# --- data.input ----------------------------------------------------------------------------------------


def test_input_is_echoed_as_given() -> None:
    messages = [SystemMessage(content="Be brief."), HumanMessage(content="hi")]
    (start, *_) = json_events(poet().stream_events(messages))
    assert start["data"]["input"] == [
        {"content": "Be brief.", "additional_kwargs": {}, "response_metadata": {}, "type": "system"}
        | {"name": None, "id": None},
        {"content": "hi", "additional_kwargs": {}, "response_metadata": {}, "type": "human", "name": None, "id": None},
    ]
    (start, *_) = json_events(poet().stream_events("hi"))
    assert start["data"]["input"] == "hi"


def test_cli_input_is_the_prompt_alone_or_all_messages() -> None:
    prompt_only: list[BaseMessage] = [HumanMessage(content="hi")]
    assert event_input(prompt_only) == "hi"
    with_system: list[BaseMessage] = [SystemMessage(content="Be brief."), HumanMessage(content="hi")]
    assert event_input(with_system) is with_system
    assert lines_of(run_cli(*POET, "hi"))[0]["data"]["input"] == "hi"
    start = lines_of(run_cli(*POET, "-s", "Be brief.", "hi"))[0]
    assert [message["type"] for message in start["data"]["input"]] == ["system", "human"]


# --- chunks and the end output ------------------------------------------------------------------------


def test_builtin_chunks_follow_the_anthropic_pattern() -> None:
    events = json_events(poet().stream_events(SONG))
    chunks = [event["data"]["chunk"] for event in events[1:-1]]
    first, *middle, last = chunks
    assert (first["content"], first["response_metadata"]) == ("", {"model_name": "poet", "model_provider": "builtin"})
    assert all(chunk["response_metadata"] == {"model_provider": "builtin"} for chunk in middle)
    assert all(chunk["usage_metadata"] is None and chunk["chunk_position"] is None for chunk in [first, *middle])
    assert last["content"] == ""
    assert list(last["response_metadata"]) == ["stop_reason", "stop_sequence", "model_provider"]
    assert last["usage_metadata"]["output_tokens"] == len(middle)
    assert last["chunk_position"] == "last"
    output = events[-1]["data"]["output"]
    assert output["content"] == "".join(chunk["content"] for chunk in middle)
    assert output["response_metadata"] == {
        "model_name": "poet",
        "model_provider": "builtin",
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    assert (output["usage_metadata"], output["chunk_position"]) == (last["usage_metadata"], "last")


def test_thinking_makes_list_content_and_the_end_merges_blocks() -> None:
    events = json_events(poet(thinking=True).stream_events(SONG))
    chunks = [event["data"]["chunk"] for event in events[1:-1]]
    assert chunks[0]["content"] == [] and chunks[-1]["content"] == []
    kinds = [block["type"] for chunk in chunks for block in chunk["content"]]
    assert kinds == sorted(kinds, reverse=True) and set(kinds) == {"thinking", "text"}
    thinking, text = events[-1]["data"]["output"]["content"]
    assert (list(thinking), list(text)) == (["thinking", "type", "index"], ["text", "type", "index"])
    assert text["text"] == content_text(poet().invoke(SONG).content)


class UnmarkedModel(ChatModel):
    """A provider that never marks its last chunk, as ChatOpenAI's streams."""

    provider = "openai"
    event_name = "ChatOpenAI"

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        yield AIMessageChunk(content="", response_metadata={"model_provider": "openai"})
        yield AIMessageChunk(content="Hi", response_metadata={"model_provider": "openai"})
        yield AIMessageChunk(content="", usage_metadata={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})


def test_end_output_leaves_out_the_closing_chunk_core_appends() -> None:
    events = json_events(UnmarkedModel("m").stream_events("hi"))
    closing = events[-2]["data"]["chunk"]
    assert (closing["content"], closing["response_metadata"], closing["chunk_position"]) == ("", {}, "last")
    output = events[-1]["data"]["output"]
    assert (output["content"], output["chunk_position"]) == ("Hi", None)
    assert output["usage_metadata"] == {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}


def test_astream_events_equals_stream_events() -> None:
    async def collect() -> list[dict[str, Any]]:
        return [event async for event in poet(thinking=True).astream_events(SONG, version="v2")]

    events = asyncio.run(collect())
    assert isinstance(events[1]["data"]["chunk"], AIMessageChunk)  # objects, as LangChain yields them
    assert masked_lines(json_events(iter(events))) == masked_lines(json_events(poet(thinking=True).stream_events(SONG)))


class ClosableModel(ChatModel):
    """Streams until told to stop; says whether its stream was closed."""

    closed = False

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        try:
            while True:
                yield AIMessageChunk(content="la ")
        finally:
            self.closed = True


def test_stopping_astream_events_early_closes_the_models_stream() -> None:
    """The reference document stops after a few events; the model's stream must end with them."""

    model = ClosableModel("m")

    async def first_events() -> list[str]:
        seen = []
        async with aclosing(model.astream_events(SONG)) as events:
            async for event in events:
                seen.append(event["event"])
                if len(seen) == 5:
                    break
            assert not model.closed
        assert model.closed  # now, not whenever the garbage is collected
        return seen

    assert asyncio.run(first_events()) == [START, STREAM, STREAM, STREAM, STREAM]


def test_only_version_v2_is_offered() -> None:
    with pytest.raises(ValueError, match="v2"):
        poet().astream_events(SONG, version="v1")
    with pytest.raises(ValueError, match="v2"):
        poet().stream_events(SONG, version="v3")


# --- failures in the Python API -------------------------------------------------------------------------


class FailingModel(ChatModel):
    """Streams two chunks, then the provider reports an error in the middle of the stream."""

    provider = "anthropic"
    event_name = "ChatAnthropic"

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        yield AIMessageChunk(content="", response_metadata={"model_name": self.model, "model_provider": "anthropic"})
        yield AIMessageChunk(content="Hello", response_metadata={"model_provider": "anthropic"})
        raise ProviderError("Overloaded", "try again later", error_type="overloaded_error", status=200)


def test_a_failure_keeps_the_events_so_far_and_raises_like_langchain() -> None:
    seen = []
    with pytest.raises(ProviderError):
        for event in FailingModel("claude-haiku-4-5").stream_events("hi"):
            seen.append(event["event"])
    assert seen == [START, STREAM, STREAM]

    async def collect() -> None:
        async for event in FailingModel("claude-haiku-4-5").astream_events("hi"):
            seen.append(event["event"])

    seen.clear()
    with pytest.raises(ProviderError):
        asyncio.run(collect())
    assert seen == [START, STREAM, STREAM]


def test_error_info_says_type_message_status_and_exit_code() -> None:
    overloaded = ProviderError("Overloaded", "try again later", error_type="overloaded_error", status=200)
    assert error_info(overloaded) == {
        "type": "overloaded_error",
        "message": "Overloaded",
        "status": 200,
        "exit_code": 4,
    }
    assert error_info(NetworkError("connection dropped")) == {
        "type": "network_error",
        "message": "connection dropped",
        "status": None,
        "exit_code": 5,
    }
    assert error_info(KeyboardInterrupt()) == {
        "type": "interrupted",
        "message": "interrupted",
        "status": None,
        "exit_code": 130,
    }
    assert error_info(ZeroDivisionError("boom"))["exit_code"] == 1


# --- the JSON-lines writer -------------------------------------------------------------------------------


class WriteLog(io.BytesIO):
    """Records every write and flush."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[bytes | None] = []

    def write(self, data: Any) -> int:
        self.calls.append(bytes(data))
        return super().write(data)

    def flush(self) -> None:
        self.calls.append(None)


@pytest.mark.parametrize("mode", [Mode.STREAM, Mode.ASYNC])
def test_each_line_is_one_whole_write_then_a_flush(mode: Mode) -> None:
    out = WriteLog()
    model = poet()
    run = EventRun(model, SONG)
    run_reply(model, [HumanMessage(content=SONG)], JsonlRenderer(out, run), mode, run_id=run.run_id)
    writes, flushes = out.calls[0::2], out.calls[1::2]
    assert flushes == [None] * len(writes)
    assert all(data is not None and data.endswith(b"\n") and data.count(b"\n") == 1 for data in writes)
    assert b"".join(w for w in writes if w) == out.getvalue()


def test_a_failed_run_ends_with_one_error_line() -> None:
    out = io.BytesIO()
    model = FailingModel("claude-haiku-4-5")
    run = EventRun(model, "hi")
    with pytest.raises(ProviderError):
        run_reply(model, [HumanMessage(content="hi")], JsonlRenderer(out, run), Mode.STREAM, run_id=run.run_id)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [event["event"] for event in events] == [START, STREAM, STREAM, ERROR]
    error = events[-1]
    assert list(error) == KEY_ORDER[ERROR]
    assert (error["run_id"], error["name"], error["metadata"]) == (run.run_id, "ChatAnthropic", events[0]["metadata"])
    assert error["data"] == {
        "error": {"type": "overloaded_error", "message": "Overloaded", "status": 200, "exit_code": 4}
    }


# --- the CLI ------------------------------------------------------------------------------------------------


def test_cli_events_are_all_stdout_carries() -> None:
    result = run_cli(*POET, SONG)
    assert (result.exit_code, result.stderr) == (0, "")
    events = lines_of(result)
    assert [events[0]["event"], events[-1]["event"]] == [START, END]
    text = "".join(event["data"]["chunk"]["content"] for event in events if event["event"] == STREAM)
    assert text == events[-1]["data"]["output"]["content"] == content_text(poet().invoke(SONG).content)


def test_cli_async_events_equal_sync_events() -> None:
    sync, in_async = run_cli(*POET, "--thinking", SONG), run_cli(*POET, "--thinking", "--async", SONG)
    assert masked_lines(lines_of(sync)) == masked_lines(lines_of(in_async))


def test_no_stream_gives_start_and_end_only() -> None:
    events = lines_of(run_cli(*POET, "--no-stream", SONG))
    assert [event["event"] for event in events] == [START, END]
    output = events[-1]["data"]["output"]
    # invoke's reply is an AIMessage, as LangChain reports a model that does not stream
    assert (output["type"], output["id"]) == ("ai", f"lc_run--{events[0]['run_id']}-0")
    assert list(output) == CHUNK_KEYS[:-2]
    assert output["content"] == content_text(poet().invoke(SONG).content)


def test_events_and_json_together_are_a_usage_error() -> None:
    result = run_cli(*POET, "--json", SONG)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("chatstream: error: --events and --json")


def test_an_error_before_the_run_starts_writes_no_events() -> None:
    result = run_cli("-m", "builtin:poet", "-o", "no_such_option", "1", SONG)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("chatstream: error: unknown option")


# --- failures of a real process ------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["stream", "async"])
def test_ctrl_c_mid_stream_ends_with_an_interrupted_line(driver: str) -> None:
    argv = [*CHATSTREAM, "--events", "-m", "builtin:poet", "-o", "delay_ms", "20", "-o", "verses", "50", SONG]
    if driver == "async":
        argv.insert(-1, "--async")
    with subprocess.Popen(argv, env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        head = [process.stdout.readline() for _ in range(8)]  # the reply is streaming
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    events = [json.loads(line) for line in (b"".join(head) + rest).decode().splitlines()]
    assert process.returncode == 130
    assert events[0]["event"] == START
    assert all(event["event"] == STREAM for event in events[1:-1])
    assert events[-1]["event"] == ERROR
    assert events[-1]["data"]["error"] == {
        "type": "interrupted",
        "message": "interrupted",
        "status": None,
        "exit_code": 130,
    }


def test_provider_error_mid_stream_ends_with_its_error_line(loopback_server: LoopbackServer) -> None:  # noqa: F811
    require_provider("anthropic")
    loopback_server.enqueue(Reply.from_wire("anthropic_stream_midstream_error.sse"))
    result = run_cli_events(loopback_server, "anthropic", "claude-haiku-4-5", "Greet me in two short sentences.")
    assert result.returncode == 4
    assert result.stderr.startswith("chatstream: error: ") and result.stderr.count("\n") == 1
    assert FAKE_KEY not in result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["event"] for event in events] == [START, STREAM, STREAM, STREAM, ERROR]
    assert "".join(event["data"]["chunk"]["content"] for event in events[1:-1]) == "Hello there"
    error = events[-1]["data"]["error"]
    assert list(error) == ["type", "message", "status", "exit_code"]
    assert error == {"type": "overloaded_error", "message": "Overloaded", "status": 200, "exit_code": 4}
