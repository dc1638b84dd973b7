"""What every way of reaching Claude shares on the wire: the response's events as dicts, and a whole
reply in the shape the SDK's ``Message.model_dump()`` gives it (so both transports feed the translator
the same thing, key order included).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from typing import Any

from ...errors import ProviderError
from ...sse import ServerSentEvent, aiter_sse, iter_sse
from .events import not_anthropic

API_VERSION = "2026-10-21"
"""The version the SDK 2.x sends; it rejects temperature, top_p and top_k."""
SAMPLING_API_VERSION = "2023-06-01"
"""The version that accepts temperature, top_p and top_k."""
ENDPOINT_HINT = (
    "check the base URL: it is the part before /v1/messages, without the /v1 "
    "(e.g. --base-url http://localhost:4000 for a LiteLLM proxy)"
)


def sse_events(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The events of a Server-Sent Events body, as dicts (pings and unnamed events dropped)."""
    for sse in iter_sse(chunks):
        event = event_data(sse)
        if event is not None:
            yield event


async def asse_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[dict[str, Any]]:
    """:func:`sse_events` for an asynchronous body."""
    # aclosing: closed with us, not later by asyncio's shutdown, which fails on nested generators after Ctrl-C.
    async with aclosing(aiter_sse(chunks)) as events:
        async for sse in events:
            event = event_data(sse)
            if event is not None:
                yield event


def event_data(sse: ServerSentEvent) -> dict[str, Any] | None:
    """An SSE event's JSON; None for pings and for events without a name (the SDK ignores those too)."""
    if sse.event in ("message", "ping"):
        return None
    try:
        data = json.loads(sse.data)
    except ValueError:
        if sse.event == "error":  # a proxy's plain-text error: the text is the message
            return {"type": "error", "error": {"type": "api_error", "message": sse.data.strip()}}
        raise ProviderError(
            f"Anthropic sent an {sse.event!r} event that is not JSON: {sse.data[:200]!r}",
            "check --base-url",
            error_type="invalid_response",
        ) from None
    if sse.event == "error" and not (isinstance(data, dict) and data.get("type") == "error"):
        error = data.get("error", data) if isinstance(data, dict) else data  # no Anthropic envelope
        return {"type": "error", "error": error if isinstance(error, dict) else {"message": str(error)}}
    return data if isinstance(data, dict) else None


# Field order of the SDK's pydantic models (anthropic 2.15 types/), which model_dump() follows; a field
# the reply lacks is None there, and fields the SDK does not know follow the known ones.
_FIELDS: dict[str, tuple[str, ...]] = {
    "message": (
        "id",
        "container",
        "content",
        "diagnostics",
        "model",
        "role",
        "stop_details",
        "stop_reason",
        "stop_sequence",
        "type",
        "usage",
    ),
    "usage": (
        "cache_creation",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "inference_geo",
        "input_tokens",
        "output_tokens",
        "output_tokens_details",
        "server_tool_use",
        "service_tier",
        "speed",
    ),
    "cache_creation": ("ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"),
    "output_tokens_details": ("thinking_tokens",),
    "server_tool_use": ("web_fetch_requests", "web_search_requests"),
    "stop_details": ("category", "explanation", "type"),
    "text": ("citations", "text", "type"),
    "thinking": ("signature", "thinking", "type"),
    "redacted_thinking": ("data", "type"),
    "tool_use": ("id", "caller", "input", "name", "type", "toolset_name"),
    "server_tool_use_block": ("id", "caller", "input", "name", "type"),
}
_NESTED = ("usage", "cache_creation", "output_tokens_details", "server_tool_use", "stop_details")


def message_dump(data: Any) -> dict[str, Any]:
    """A non-streaming reply's JSON as ``Message.model_dump(mode="json")``; an error when it is no message."""
    if not isinstance(data, dict) or data.get("type") != "message":
        raise not_anthropic("message")
    dumped = _ordered(data, _FIELDS["message"])
    dumped["content"] = [_block_dump(block) for block in data.get("content") or [] if isinstance(block, dict)]
    return dumped


def _ordered(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    dumped = {name: data.get(name) for name in fields}
    dumped.update((name, value) for name, value in data.items() if name not in dumped)
    for name in _NESTED:
        if isinstance(dumped.get(name), dict):
            dumped[name] = _ordered(dumped[name], _FIELDS[name])
    return dumped


def _block_dump(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type", "")
    fields = _FIELDS.get("server_tool_use_block" if kind == "server_tool_use" else kind)
    return _ordered(block, fields) if fields else dict(block)
