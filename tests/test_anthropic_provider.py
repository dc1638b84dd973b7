"""The Anthropic provider against a real HTTP server on 127.0.0.1: chunks, requests, retries, failures.

Every test runs over both transports (httpx, the default, and the SDK), which must behave the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from chatstream_cli.errors import AuthError, ConfigError, NetworkError, ProviderError, UnknownModelError, UsageError
from chatstream_cli.messages import HumanMessage, SystemMessage
from chatstream_cli.providers import build, resolve
from chatstream_cli.providers.anthropic.max_tokens import max_output_tokens
from chatstream_cli.providers.anthropic.model import AnthropicChatModel
from chatstream_cli.runnable import ModelSettings
from tests.conftest import FIXTURES
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

MODEL = "claude-haiku-4-5"
KEY = "sk-ant-TESTKEY-0123456789"
GREETING = "Hello there! It is nice to meet you."
pytestmark = pytest.mark.usefixtures("anthropic_transport")
PROMPT = "Greet me in two short sentences."


# -- building server replies -----------------------------------------------------------------


def pieces(text: str) -> list[str]:
    """Split text the way the fixtures' server did: one piece per word or punctuation mark."""
    return re.findall(r" ?\w+|[^\w\s]", text)


def sse(events: list[dict[str, Any]]) -> str:
    return "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events)


def anthropic_stream(
    reply: str = GREETING,
    *,
    thinking: str | None = None,
    signature: str = "sig",
    usage: dict[str, Any] | None = None,
    model: str = MODEL,
    stop_reason: str = "end_turn",
) -> str:
    """A complete Anthropic SSE stream: message_start, an optional thinking block, the text, the end."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"model": model, "id": "msg_1", "type": "message", "role": "assistant", "content": []},
        }
    ]
    index = 0
    if thinking is not None:
        events.append(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}
        )
        events += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": piece}}
            for piece in pieces(thinking)
        ]
        events.append(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": signature}}
        )
        events.append({"type": "content_block_stop", "index": 0})
        index = 1
    events.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
    events.append({"type": "ping"})
    events += [
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
        for piece in pieces(reply)
    ]
    events.append({"type": "content_block_stop", "index": index})
    usage = usage or {"input_tokens": 16, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    usage = {"output_tokens": len(pieces(reply)), **usage}
    events.append(
        {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}
    )
    events.append({"type": "message_stop"})
    return sse(events)


def error_reply(status: int, kind: str, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    return Reply.json(body, status=status, headers=headers or [])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(loopback_server: LoopbackServer) -> LoopbackServer:  # noqa: F811
    return loopback_server


def claude(server: LoopbackServer, **settings: Any) -> AnthropicChatModel:
    settings = {"api_key": KEY, "base_url": server.base_url, "retries": 0, "timeout": 5.0, **settings}
    return AnthropicChatModel(MODEL, ModelSettings(**settings))


def masked(chunk: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in chunk.items() if key not in ("id", "lc_class")}


def as_json(items: list[dict[str, Any]]) -> list[str]:
    """JSON text, so that key order is compared too."""
    return [json.dumps(item) for item in items]


def fixture_lines(scenario: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / scenario / "anthropic.stream.jsonl").read_text().splitlines()
    return [masked(json.loads(line)) for line in lines]


def collect(model: AnthropicChatModel, prompt: Any = PROMPT, *, use_async: bool = False) -> list[Any]:
    if use_async:

        async def gather() -> list[Any]:
            return [chunk async for chunk in model.astream(prompt)]

        return asyncio.run(gather())
    return list(model.stream(prompt))


both_modes = pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])


# -- chunks equal LangChain's ------------------------------------------------------------------


@both_modes
def test_text_stream_equals_the_langchain_fixture(server: LoopbackServer, use_async: bool) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_text.sse", split="byte"))
    chunks = collect(claude(server), use_async=use_async)
    assert as_json([masked(chunk.to_dict()) for chunk in chunks]) == as_json(fixture_lines("short"))
    assert len({chunk.id for chunk in chunks}) == 1
    assert re.fullmatch(r"lc_run--[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", chunks[0].id)


@both_modes
def test_thinking_stream_equals_the_langchain_fixture(server: LoopbackServer, use_async: bool) -> None:
    """The stream the fixture's server sent (its meta.json), thinking requested as the fixture did."""
    sent = json.loads((FIXTURES / "thinking" / "anthropic.meta.json").read_text())["server_sent"]
    usage = {"input_tokens": 16, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    usage |= {"output_tokens": 20, "output_tokens_details": {"thinking_tokens": 10}}
    stream = anthropic_stream(sent["reply"], thinking=sent["thinking"], signature=sent["signature"], usage=usage)
    server.enqueue(Reply.sse(stream, split=7))
    chunks = collect(claude(server, thinking=True), use_async=use_async)
    assert as_json([masked(chunk.to_dict()) for chunk in chunks]) == as_json(fixture_lines("thinking"))
    assert server.requests[0].json["thinking"] == {"type": "adaptive", "display": "summarized"}


@both_modes
def test_recorded_thinking_stream_shows_thinking_then_text(server: LoopbackServer, use_async: bool) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_thinking.sse", split="line"))
    chunks = collect(claude(server, thinking=True), use_async=use_async)
    total = sum(chunks[1:], chunks[0])
    assert total.content == [
        {
            "thinking": "The user wants a greeting.",
            "type": "thinking",
            "index": 0,
            "signature": "EqQBCkgIARABGAIiQLJ4mockSignatureAAAA==",
        },
        {"text": "Hello there!", "type": "text", "index": 1},
    ]
    assert total.usage_metadata["output_token_details"] == {"reasoning": 6}


@both_modes
def test_invoke_equals_the_langchain_fixture(server: LoopbackServer, use_async: bool) -> None:
    server.enqueue(Reply.from_wire("anthropic_nonstream.json"))
    model = claude(server)
    message = asyncio.run(model.ainvoke(PROMPT)) if use_async else model.invoke(PROMPT)
    expected = json.loads((FIXTURES / "short" / "anthropic.invoke.json").read_text())
    ours = message.to_dict()
    assert re.fullmatch(r"lc_run--[0-9a-f-]{36}-0", ours.pop("id"))
    expected.pop("id"), expected.pop("lc_class")
    ours["response_metadata"]["id"] = expected["response_metadata"]["id"] = "<msg>"
    assert json.dumps(ours) == json.dumps(expected)  # same keys in the same order
    assert server.requests[0].json.get("stream") is None


def test_ls_params_always_carry_max_tokens(server: LoopbackServer) -> None:
    """And never ``ls_stop``: ChatAnthropic(stop=...) leaves it out (it reads only a stop given to the call)."""
    params = claude(server, stop=("END",)).ls_params()
    assert params == {
        "ls_provider": "anthropic",
        "ls_model_name": MODEL,
        "ls_model_type": "chat",
        "ls_temperature": None,
        "ls_max_tokens": max_output_tokens(MODEL),
    }
    assert list(params)[3:5] == ["ls_temperature", "ls_max_tokens"]  # LangChain's order
    assert claude(server, max_tokens=50).ls_params()["ls_max_tokens"] == 50


# -- the request -----------------------------------------------------------------------------


def test_request_carries_model_tokens_system_stop_and_key(server: LoopbackServer, anthropic_transport: str) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    model = claude(server, stop=("END", "STOP"))
    list(model.stream([SystemMessage(content="Be brief."), HumanMessage(content="hi")]))
    request = server.requests[0]
    assert request.path == "/v1/messages"
    assert request.json == {
        "max_tokens": 64000,  # claude-haiku-4-5's maximum output: the reply is never cut early
        "messages": [{"role": "user", "content": "hi"}],
        "model": MODEL,
        "stop_sequences": ["END", "STOP"],
        "stream": True,
        "system": "Be brief.",
    }
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2026-10-21"
    if anthropic_transport == "sdk":
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["x-stainless-retry-count"] == "0"
    else:
        assert "authorization" not in request.headers
        assert request.headers["user-agent"].startswith("chatstream/")
        assert request.headers["content-type"] == "application/json"


def test_history_keeps_roles_and_drops_stream_bookkeeping(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    earlier = [
        {"thinking": "Hm.", "type": "thinking", "index": 0, "signature": "s"},
        {"text": "Hi!", "type": "text", "index": 1},
    ]
    list(claude(server).stream([("human", "hello"), ("ai", earlier), ("human", "again")]))
    assert server.requests[0].json["messages"] == [
        {"role": "user", "content": "hello"},
        {
            "role": "assistant",
            "content": [{"thinking": "Hm.", "type": "thinking", "signature": "s"}, {"text": "Hi!", "type": "text"}],
        },
        {"role": "user", "content": "again"},
    ]


def test_sampling_parameters_are_sent_with_the_api_version_that_accepts_them(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    model = claude(server, temperature=0.3, options={"top_p": 0.9, "top_k": 40})
    list(model.stream("hi"))
    request = server.requests[0]
    assert request.json["temperature"] == 0.3
    assert request.json["top_p"] == 0.9
    assert request.json["top_k"] == 40
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["x-api-key"] == KEY


def test_thinking_budget_asks_for_budgeted_thinking_with_room_for_the_answer(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream(thinking="Let me think.")))
    model = claude(server, options={"thinking_budget": 2048})
    chunks = list(model.stream("hi"))
    body = server.requests[0].json
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}
    assert body["max_tokens"] == 64000  # the model's default leaves room enough after the budget
    assert isinstance(chunks[0].content, list)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"options": {"thinking_budget": 2048}, "max_tokens": 1000}, "must be less than --max-tokens 1000"),
        ({"options": {"top_p": 3}}, "-o top_p 3 is not valid"),
        ({"options": {"top_k": "many"}}, "-o top_k 'many' is not valid"),
        ({"options": {"model": "x"}}, "-o model cannot be set"),
        ({"options": {"cache": "yes"}}, "-o cache 'yes' is not valid"),
        ({"options": {"service_tier": "gold"}}, "-o service_tier 'gold' is not valid"),
        ({"options": {"transport": "carrier-pigeon"}}, "-o transport 'carrier-pigeon' is not valid"),
    ],
)
def test_bad_settings_are_usage_errors(server: LoopbackServer, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        claude(server, **settings)


def test_no_key_says_how_to_give_one() -> None:
    with pytest.raises(ConfigError) as caught:
        AnthropicChatModel(MODEL, ModelSettings())
    assert str(caught.value) == "no Anthropic API key (set ANTHROPIC_API_KEY or run `chatstream keys set anthropic`)"
    assert caught.value.exit_code == 3


def test_key_and_endpoint_come_from_the_environment(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.enqueue(Reply.sse(anthropic_stream("Hi.")))
    model = build(resolve("claude-3-haiku"), ModelSettings(retries=0))
    assert "".join(chunk.text for chunk in model.stream("hi")) == "Hi."
    assert server.requests[0].json["model"] == "claude-3-haiku-20240307"
    assert server.requests[0].json["max_tokens"] == 4096  # claude-3-haiku's maximum output
    assert server.requests[0].headers["x-api-key"] == KEY
    assert KEY not in repr(model)


def test_aliases_and_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve("claude-3-haiku").full_name == "anthropic:claude-3-haiku-20240307"
    assert resolve("haiku").full_name == "anthropic:claude-haiku-5-5"
    assert resolve("sonnet").full_name == "anthropic:claude-sonnet-5-5"
    assert resolve("opus").full_name == "anthropic:claude-opus-5-5"
    assert resolve("claude-whatever-9").full_name == "anthropic:claude-whatever-9"
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert resolve(None).full_name == "anthropic:claude-haiku-5-5"


# -- retries ---------------------------------------------------------------------------------


def test_rate_limit_is_retried_after_what_retry_after_says(server: LoopbackServer) -> None:
    notices: list[str] = []
    server.enqueue(error_reply(429, "rate_limit_error", "Slow down.", [("retry-after-ms", "10")]))
    server.enqueue(Reply.sse(anthropic_stream()))
    chunks = list(claude(server, retries=2, on_notice=notices.append).stream("hi"))
    assert "".join(chunk.text for chunk in chunks) == GREETING
    assert notices == [
        f"rate limited by {server.named_as('anthropic')} (HTTP 429: Slow down.); retrying in 0.01 s (attempt 2 of 3)",
    ]
    assert len(server.requests) == 2  # with the SDK too, chatstream's policy is the only one


@both_modes
def test_overload_replayed_from_the_wire_is_retried(server: LoopbackServer, use_async: bool) -> None:
    notices: list[str] = []
    recorded = Reply.from_wire_error("anthropic_http_529")  # no retry-after: ask for a short wait
    overloaded = dataclasses.replace(recorded, headers=[*recorded.headers, ("retry-after-ms", "10")])
    server.enqueue_many([overloaded, overloaded, Reply.sse(anthropic_stream())])
    chunks = collect(claude(server, retries=2, on_notice=notices.append), use_async=use_async)
    assert "".join(chunk.text for chunk in chunks) == GREETING
    assert len(server.requests) == 3
    overload = f"{server.named_as('anthropic')} is overloaded (HTTP 529: Overloaded)"
    assert [notice.split(";")[0] for notice in notices] == [overload] * 2
    assert notices[1].endswith("(attempt 3 of 3)")


def test_a_huge_retry_after_is_capped_and_says_so(server: LoopbackServer) -> None:
    from chatstream_cli.retry import RetryPolicy

    notices: list[str] = []
    server.enqueue(error_reply(429, "rate_limit_error", "Later.", [("retry-after", "3600")]))
    failure = claude(server).classify(_status_error(server))
    wait = RetryPolicy(retries=1, on_notice=notices.append).next_wait(failure, 1)
    assert wait == 60
    assert "the server asked for 3600 s; chatstream waits at most 60 s" in notices[0]
    assert "retrying in 60 s (attempt 2 of 2)" in notices[0]


def _status_error(server: LoopbackServer) -> Exception:
    """The transport's exception for the next queued error reply."""
    model = claude(server)
    try:
        model.transport.message(model.request_body([HumanMessage(content="x")], stream=False))
    except Exception as exc:
        return exc
    raise AssertionError("the server did not fail")


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (429, "rate_limit_error", "rate limited by <server> (HTTP 429: busy) after 1 retry"),
        (529, "overloaded_error", "<server> is overloaded (HTTP 529: busy) after 1 retry"),
        (503, "api_error", "<server> is unavailable (HTTP 503: busy) after 1 retry"),
    ],
)
def test_retries_run_out(server: LoopbackServer, status: int, kind: str, expected: str) -> None:
    busy = error_reply(status, kind, "busy", [("retry-after", "0")])
    server.enqueue_many([busy, busy])
    with pytest.raises(ProviderError) as caught:
        list(claude(server, retries=1).stream("hi"))
    assert caught.value.message == expected.replace("<server>", server.named_as("anthropic"))
    assert (caught.value.status, caught.value.error_type) == (status, kind)
    assert len(server.requests) == 2


def test_x_should_retry_false_is_honoured(server: LoopbackServer) -> None:
    server.enqueue(error_reply(500, "api_error", "no", [("x-should-retry", "false")]))
    with pytest.raises(ProviderError) as caught:
        list(claude(server, retries=2).stream("hi"))
    assert caught.value.message == f"{server.named_as('anthropic')} failed (HTTP 500: no)"
    assert len(server.requests) == 1


def test_error_event_before_the_first_token_is_retried(server: LoopbackServer) -> None:
    notices: list[str] = []
    overloaded = sse(
        [
            {"type": "message_start", "message": {"model": MODEL}},
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ]
    )
    server.enqueue_many([Reply.sse(overloaded), Reply.sse(anthropic_stream())])
    chunks = list(claude(server, retries=1, on_notice=notices.append).stream("hi"))
    assert "".join(chunk.text for chunk in chunks) == GREETING
    assert len([chunk for chunk in chunks if chunk.response_metadata.get("model_name")]) == 1  # no repeat
    assert notices[0].startswith(
        f"{server.named_as('anthropic')} stopped the reply with an error: Overloaded (overloaded_error); retrying"
    )


@both_modes
def test_error_event_after_text_keeps_the_text_and_is_not_retried(server: LoopbackServer, use_async: bool) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_midstream_error.sse"))
    server.enqueue(Reply.sse(anthropic_stream()))
    received: list[str] = []

    async def consume_async() -> None:
        async for chunk in claude(server, retries=2).astream("hi"):
            received.append(chunk.text)

    with pytest.raises(ProviderError) as caught:
        if use_async:
            asyncio.run(consume_async())
        else:
            received.extend(chunk.text for chunk in claude(server, retries=2).stream("hi"))
    assert "".join(received) == "Hello there"
    assert (caught.value.error_type, caught.value.status, caught.value.exit_code) == ("overloaded_error", 200, 4)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("tail", "said"),
    [
        (
            b'event: error\ndata: {"error": {"type": "timeout", "message": "upstream timed out"}}\n\n',
            "upstream timed out",
        ),
        (b'error: {"detail": "bad gateway", "error": {"message": "bad gateway"}}\n\n', "bad gateway"),
        (b"event: error\ndata: the proxy gave up\n\n", "the proxy gave up"),
    ],
    ids=["no-envelope", "error-field", "plain-text"],
)
def test_an_error_without_anthropics_envelope_is_the_servers_error(
    server: LoopbackServer, tail: bytes, said: str
) -> None:
    """A proxy's error at the end of a stream: exit 4 with its message, the text so far kept."""
    events = [{"type": "message_start", "message": {"model": MODEL}}]
    events += [{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}]
    server.enqueue(Reply.sse(sse(events).encode() + tail))
    received: list[str] = []
    with pytest.raises(ProviderError) as caught:
        received.extend(chunk.text for chunk in claude(server, retries=0).stream("hi"))
    assert "".join(received) == "Hello"
    assert caught.value.exit_code == 4 and said in caught.value.message


# -- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "message", "error_class", "expected"),
    [
        (401, "authentication_error", "invalid x-api-key", AuthError, "<server> rejected the API key (HTTP 401"),
        (403, "permission_error", "not allowed", AuthError, "<server> refused this API key access (HTTP 403"),
        (404, "not_found_error", "model: nope", UnknownModelError, f"does not know the model '{MODEL}' (HTTP 404"),
        (400, "invalid_request_error", "messages: Field required", ProviderError, "HTTP 400: messages: Field required"),
        (413, "request_too_large", "too big", ProviderError, "rejected the request as too large (HTTP 413"),
        (
            500,
            "api_error",
            "Internal server error",
            ProviderError,
            "<server> failed (HTTP 500: Internal server error)",
        ),
    ],
)
@both_modes
def test_http_errors_become_chatstream_errors(
    server: LoopbackServer,
    status: int,
    kind: str,
    message: str,
    error_class: type[Exception],
    expected: str,
    use_async: bool,
) -> None:
    server.enqueue(error_reply(status, kind, message))
    with pytest.raises(error_class) as caught:
        collect(claude(server), use_async=use_async)
    assert expected.replace("<server>", server.named_as("anthropic")) in str(caught.value)
    assert (caught.value.status, caught.value.error_type) == (status, kind)


@pytest.mark.parametrize("call", ["stream", "astream", "invoke", "ainvoke"])
def test_a_redirect_is_not_followed_and_says_where_it_points(server: LoopbackServer, call: str) -> None:
    server.enqueue(Reply(status=302, headers=[("location", "http://127.0.0.1:1/x")]))
    model = claude(server, retries=2)
    calls = {
        "stream": lambda: list(model.stream("hi")),
        "astream": lambda: collect(model, "hi", use_async=True),
        "invoke": lambda: model.invoke("hi"),
        "ainvoke": lambda: asyncio.run(model.ainvoke("hi")),
    }
    with pytest.raises(ProviderError) as caught:
        calls[call]()
    assert str(caught.value) == (
        f"{server.named_as('anthropic')} redirected the request to http://127.0.0.1:1/x (HTTP 302) "
        "(use the new address as --base-url)"
    )
    assert (caught.value.exit_code, caught.value.status) == (4, 302)
    assert len(server.requests) == 1


def test_auth_error_says_how_to_fix_the_key_and_never_echoes_it(server: LoopbackServer) -> None:
    server.enqueue(error_reply(401, "authentication_error", f"invalid x-api-key: {KEY}"))
    with pytest.raises(AuthError) as caught:
        list(claude(server).stream("hi"))
    assert KEY not in str(caught.value)
    assert str(caught.value).endswith("(set ANTHROPIC_API_KEY or run `chatstream keys set anthropic`)")
    assert caught.value.__cause__ is None


def test_non_json_error_body_still_names_the_status(server: LoopbackServer) -> None:
    server.enqueue(Reply(status=502, headers=[("content-type", "text/html")], body=b"<html>Bad gateway</html>"))
    with pytest.raises(ProviderError, match=re.escape(f"{server.named_as('anthropic')} failed (HTTP 502")):
        list(claude(server).stream("hi"))


@both_modes
def test_dropped_connection_keeps_the_text_and_is_a_network_error(server: LoopbackServer, use_async: bool) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_text.sse", drop_after=6))
    received: list[str] = []

    async def consume_async() -> None:
        async for chunk in claude(server, retries=2).astream("hi"):
            received.append(chunk.text)

    with pytest.raises(NetworkError, match="dropped before the reply was complete") as caught:
        if use_async:
            asyncio.run(consume_async())
        else:
            received.extend(chunk.text for chunk in claude(server, retries=2).stream("hi"))
    assert "".join(received) == "Hello there!"
    assert caught.value.exit_code == 5
    assert len(server.requests) == 1


def test_drop_before_the_first_token_is_retried(server: LoopbackServer) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_text.sse", drop_after=2))
    server.enqueue(Reply.sse(anthropic_stream()))
    chunks = list(claude(server, retries=1).stream("hi"))
    assert "".join(chunk.text for chunk in chunks) == GREETING
    assert len(server.requests) == 2


@both_modes
def test_stall_between_chunks_times_out(server: LoopbackServer, use_async: bool) -> None:
    server.enqueue(Reply.from_wire("anthropic_stream_text.sse", stall_after=5))
    stalled = f"no data from {server.named_as('anthropic')} for 0.3 s (raise --timeout"
    with pytest.raises(NetworkError, match=re.escape(stalled)):
        collect(claude(server, timeout=0.3), use_async=use_async)
    assert server.wait_for_disconnect()


def test_silence_before_the_first_byte_times_out(server: LoopbackServer) -> None:
    server.enqueue(Reply(no_response=True))
    with pytest.raises(NetworkError, match=re.escape(f"no data from {server.named_as('anthropic')} for 0.3 s")):
        list(claude(server, timeout=0.3).stream("hi"))


@both_modes
def test_connection_refused(use_async: bool) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    model = AnthropicChatModel(MODEL, ModelSettings(api_key=KEY, base_url=url, retries=2))
    with pytest.raises(NetworkError) as caught:
        collect(model, use_async=use_async)
    assert str(caught.value) == f"cannot connect to {url}: connection refused (is the server running? check --base-url)"


def test_a_server_that_is_not_anthropic_is_named(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse('data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'))
    with pytest.raises(ProviderError, match="not an Anthropic message stream"):
        list(claude(server).stream("hi"))


# -- closing ---------------------------------------------------------------------------------


def slow_stream() -> Reply:
    return Reply.sse(anthropic_stream("one two three four five six seven eight nine ten"), delay_s=0.05)


def test_closing_the_stream_closes_the_connection(server: LoopbackServer) -> None:
    server.enqueue(slow_stream())
    stream: Iterator[Any] = claude(server).stream("hi")
    texts = [next(stream).text for _ in range(3)]
    assert texts == ["", "one", " two"]
    stream.close()  # what Ctrl-C or a consumer that stops does to the generator
    assert server.wait_for_disconnect()
    assert server.requests[0].closed_by_client.is_set()


def test_cancelling_astream_closes_the_connection(server: LoopbackServer) -> None:
    server.enqueue(slow_stream())
    received: list[str] = []

    async def consume() -> None:
        async for chunk in claude(server).astream("hi"):
            received.append(chunk.text)

    async def main() -> None:
        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert server.wait_for_disconnect()
    assert received[:3] == ["", "one", " two"]


def test_aclose_on_astream_closes_the_connection_at_once(server: LoopbackServer) -> None:
    server.enqueue(slow_stream())

    async def main() -> bool:
        stream = claude(server).astream("hi")
        assert [(await anext(stream)).text for _ in range(3)] == ["", "one", " two"]
        await stream.aclose()
        return server.wait_for_disconnect()  # blocks the loop: only a close done by aclose() itself counts

    assert asyncio.run(main())


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=200, headers=[("content-type", "text/html")], body=b"<html>a login page</html>"),
        Reply.json({"choices": [{"message": {"content": "hi"}}]}),
        Reply(status=200, headers=[("content-type", "application/json")], body=b"{not json"),
    ],
    ids=["html", "other-json", "broken-json"],
)
def test_invoke_of_a_reply_that_is_not_a_message(server: LoopbackServer, reply: Reply) -> None:
    server.enqueue(reply)
    with pytest.raises(ProviderError, match="not an Anthropic message") as caught:
        claude(server).invoke("hi")
    assert caught.value.exit_code == 4
