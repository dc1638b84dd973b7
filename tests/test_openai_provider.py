"""The OpenAI-compatible provider against the loopback server speaking OpenAI's wire format.

Chunks are compared with LangChain's own output (fixtures/*/openai.stream.jsonl); the wire variations
(spacing, comments, CRLF, splits at every byte, UTF-8 split across packets, [DONE] or EOF) must all give
the same reply; every failure ends in the cli.md error class, with the text already streamed kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
from typing import Any

import pytest
from typer.testing import CliRunner

from chatstream_cli import keys
from chatstream_cli.cli import app
from chatstream_cli.errors import AuthError, ConfigError, NetworkError, ProviderError, UnknownModelError, UsageError
from chatstream_cli.messages import AIMessageChunk, thinking_text
from chatstream_cli.providers import PROVIDERS
from chatstream_cli.providers.openai.chat import ChatOpenAI, base_url_for, chunk_from_data, usage_metadata_from
from chatstream_cli.runnable import ModelSettings
from chatstream_cli.usage import Report
from tests.conftest import CHATSTREAM, FIXTURES, WIRE, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

PROMPT = "Greet me in two short sentences."
FAKE_KEY = "sk-test-openai-0123456789"
WIRE_TEXT = (WIRE / "openai_stream_text.sse").read_bytes()
REPLY = "Hello there! It is nice to meet you."
_IDS = re.compile(r"lc_run--[0-9a-f-]+")


# --- helpers ------------------------------------------------------------------------------------------


@pytest.fixture
def server(loopback_server: LoopbackServer) -> LoopbackServer:  # noqa: F811  (takes the imported fixture)
    return loopback_server


def make_model(
    server: LoopbackServer, *, provider: str = "openai", model: str = "gpt-4o-mini", **settings: Any
) -> ChatOpenAI:
    settings.setdefault("api_key", FAKE_KEY)
    settings.setdefault("retries", 0)
    settings.setdefault("timeout", 5.0)
    return ChatOpenAI(model, ModelSettings(base_url=server.base_url + "/v1", **settings), provider=provider)


def collect(model: ChatOpenAI, mode: str, prompt: Any = PROMPT) -> list[AIMessageChunk]:
    if mode == "astream":

        async def gather() -> list[AIMessageChunk]:
            return [chunk async for chunk in model.astream(prompt)]

        return asyncio.run(gather())
    return list(model.stream(prompt))


def collect_until_error(model: ChatOpenAI, mode: str) -> tuple[list[AIMessageChunk], BaseException]:
    """The chunks streamed before the failure, and the failure."""
    got: list[AIMessageChunk] = []

    async def agather() -> None:
        async for chunk in model.astream(PROMPT):
            got.append(chunk)

    with pytest.raises(Exception) as caught:
        if mode == "astream":
            asyncio.run(agather())
        else:
            for chunk in model.stream(PROMPT):
                got.append(chunk)
    return got, caught.value


def text_of(chunks: list[AIMessageChunk]) -> str:
    return "".join(chunk.content for chunk in chunks if isinstance(chunk.content, str))


def masked(chunk: dict[str, Any]) -> dict[str, Any]:
    """A chunk dict with the run id masked and the fixture-only ``lc_class`` dropped."""
    data = {key: value for key, value in json.loads(json.dumps(chunk)).items() if key != "lc_class"}
    data["id"] = _IDS.sub("lc_run--<id>", data["id"] or "")
    return data


def fixture_chunks(scenario: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / scenario / "openai.stream.jsonl").read_text().splitlines()
    return [masked(json.loads(line)) for line in lines]


def completion_chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta if delta is not None else {}, "logprobs": None, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m", "choices": [choice], **extra}


def sse(
    events: list[Any], *, line_end: str = "\n", space: bool = True, done: bool = True, noise: bool = False
) -> bytes:
    """An OpenAI-style event stream of ``events`` (dicts as JSON, strings verbatim)."""
    prefix = "data: " if space else "data:"
    blocks = []
    for event in events:
        payload = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        lines = [f"{prefix}{payload}"]
        if noise:  # a comment, and fields a client must ignore
            lines = [": keep-alive", "id: 7", "retry: 100", "x-unknown: yes", *lines]
        blocks.append(line_end.join(lines) + line_end + line_end)
    if done:
        blocks.append(f"{prefix}[DONE]{line_end}{line_end}")
    return "".join(blocks).encode()


def reply_events(pieces: list[str], usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A whole reply: role chunk, one chunk per piece, finish chunk, and a usage chunk when given."""
    events = [completion_chunk({"role": "assistant", "content": ""})]
    events += [completion_chunk({"content": piece}) for piece in pieces]
    events.append(completion_chunk(finish="stop"))
    if usage is not None:
        events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage})
    return events


USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


# --- LangChain's chunks -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_text_stream_chunks_equal_langchains(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT))
    chunks = collect(make_model(server), mode)
    assert [masked(chunk.to_dict()) for chunk in chunks] == fixture_chunks("short")


def thinking_stream() -> tuple[bytes, str]:
    """The reasoning stream fixtures/thinking/openai.* were made from: meta.json's reasoning, one
    ``reasoning_content`` delta per word or punctuation mark, after the role chunk of the text stream."""
    meta = json.loads((FIXTURES / "thinking" / "openai.meta.json").read_text())
    sent = meta["server_sent"]
    pieces = re.findall(r" ?\w+|[^\w\s]", sent["thinking"])
    field = sent["openai_reasoning_field"]
    events = [json.loads(line[6:]) for line in WIRE_TEXT.decode().splitlines() if line.startswith("data: {")]
    role, rest = events[0], events[1:]
    reasoning = [{**role, "choices": [{**role["choices"][0], "delta": {field: piece}}]} for piece in pieces]
    usage = rest[-1]["usage"]
    usage["completion_tokens"] += len(pieces)
    usage["total_tokens"] += len(pieces)
    usage["completion_tokens_details"]["reasoning_tokens"] = len(pieces)
    return sse([role, *reasoning, *rest]), sent["thinking"]


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_reasoning_stream_chunks_equal_langchains_plus_the_reasoning(server: LoopbackServer, mode: str) -> None:
    stream, thinking = thinking_stream()
    server.enqueue(Reply.sse(stream))
    chunks = collect(make_model(server), mode)
    ours = [masked(chunk.to_dict()) for chunk in chunks]
    reasoning = [chunk["additional_kwargs"].pop("reasoning_content", "") for chunk in ours]
    assert ours == fixture_chunks("thinking")
    assert "".join(reasoning) == thinking
    total = sum(chunks[1:], chunks[0])
    assert total.content == REPLY
    assert thinking_text(total) == thinking  # what a terminal shows as thinking


def test_request_is_chatopenais(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT))
    list(make_model(server).stream(PROMPT))
    request = server.requests[0]
    expected = json.loads((FIXTURES / "short" / "openai.requests.jsonl").read_text().splitlines()[0])
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.json == expected["body"]
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert request.headers["content-type"] == "application/json"


def test_settings_and_options_go_into_the_body(server: LoopbackServer) -> None:
    server.enqueue_many([Reply.sse(WIRE_TEXT), Reply.sse(WIRE_TEXT)])
    settings = {"temperature": 0.2, "max_tokens": 50, "stop": ("\n\n",), "options": {"top_p": 0.9, "seed": 1}}
    list(make_model(server, **settings).stream([("system", "Be brief."), ("human", "Hi")]))
    list(make_model(server, provider="ollama", model="llama3.2", max_tokens=50).stream("Hi"))
    openai_body, ollama_body = (request.json for request in server.requests)
    assert openai_body["messages"] == [{"content": "Be brief.", "role": "system"}, {"content": "Hi", "role": "user"}]
    assert (openai_body["temperature"], openai_body["max_completion_tokens"]) == (0.2, 50)
    assert (openai_body["stop"], openai_body["top_p"], openai_body["seed"]) == (["\n\n"], 0.9, 1)
    assert ollama_body["max_tokens"] == 50
    assert "max_completion_tokens" not in ollama_body


def test_reserved_options_are_refused(server: LoopbackServer) -> None:
    with pytest.raises(UsageError, match="-o stream"):
        make_model(server, options={"stream": False})


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_invoke_equals_langchains(server: LoopbackServer, mode: str) -> None:
    expected = json.loads((FIXTURES / "short" / "openai.invoke.json").read_text())
    meta, usage = expected["response_metadata"], expected["response_metadata"]["token_usage"]
    usage = {key: value for key, value in usage.items() if value is not None}
    for details in ("prompt_tokens_details", "completion_tokens_details"):
        usage[details] = {key: value for key, value in usage[details].items() if value is not None}
    body = {
        "id": meta["id"],
        "object": "chat.completion",
        "model": meta["model_name"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": expected["content"], "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        "service_tier": meta["service_tier"],
        "system_fingerprint": meta["system_fingerprint"],
    }
    server.enqueue(Reply.json(body))
    model = make_model(server)
    message = model.invoke(PROMPT) if mode == "invoke" else asyncio.run(model.ainvoke(PROMPT))
    ours = message.to_dict()
    assert server.requests[0].json == {
        "model": "gpt-4o-mini",
        "stream": False,
        "messages": [{"content": PROMPT, "role": "user"}],
    }
    expected_meta = {**meta, "token_usage": usage}
    assert ours["response_metadata"] == expected_meta
    assert list(ours["response_metadata"]) == list(meta)
    for field in ("content", "additional_kwargs", "type", "usage_metadata", "tool_calls", "invalid_tool_calls"):
        assert ours[field] == expected[field], field
    assert ours["id"].endswith("-0")


# --- what servers send --------------------------------------------------------------------------------

VARIANTS = {
    "per event": {"split": "event"},
    "every byte": {"split": "byte"},
    "7-byte pieces": {"split": 7},
    "per line": {"split": "line"},
}
FORMATS = {
    "plain": {},
    "no space after data:": {"space": False},
    "comments and unknown fields": {"noise": True},
    "CRLF": {"line_end": "\r\n"},
    "CR": {"line_end": "\r"},
    "EOF without [DONE]": {"done": False},
}


@pytest.mark.parametrize("split", list(VARIANTS))
@pytest.mark.parametrize("form", list(FORMATS))
def test_every_wire_form_gives_the_same_reply(server: LoopbackServer, form: str, split: str) -> None:
    pieces = ["Grüße", " vom", " Mond", " 🌙", " 日本語", "!"]
    server.enqueue(Reply.sse(sse(reply_events(pieces, USAGE), **FORMATS[form]), **VARIANTS[split]))
    chunks = list(make_model(server).stream("hi"))
    assert [chunk.content for chunk in chunks[1:7]] == pieces
    assert chunks[-2].usage_metadata == {
        "input_tokens": 5,
        "output_tokens": 3,
        "total_tokens": 8,
        "input_token_details": {},
        "output_token_details": {},
    }
    assert chunks[-1].chunk_position == "last"


def test_stream_stops_reading_at_done(server: LoopbackServer) -> None:
    stream = sse(reply_events(["Hi"])) + sse([completion_chunk({"content": " ignored"})])
    server.enqueue(Reply.sse(stream))
    assert text_of(list(make_model(server).stream("hi"))) == "Hi"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_finish_reason_then_end_of_body_is_complete(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.sse(sse(reply_events(["Hi", "!"]), done=False)))
    assert text_of(collect(make_model(server), mode)) == "Hi!"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_stream_cut_before_its_end_is_a_network_error(server: LoopbackServer, mode: str) -> None:
    events = [completion_chunk({"role": "assistant", "content": ""}), completion_chunk({"content": "Hel"})]
    server.enqueue(Reply.sse(sse(events, done=False)))
    chunks, error = collect_until_error(make_model(server), mode)
    assert text_of(chunks) == "Hel"
    assert isinstance(error, NetworkError) and error.exit_code == 5
    assert "ended before the reply was complete" in str(error)


def test_server_without_usage(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(sse(reply_events(["Hi", "!"]))))
    chunks = list(
        make_model(server, provider="lmstudio", model="qwen", api_key=None, options={"stream_usage": False}).stream(
            "hi"
        )
    )
    assert "stream_options" not in server.requests[0].json
    assert "authorization" not in server.requests[0].headers  # a local server needs no key
    assert [chunk.usage_metadata for chunk in chunks] == [None] * 5
    assert [chunk.content for chunk in chunks] == ["", "Hi", "!", "", ""]
    assert chunks[3].response_metadata == {"finish_reason": "stop", "model_name": "m", "model_provider": "openai"}


def test_choices_empty_chunk_without_usage_is_an_empty_chunk(server: LoopbackServer) -> None:
    events = [*reply_events(["Hi"]), {"id": "chatcmpl-1", "choices": []}]
    server.enqueue(Reply.sse(sse(events)))
    chunks = list(make_model(server).stream("hi"))
    assert chunks[-2].to_dict() | {"id": None} == AIMessageChunk(content="").to_dict()


def test_usage_on_the_finish_chunk(server: LoopbackServer) -> None:
    # llama.cpp sends the usage with the last choice (and timings), not in a choices-less chunk
    events = reply_events(["Hi"])
    events[-1] = completion_chunk(finish="length", usage=USAGE, timings={"predicted_ms": 3.0})
    server.enqueue(Reply.sse(sse(events)))
    chunks = list(make_model(server, provider="llamacpp").stream("hi"))
    assert chunks[-2].response_metadata["finish_reason"] == "length"
    assert chunks[-2].usage_metadata is not None
    assert chunks[-2].usage_metadata["total_tokens"] == 8


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields_stay_out_of_the_content(server: LoopbackServer, field: str) -> None:
    events = reply_events(["4"])
    events.insert(1, completion_chunk({field: "2 plus 2"}))
    events.insert(2, completion_chunk({field: " is 4."}))
    server.enqueue(Reply.sse(sse(events)))
    chunks = list(make_model(server, provider="vllm").stream("2+2?"))
    total = sum(chunks[1:], chunks[0])
    assert total.content == "4"
    assert total.additional_kwargs == {"reasoning_content": "2 plus 2 is 4."}
    assert thinking_text(total) == "2 plus 2 is 4."


def test_asking_for_several_choices_is_refused(server: LoopbackServer) -> None:
    with pytest.raises(UsageError, match="-o n 2 asks for 2 replies"):
        make_model(server, options={"n": 2})
    assert make_model(server, options={"n": 1}).extra_body == {"n": 1}


def test_several_choices_are_refused_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
    result = CliRunner().invoke(app, ["-m", "openai:gpt-4o-mini", "-o", "n", "2", "hi"])
    assert result.exit_code == 2
    assert (
        result.stderr
        == "chatstream: error: -o n 2 asks for 2 replies, and chatstream shows one (run it 2 times instead)\n"
    )


def test_several_choices_sent_anyway_are_read_as_chatopenai_reads_them(server: LoopbackServer) -> None:
    """Each chunk is its first choice's delta (so the replies mix, as in ChatOpenAI); the report says how many
    there were and gives one stop reason, where the merged metadata says "stopstop"."""

    def choice(index: int, content: str | None = None, finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": {"content": content} if content else {}, "finish_reason": finish}

    events = [
        {"id": "c", "model": "m", "choices": [choice(1, "Other "), choice(0, "One ")]},
        {"id": "c", "model": "m", "choices": [choice(1, "answer")]},
        {"id": "c", "model": "m", "choices": [choice(0, "reply")]},
        {"id": "c", "model": "m", "choices": [choice(0, finish="stop")]},
        {"id": "c", "model": "m", "choices": [choice(1, finish="stop")]},
    ]
    server.enqueue(Reply.sse(sse(events)))
    chunks = list(make_model(server).stream("hi"))
    total = sum(chunks[1:], chunks[0])
    assert total.text == "Other answerreply"
    assert total.response_metadata["finish_reason"] == "stopstop"
    assert total.report == Report(None, "stop", choices=2, model="m")


def test_tool_call_deltas_become_tool_call_chunks(server: LoopbackServer) -> None:
    server.enqueue(Reply.from_wire("openai_stream_tool_calls.sse"))
    chunks = list(make_model(server).stream("weather in Paris?"))
    total = sum(chunks[1:], chunks[0])
    assert total.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": total.tool_calls[0]["id"], "type": "tool_call"}
    ]
    assert total.response_metadata["finish_reason"] == "tool_calls"


def test_usage_metadata_arithmetic() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 30, "audio_tokens": None},
        "completion_tokens_details": {"reasoning_tokens": 10},
    }
    assert usage_metadata_from(usage, "flex") == {
        "input_tokens": 100,
        "output_tokens": 40,
        "total_tokens": 140,
        "input_token_details": {"flex_cache_read": 30, "flex": 70},
        "output_token_details": {"flex_reasoning": 10, "flex": 30},
    }
    assert chunk_from_data({"choices": [{"index": 0, "delta": None}]}) is None


# --- failures inside a 200 response -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_midstream_error_keeps_the_text(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.from_wire("openai_stream_midstream_error.sse"))
    chunks, error = collect_until_error(make_model(server, retries=2), mode)
    assert text_of(chunks) == "Hello there"
    assert isinstance(error, ProviderError) and error.exit_code == 4
    assert (error.error_type, error.status) == ("server_error", 200)
    assert "The server had an error while processing your request" in str(error)
    assert len(server.requests) == 1  # text was shown: no retry


@pytest.mark.parametrize(
    ("error_event", "said"),
    [
        (  # OpenRouter: the error beside a choice that finishes with "error"
            completion_chunk(
                {"content": ""}, "error", error={"code": "server_error", "message": "Provider disconnected"}
            ),
            "Provider disconnected (server_error)",
        ),
        (  # vLLM: the error object is the whole event
            {"object": "error", "message": "out of KV cache", "type": "BadRequestError", "code": 400},
            "out of KV cache (BadRequestError)",
        ),
    ],
    ids=["openrouter", "vllm"],
)
@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_midstream_error_shapes_of_other_servers(
    server: LoopbackServer, error_event: dict[str, Any], said: str, mode: str
) -> None:
    server.enqueue(Reply.sse(sse([completion_chunk({"content": "Hello"}), error_event])))
    chunks, error = collect_until_error(make_model(server), mode)
    assert text_of(chunks) == "Hello"
    assert isinstance(error, ProviderError) and error.exit_code == 4
    assert said in str(error)


def test_a_null_error_member_is_no_error(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(sse([completion_chunk({"content": "Hi"}, error=None), completion_chunk(finish="stop")])))
    assert text_of(list(make_model(server).stream("hi"))) == "Hi"


def test_error_before_the_first_token_is_retried(server: LoopbackServer) -> None:
    failing = sse(
        [completion_chunk({"role": "assistant", "content": ""}), {"error": {"message": "busy", "type": "server_error"}}]
    )
    server.enqueue_many([Reply.sse(failing), Reply.sse(sse(reply_events(["Hi"])))])
    notices: list[str] = []
    chunks = list(make_model(server, retries=1, on_notice=notices.append).stream("hi"))
    assert text_of(chunks) == "Hi"
    assert len(server.requests) == 2
    assert len(notices) == 1 and "retrying" in notices[0]
    assert [chunk.content for chunk in chunks].count("") == 3  # one role chunk: the failed attempt left none


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"data: {not json\n\n", "not a JSON object"),
        (b"", "not an OpenAI-compatible event stream"),
        (b"<html><body>Bad gateway</body></html>", "not an OpenAI-compatible event stream"),
        (b'event: error\ndata: {"message": "quota", "type": "insufficient_quota"}\n\n', "quota"),
    ],
    ids=["invalid JSON", "empty stream", "HTML", "event: error"],
)
def test_malformed_streams_are_provider_errors(server: LoopbackServer, stream: bytes, message: str) -> None:
    server.enqueue(Reply(headers=[("content-type", "text/event-stream")], chunks=[stream] if stream else None))
    with pytest.raises(ProviderError, match=message) as caught:
        list(make_model(server).stream("hi"))
    assert caught.value.exit_code == 4


def test_json_error_instead_of_a_stream(server: LoopbackServer) -> None:
    server.enqueue(Reply.json({"error": {"message": "model is loading", "type": "unavailable"}}))
    with pytest.raises(ProviderError, match="model is loading"):
        list(make_model(server, provider="ollama").stream("hi"))


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_server_that_does_not_stream(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.from_wire("openai_nonstream.json"))
    chunks = collect(make_model(server), mode)
    assert text_of(chunks) == "Hello! This is a mock reply from the local test server."
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata["total_tokens"] == 21


def test_events_under_a_json_content_type(server: LoopbackServer) -> None:
    server.enqueue(Reply(headers=[("content-type", "application/json")], body=WIRE_TEXT))
    assert text_of(list(make_model(server).stream("hi"))) == REPLY


# --- HTTP errors and retries --------------------------------------------------------------------------


def error_reply(status: int, message: str = "nope", headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply.json(
        {"error": {"message": message, "type": "x", "param": None, "code": None}}, status=status, headers=headers or []
    )


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, ProviderError, 4),
        (401, AuthError, 3),
        (403, AuthError, 3),
        (404, UnknownModelError, 3),
        (413, ProviderError, 4),
        (429, ProviderError, 4),
        (500, ProviderError, 4),
        (502, ProviderError, 4),
        (503, ProviderError, 4),
        (504, ProviderError, 4),
    ],
)
@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_http_errors_map_to_exit_codes(
    server: LoopbackServer, status: int, error_class: type, code: int, mode: str
) -> None:
    # A 404 about the model (a 404 about anything else is a wrong endpoint, below).
    message = f"the API says {status}" + (": model 'm' not found" if status == 404 else "")
    server.default = error_reply(status, message=message, headers=[("retry-after", "0")])
    chunks, error = collect_until_error(make_model(server, retries=1), mode)
    assert chunks == []
    assert type(error) is error_class and error.exit_code == code
    assert f"HTTP {status}" in str(error) and f"the API says {status}" in str(error)
    assert FAKE_KEY not in str(error)
    retried = status in (429, 500, 502, 503, 504)
    assert len(server.requests) == (2 if retried else 1)


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_redirect_is_not_followed_and_says_where_it_points(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply(status=301, headers=[("location", "https://moved.example/v1/chat/completions")]))
    chunks, error = collect_until_error(make_model(server), mode)
    assert chunks == []
    assert isinstance(error, ProviderError) and error.exit_code == 4
    assert "redirected the request to https://moved.example/v1/chat/completions (HTTP 301)" in str(error)
    assert len(server.requests) == 1


def test_rejected_key_says_how_to_set_one(server: LoopbackServer) -> None:
    server.enqueue(error_reply(401, message=f"Incorrect API key provided: {FAKE_KEY}"))
    with pytest.raises(AuthError) as caught:
        list(make_model(server).stream("hi"))
    assert "chatstream keys set openai" in str(caught.value)
    assert FAKE_KEY not in str(caught.value)


def test_retry_after_is_honoured_then_success(server: LoopbackServer) -> None:
    server.enqueue_many([error_reply(429, headers=[("retry-after", "0.05")]), Reply.sse(WIRE_TEXT)])
    notices: list[str] = []
    chunks = list(make_model(server, retries=2, on_notice=notices.append).stream(PROMPT))
    assert text_of(chunks) == REPLY
    assert len(server.requests) == 2
    limited_by = server.named_as("openai")
    assert notices == [f"rate limited by {limited_by} (HTTP 429: nope); retrying in 0.05 s (attempt 2 of 3)"]


def test_html_error_page_from_a_proxy(server: LoopbackServer) -> None:
    server.enqueue(Reply(status=502, headers=[("content-type", "text/html")], body=b"<html>Bad Gateway</html>"))
    with pytest.raises(ProviderError, match=r"HTTP 502\)") as caught:
        list(make_model(server).stream("hi"))
    assert "<html>" not in str(caught.value)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_invoke_retries_and_maps_errors(server: LoopbackServer, mode: str) -> None:
    server.enqueue_many([error_reply(503, headers=[("retry-after", "0")]), error_reply(400, message="bad request")])
    model = make_model(server, retries=1)
    with pytest.raises(ProviderError, match="bad request"):
        model.invoke("hi") if mode == "invoke" else asyncio.run(model.ainvoke("hi"))
    assert len(server.requests) == 2


# --- the network --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_dropped_connection_keeps_the_text(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT, drop_after=4))
    chunks, error = collect_until_error(make_model(server, retries=2), mode)
    assert text_of(chunks) == "Hello there!"
    assert isinstance(error, NetworkError) and error.exit_code == 5
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_stall_longer_than_the_timeout(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT, stall_after=3))
    chunks, error = collect_until_error(make_model(server, timeout=0.3), mode)
    assert text_of(chunks) == "Hello there"
    assert isinstance(error, NetworkError) and f"no data from {server.named_as('openai')} for 0.3 s" in str(error)
    assert server.wait_for_disconnect()


def test_server_that_never_answers(server: LoopbackServer) -> None:
    server.enqueue(Reply(no_response=True))
    with pytest.raises(NetworkError, match="no data"):
        list(make_model(server, timeout=0.3).stream("hi"))


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_connection_refused(mode: str) -> None:
    settings = ModelSettings(base_url=f"http://127.0.0.1:{unused_port()}/v1", retries=0)
    model = ChatOpenAI("llama3.2", settings, provider="ollama")
    _, error = collect_until_error(model, mode)
    assert isinstance(error, NetworkError) and error.exit_code == 5
    assert "connection refused" in str(error)


def test_closing_the_stream_closes_the_connection(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT, delay_s=0.2))
    stream = make_model(server).stream("hi")
    next(stream)
    next(stream)
    stream.close()
    assert server.wait_for_disconnect()


def test_ctrl_c_closes_the_stream(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(sse(reply_events([f" word{n}" for n in range(100)])), delay_s=0.05))
    argv = [*CHATSTREAM, "-m", "openai:gpt-4o-mini", "--base-url", server.base_url + "/v1", "hi"]

    def default_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    env = cli_env(OPENAI_API_KEY=FAKE_KEY)
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=default_sigint
    ) as process:
        assert process.stdout is not None
        first = os.read(process.stdout.fileno(), 64)
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert (first + rest).decode().startswith(" word0")
    assert b"Traceback" not in stderr
    assert server.wait_for_disconnect()


# --- endpoints and keys -------------------------------------------------------------------------------


def test_presets_are_registered() -> None:
    urls = {
        name: PROVIDERS[name].base_url for name in ("openai", "ollama", "lmstudio", "vllm", "llamacpp", "openrouter")
    }
    assert urls["openai"] == "https://api.openai.com/v1"
    assert urls["ollama"] == "http://localhost:11434/v1"
    assert not any(PROVIDERS[name].needs_key for name in ("ollama", "lmstudio", "vllm", "llamacpp"))
    assert PROVIDERS["openrouter"].key_env == "OPENROUTER_API_KEY"


@pytest.mark.parametrize("provider", ["openai", "openrouter"])
def test_missing_key_says_how_to_set_one(provider: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ChatOpenAI("m", provider=provider)
    assert caught.value.exit_code == 3
    assert f"chatstream keys set {provider}" in str(caught.value)
    assert PROVIDERS[provider].key_env in str(caught.value)


def test_base_url_from_the_environment_and_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.example/v1/")
    assert ChatOpenAI("m").base_url == "http://env.example/v1"
    assert ChatOpenAI("m", base_url="http://flag.example/v1").base_url == "http://flag.example/v1"
    assert ChatOpenAI("m", provider="ollama").base_url == "http://localhost:11434/v1"  # OPENAI_BASE_URL is openai's
    with pytest.raises(UsageError, match="http"):
        ChatOpenAI("m", base_url="localhost:8000")


def test_stored_key_is_used_and_the_environment_wins(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    keys.store_key("openai", "sk-stored")
    server.enqueue_many([Reply.sse(WIRE_TEXT), Reply.sse(WIRE_TEXT)])
    settings = ModelSettings(base_url=server.base_url + "/v1", retries=0)
    list(ChatOpenAI("m", settings).stream("hi"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    list(ChatOpenAI("m", settings).stream("hi"))
    assert [request.headers["authorization"] for request in server.requests] == [
        "Bearer sk-stored",
        "Bearer sk-from-env",
    ]


REFUSAL = "I'm sorry, I can't help with that."


def refusal_stream() -> bytes:
    """A refusal as OpenAI streams it: ``refusal`` deltas, ``content`` null throughout."""
    events = [completion_chunk({"role": "assistant", "content": None, "refusal": ""})]
    events += [
        completion_chunk({"content": None, "refusal": piece})
        for piece in ("I'm sorry,", " I can't", " help with that.")
    ]
    events.append(completion_chunk(finish="stop"))
    return sse(events)


def refusal_completion() -> dict[str, Any]:
    message = {"role": "assistant", "content": None, "refusal": REFUSAL}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [choice]}


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_streamed_refusal_is_in_the_report_not_the_chunks(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.sse(refusal_stream()))
    chunks = collect(make_model(server), mode)
    assert [(chunk.content, chunk.additional_kwargs) for chunk in chunks] == [("", {})] * len(chunks)  # ChatOpenAI's
    total = sum(chunks[1:], chunks[0])
    assert total.additional_kwargs == {}
    assert total.report is not None and total.report.refusal == REFUSAL


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_a_refusal_reply_is_kept_in_additional_kwargs(server: LoopbackServer, mode: str) -> None:
    server.enqueue(Reply.json(refusal_completion()))
    model = make_model(server)
    message = model.invoke(PROMPT) if mode == "invoke" else asyncio.run(model.ainvoke(PROMPT))
    assert (message.content, message.additional_kwargs) == ("", {"refusal": REFUSAL})


# --- through the command line -------------------------------------------------------------------------


def run_cli(server: LoopbackServer, *args: str) -> Any:
    env = {"OPENAI_API_KEY": FAKE_KEY}
    return CliRunner().invoke(app, ["--base-url", server.base_url + "/v1", "--retries", "0", *args], env=env)


def test_cli_streams_the_reply(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT, split="byte"))
    result = run_cli(server, "-m", "gpt-4o-mini", "-d", "|", PROMPT)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Hello| there|!| It| is| nice| to| meet| you|.|\n"


def test_cli_midstream_error_exits_4_keeping_the_text(server: LoopbackServer) -> None:
    server.enqueue(Reply.from_wire("openai_stream_midstream_error.sse"))
    result = run_cli(server, "-m", "openai:gpt-4o-mini", PROMPT)
    assert result.exit_code == 4
    assert result.stdout.startswith("Hello there")
    stopped = f"chatstream: error: {server.named_as('openai')} stopped the reply"
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(stopped)
    assert FAKE_KEY not in result.stdout + result.stderr


def test_cli_reasoning_never_reaches_a_pipe(server: LoopbackServer) -> None:
    stream, thinking = thinking_stream()
    server.enqueue(Reply.sse(stream))
    result = run_cli(server, "-m", "openai:gpt-4o-mini", PROMPT)
    assert result.stdout == REPLY + "\n"
    assert thinking[:20] not in result.stdout


@pytest.mark.parametrize("view", ["--raw", "--markdown"])
def test_cli_reasoning_is_thinking_on_a_terminal(server: LoopbackServer, view: str) -> None:
    stream, thinking = thinking_stream()
    server.enqueue(Reply.sse(stream))
    env = {"OPENAI_API_KEY": FAKE_KEY, "FORCE_COLOR": "1"}
    argv = ["-m", "openai:gpt-4o-mini", "--base-url", server.base_url + "/v1", view, PROMPT]
    result = CliRunner().invoke(app, argv, env=env)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert result.exit_code == 0, result.stderr
    assert shown.index(thinking) < shown.index(REPLY)
    assert "\x1b[2" in result.stdout.split(REPLY)[0]  # dim, before the answer


@pytest.mark.parametrize(
    "mode", [[], ["--async"], ["--no-stream"], ["--quiet"]], ids=["stream", "async", "invoke", "quiet"]
)
def test_cli_says_the_model_refused_on_stderr(server: LoopbackServer, mode: list[str]) -> None:
    server.enqueue(Reply.json(refusal_completion()) if mode == ["--no-stream"] else Reply.sse(refusal_stream()))
    result = run_cli(server, "-m", "openai:gpt-4o-mini", *mode, PROMPT)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"chatstream: the model refused: {REFUSAL}\n"  # stderr is no terminal here
    assert REFUSAL not in result.stdout


def test_cli_refusal_events_are_chatopenais_streamed_chunks(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(refusal_stream()))
    result = run_cli(server, "-m", "openai:gpt-4o-mini", "--events", PROMPT)
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    streamed = [event["data"]["chunk"]["additional_kwargs"] for event in events[1:-1]]
    assert streamed == [{}] * len(streamed)  # ChatOpenAI keeps a refusal only in a whole reply
    end = events[-1]
    assert end["event"] == "on_chat_model_end"
    assert (end["data"]["output"]["content"], end["data"]["output"]["additional_kwargs"]) == ("", {})
    assert result.stderr == f"chatstream: the model refused: {REFUSAL}\n"


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        (error_reply(404, "Invalid URL (POST /chat/completions)"), "Invalid URL (POST /chat/completions)"),
        (Reply(status=404, body=b"404 page not found"), "404 page not found"),  # Ollama's own router
        (Reply.json({"detail": "Not Found"}, status=404), "Not Found"),  # vLLM (FastAPI)
    ],
)
def test_a_404_not_about_the_model_is_a_wrong_endpoint(server: LoopbackServer, reply: Reply, answer: str) -> None:
    server.default = reply
    chunks, error = collect_until_error(make_model(server, retries=1), "stream")
    assert chunks == []
    assert type(error) is ConfigError and error.exit_code == 3
    endpoint = f"{server.base_url}/v1/chat/completions"
    assert error.message == f"{server.named_as('openai')} has no chat endpoint at {endpoint} (HTTP 404: {answer})"
    assert "check the base URL" in str(error.hint)
    assert "does not know the model" not in str(error)


def test_a_base_url_without_a_path_gets_v1(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT))
    result = subprocess.run(
        [*CHATSTREAM, "-m", "ollama:llama3.2", "--base-url", server.base_url, "hi"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert server.requests[0].path == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("gpu-box", "http://gpu-box:11434/v1"),
        ("gpu-box:8080", "http://gpu-box:8080/v1"),
        ("https://ollama.example", "https://ollama.example:11434/v1"),
        ("http://10.0.0.2:11434", "http://10.0.0.2:11434/v1"),
        ("http://10.0.0.2:11434/v1", "http://10.0.0.2:11434/v1"),
    ],
)
def test_ollama_host_is_honoured_as_ollama_reads_it(monkeypatch: pytest.MonkeyPatch, host: str, expected: str) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert base_url_for(PROVIDERS["ollama"], None) == expected
    assert base_url_for(PROVIDERS["ollama"], "http://flag:1/v1") == "http://flag:1/v1"  # the flag still wins
    assert base_url_for(PROVIDERS["vllm"], None) == "http://localhost:8000/v1"  # only Ollama reads it


def test_ollama_host_reaches_the_server(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(WIRE_TEXT))
    host = server.base_url.removeprefix("http://")
    result = subprocess.run(
        [*CHATSTREAM, "-m", "ollama:llama3.2", "hi"],
        env=cli_env(OLLAMA_HOST=host),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Hello")
