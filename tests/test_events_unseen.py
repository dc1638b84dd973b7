"""--events on server streams the fixtures do not cover, against what LangChain printed for them.

The expected values were recorded from langchain-core 1.8.3 with langchain-anthropic 1.7.10 and
langchain-openai 1.7.4 (``astream_events(..., version="v2")``, messages as ``model_dump()``) talking
to the loopback server serving these same streams; they are written here so that the tests do not
need LangChain. Lines are compared as JSON text after masking, so key order counts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatstream_cli.events import ERROR, START, STREAM
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_events_compat import mask, require_provider, run_cli_events

MODELS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-4o-mini"}


def anthropic_stream(*events: dict[str, Any]) -> bytes:
    return "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events).encode()


def openai_stream(*chunks: dict[str, Any]) -> bytes:
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks).encode()


MESSAGE_START = {
    "type": "message_start",
    "message": {
        "model": "claude-haiku-4-5",
        "id": "msg_01ABC",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    },
}
OPENAI_ROLE = {
    "id": "chatcmpl-XYZ",
    "object": "chat.completion.chunk",
    "created": 1795521161,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}],
}


def empty_chunk(response_metadata: dict[str, Any]) -> dict[str, Any]:
    """An empty AIMessageChunk as LangChain dumped it (masked)."""
    return {
        "content": "",
        "additional_kwargs": {},
        "response_metadata": response_metadata,
        "type": "AIMessageChunk",
        "name": None,
        "id": "lc_run--<run_id>",
        "tool_calls": [],
        "invalid_tool_calls": [],
        "usage_metadata": None,
        "tool_call_chunks": [],
        "chunk_position": None,
    }


# The server answers 200, sends the first event of a reply, then an error before any text. LangChain
# has already streamed the chunk of that first event when it raises: that event stands.
ERROR_BEFORE_ANY_TEXT = {
    "anthropic": (
        anthropic_stream(MESSAGE_START, {"type": "error", "error": {"type": "api_error", "message": "Internal"}}),
        empty_chunk({"model_name": "claude-haiku-4-5", "model_provider": "anthropic"}),
        {"type": "api_error", "message": "Internal", "status": 200, "exit_code": 4},
    ),
    "openai": (
        openai_stream(OPENAI_ROLE, {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}),
        empty_chunk({"model_provider": "openai"}),
        {"type": "server_error", "message": "boom", "status": 200, "exit_code": 4},
    ),
}


@pytest.mark.parametrize("driver", [[], ["--async"]], ids=["stream", "async"])
@pytest.mark.parametrize("provider", ERROR_BEFORE_ANY_TEXT)
def test_an_error_before_any_text_keeps_the_chunks_streamed_before_it(
    provider: str,
    driver: list[str],
    loopback_server: LoopbackServer,  # noqa: F811
) -> None:
    require_provider(provider)
    stream, langchains_chunk, error = ERROR_BEFORE_ANY_TEXT[provider]
    loopback_server.enqueue(Reply.sse(stream))
    result = run_cli_events(loopback_server, provider, MODELS[provider], "Say something.", *driver)

    assert result.returncode == 4, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["event"] for event in events] == [START, STREAM, ERROR]
    assert json.dumps(mask(events[1]["data"])) == json.dumps({"chunk": langchains_chunk})
    assert events[2]["data"]["error"] == error


def test_refusal_stop_details_come_in_the_sdks_field_order(loopback_server: LoopbackServer) -> None:  # noqa: F811
    """langchain-anthropic puts ``delta.model_dump()["stop_details"]`` in the metadata: pydantic's field
    order (category, explanation, type), whatever order the server sent."""
    require_provider("anthropic")
    stop_details = {"type": "refusal", "category": "cyber", "explanation": "x"}
    loopback_server.enqueue(
        Reply.sse(
            anthropic_stream(
                MESSAGE_START,
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "No"}},
                {"type": "content_block_stop", "index": 0},
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "refusal", "stop_sequence": None, "stop_details": stop_details},
                    "usage": {"output_tokens": 1},
                },
                {"type": "message_stop"},
            )
        )
    )
    result = run_cli_events(loopback_server, "anthropic", MODELS["anthropic"], "Say something.")

    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    langchains = {
        "stop_reason": "refusal",
        "stop_sequence": None,
        "stop_details": {"category": "cyber", "explanation": "x", "type": "refusal"},
        "model_provider": "anthropic",
    }
    assert json.dumps(events[-2]["data"]["chunk"]["response_metadata"]) == json.dumps(langchains)
    end_metadata = {"model_name": "claude-haiku-4-5", "model_provider": "anthropic"} | langchains
    assert json.dumps(events[-1]["data"]["output"]["response_metadata"]) == json.dumps(end_metadata)
