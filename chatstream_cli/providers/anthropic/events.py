"""Anthropic Messages API events -> AIMessageChunks, exactly as langchain-anthropic maps them.

Pure functions over plain event dicts (the JSON of each SSE ``data:`` line): no SDK, no I/O, so
any transport can feed them and tests run them on the recorded ``wire/`` files. The mapping is
protocols.md §4:

* ``message_start`` -> an empty chunk carrying ``model_name``;
* each delta -> one chunk: a string in plain chat, a list of blocks (each with the Anthropic
  ``index``) when the request asked for thinking or tools;
* ``message_delta`` -> the last chunk: ``stop_reason``, ``stop_sequence``, ``usage_metadata``
  (cache tokens added to ``input_tokens``) and ``chunk_position="last"``;
* ``content_block_stop``, ``ping``, ``message_stop``, unknown events, and the start of a block that is
  neither text, thinking, a tool use, a tool result, a document nor redacted thinking -> nothing;
* ``error`` -> :class:`~chatstream_cli.errors.ProviderError` (HTTP status 200, the event's type).

Blocks are dumped as the SDK's models dump them (``blocks.FIELDS``). Beside the chunks, a
:class:`~chatstream_cli.usage.Report` carries the usage counted once: ``message_delta``'s counts, and
``message_start``'s for every count the delta leaves out (older API versions send only ``output_tokens``
there, so LangChain's ``usage_metadata`` says 0 input tokens); a cache write the delta gives replaces the
start's, breakdown included (:func:`counted_usage`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from datetime import datetime
from typing import Any

from ...errors import NetworkError, ProviderError, midstream_error
from ...messages import AIMessage, AIMessageChunk, tool_call_chunk
from ...usage import Report
from .blocks import FIELDS

PROVIDER = "anthropic"

_TEXT_LIKE = ("text", "thinking")
# langchain-anthropic emits a chunk at the start of a block whose type contains one of these (and text, thinking).
_EMITTED_STARTS = ("tool_result", "tool_use", "document", "redacted_thinking")
# An advisor result keeps only these keys, in this order (langchain-anthropic).
_ADVISOR_KEYS = ("type", "tool_use_id", "content", "cache_control")
_CONTAINER_FIELDS = ("id", "expires_at", "skills")


class StreamTranslator:
    """Turns one response's events into chunks; remembers which block each ``index`` opened."""

    def __init__(self, list_content: bool, label: str = "Anthropic") -> None:
        self.list_content = list_content
        self.label = label  # who errors name: Anthropic, or the gateway that answered
        self.block_types: dict[int, str] = {}
        self.started = False
        self.finished = False
        self.start_usage: dict[str, Any] = {}
        self.report = Report()

    def chunks(self, events: Iterable[dict[str, Any]]) -> Iterator[AIMessageChunk]:
        """Every chunk for ``events``; complains if the stream ends before the reply does."""
        for event in events:
            chunk = self.translate(event)
            if chunk is not None:
                yield chunk
        self.check_complete()

    async def achunks(self, events: AsyncIterable[dict[str, Any]]) -> AsyncIterator[AIMessageChunk]:
        """The async twin of :meth:`chunks`."""
        async for event in events:
            chunk = self.translate(event)
            if chunk is not None:
                yield chunk
        self.check_complete()

    def translate(self, event: dict[str, Any]) -> AIMessageChunk | None:
        """The chunk for one event, or None for events LangChain emits nothing for."""
        kind = event.get("type")
        chunk: AIMessageChunk | None = None
        if kind == "message_start":
            self.started = True
            message = event.get("message") or {}
            self.start_usage = message.get("usage") or {}
            self.report.usage = usage_metadata(self.start_usage)
            chunk = AIMessageChunk(content=self._empty(), response_metadata={"model_name": message.get("model")})
        elif kind == "content_block_start":
            chunk = self._block_start(event.get("index", 0), event.get("content_block") or {})
        elif kind == "content_block_delta":
            chunk = self._delta(event.get("index", 0), event.get("delta") or {})
        elif kind == "message_delta":
            chunk = self._message_delta(event)
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            raise stream_error(event, self.label)
        if chunk is not None:
            chunk.response_metadata["model_provider"] = PROVIDER
            chunk.report = self.report
        return chunk

    def check_complete(self) -> None:
        """Raise when the stream ended early: no message at all, or no end of the message."""
        if not self.started:
            raise not_anthropic("message stream")
        if not self.finished:
            raise NetworkError(f"the stream from {self.label} ended before the reply was complete", "try again")

    def _empty(self) -> str | list[dict[str, Any]]:
        return [] if self.list_content else ""

    def _block_start(self, index: int, block: dict[str, Any]) -> AIMessageChunk | None:
        kind = block.get("type", "")
        self.block_types[index] = kind
        if kind in _TEXT_LIKE:
            return self._text_start(index, block)
        if not any(part in kind for part in _EMITTED_STARTS):
            return None
        # The SDK dumps a block type it does not know as its fallback, a text block: citations and text first.
        dumped = as_dumped_block(block) if kind in FIELDS else {"citations": None, "text": None, **block}
        if kind == "advisor_tool_result":
            dumped = {key: dumped[key] for key in _ADVISOR_KEYS if key in dumped}
        if "caller" in dumped and dumped["caller"] is None:
            del dumped["caller"]
        dumped["index"] = index
        tool_call_chunks = []
        if kind == "tool_use":
            arguments = dumped.get("input")
            tool_call_chunks.append(
                tool_call_chunk(dumped.get("name"), json.dumps(arguments) if arguments else "", dumped.get("id"), index)
            )
        return AIMessageChunk(content=[dumped], tool_call_chunks=tool_call_chunks)

    def _text_start(self, index: int, block: dict[str, Any]) -> AIMessageChunk | None:
        """Text or thinking a block starts with (a reply after a tool result often does), else nothing."""
        if block["type"] == "text":
            if not block.get("text"):
                return None
            if not self.list_content:
                return AIMessageChunk(content=block["text"])
        elif not (block.get("thinking") or block.get("signature")):
            return None
        dumped = as_dumped_block(block)
        if dumped.get("citations", "") is None:
            del dumped["citations"]
        dumped["index"] = index
        return AIMessageChunk(content=[dumped])

    def _delta(self, index: int, delta: dict[str, Any]) -> AIMessageChunk | None:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text", "")
            if not self.list_content:
                return AIMessageChunk(content=text)
            return AIMessageChunk(content=[{"text": text, "type": "text", "index": index}])
        if kind == "citations_delta":
            citation = as_dumped_block(delta.get("citation") or {})
            return AIMessageChunk(content=[{"type": "text", "index": index, "citations": [citation]}])
        if kind == "thinking_delta":
            return AIMessageChunk(content=[{"thinking": delta.get("thinking", ""), "type": "thinking", "index": index}])
        if kind == "signature_delta":
            block = {"signature": delta.get("signature", ""), "type": "thinking", "index": index, "thinking": ""}
            return AIMessageChunk(content=[block])
        if kind == "input_json_delta":
            partial = delta.get("partial_json", "")
            block = {"partial_json": partial, "type": "input_json_delta", "index": index}
            calls = [tool_call_chunk(None, partial, None, index)] if self.block_types.get(index) == "tool_use" else []
            return AIMessageChunk(content=[block], tool_call_chunks=calls)
        if kind == "compaction_delta":
            block = {**as_dumped_delta(delta), "type": "compaction", "index": index}
            if "encrypted_content" in block and block["encrypted_content"] is None:
                del block["encrypted_content"]
            return AIMessageChunk(content=[block])
        return None

    def _message_delta(self, event: dict[str, Any]) -> AIMessageChunk:
        delta = event.get("delta") or {}
        metadata: dict[str, Any] = {
            "stop_reason": delta.get("stop_reason"),
            "stop_sequence": delta.get("stop_sequence"),
        }
        if isinstance(delta.get("stop_details"), dict):
            metadata["stop_details"] = as_dumped_block(delta["stop_details"])
        if event.get("context_management") is not None:
            metadata["context_management"] = event["context_management"]
        container = delta.get("container")
        if isinstance(container, dict):
            dumped = {name: container.get(name) for name in _CONTAINER_FIELDS} | container
            metadata["container"] = dumped | {"expires_at": json_datetime(dumped["expires_at"])}
        finished = bool(metadata["stop_reason"])
        self.finished = self.finished or finished
        usage = event.get("usage") or {}
        self.report.usage = usage_metadata(counted_usage(self.start_usage, usage))
        self.report.stopped(metadata["stop_reason"])
        return AIMessageChunk(
            content=self._empty(),
            response_metadata=metadata,
            usage_metadata=usage_metadata(usage),
            chunk_position="last" if finished else None,
        )


def counted_usage(start: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """The reply's usage: ``message_delta``'s (cumulative) counts, ``message_start``'s where the delta has none.

    A cache-write count and its per-lifetime breakdown go together: a delta that gives another count
    without a breakdown makes the start's breakdown stale (a web search writes more after the start).
    """
    counted = {**start, **{key: value for key, value in delta.items() if value is not None}}
    written = delta.get("cache_creation_input_tokens")
    if written is not None and written != start.get("cache_creation_input_tokens") and "cache_creation" not in delta:
        counted.pop("cache_creation", None)
    return counted


def chunks_from_events(events: Iterable[dict[str, Any]], *, list_content: bool) -> Iterator[AIMessageChunk]:
    """The chunks for one complete response's events."""
    return StreamTranslator(list_content).chunks(events)


def stream_error(event: dict[str, Any], label: str = "Anthropic") -> ProviderError:
    """The error for an ``event: error`` that arrived after the HTTP 200."""
    error = event.get("error") or {}
    return midstream_error(label, error.get("message"), error.get("type"))


def not_anthropic(what: str) -> ProviderError:
    """The error for a reply that is not what Anthropic's API sends (a wrong --base-url, usually)."""
    return ProviderError(
        f"the server's reply is not an Anthropic {what}",
        "check --base-url: it must be an Anthropic-compatible endpoint",
        error_type="invalid_response",
    )


def as_dumped_block(block: dict[str, Any]) -> dict[str, Any]:
    """A content block as the SDK's ``model_dump()`` gives it: its model's fields in order (absent optional
    ones filled in, the blocks inside dumped alike), then the keys the model does not know."""
    fields = FIELDS.get(block.get("type", ""))
    if fields is None:
        return dict(block)
    dumped: dict[str, Any] = {}
    for name, default, required, holds_blocks in fields:
        if name in block:
            dumped[name] = _dumped(block[name]) if holds_blocks else block[name]
        elif not required:
            dumped[name] = default
    dumped.update((name, value) for name, value in block.items() if name not in dumped)
    return dumped


def as_dumped_delta(delta: dict[str, Any]) -> dict[str, Any]:
    """A delta as the SDK dumps it; one it does not know dumps as its fallback, a text delta (``text`` first)."""
    return as_dumped_block(delta) if delta.get("type") in FIELDS else {"text": None, **delta}


def json_datetime(value: Any) -> Any:
    """An ISO timestamp as pydantic writes a datetime in JSON: ``Z`` for UTC, no zero microseconds."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def _dumped(value: Any) -> Any:
    """A field that holds blocks: a block, a list of them, or something else kept as it is."""
    if isinstance(value, list):
        return [_dumped(item) for item in value]
    if isinstance(value, dict) and value.get("type") in FIELDS:
        return as_dumped_block(value)
    return value


def usage_metadata(usage: dict[str, Any], *, streamed: bool = True) -> dict[str, Any]:
    """LangChain's usage_metadata: cache reads and writes count as input tokens.

    The detail keys come in LangChain's order, which differs: ``cache_creation`` first in a streamed
    chunk, ``cache_read`` first in an ``invoke()`` reply (both as the fixtures record them).
    """
    order = ("cache_creation", "cache_read") if streamed else ("cache_read", "cache_creation")
    fields = {"cache_read": "cache_read_input_tokens", "cache_creation": "cache_creation_input_tokens"}
    details: dict[str, Any] = {key: usage.get(fields[key]) for key in order}
    cache_creation = usage.get("cache_creation")
    by_lifetime = 0
    if isinstance(cache_creation, dict):
        for key in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"):
            details[key] = cache_creation.get(key)
            by_lifetime += cache_creation.get(key) or 0
        if by_lifetime > 0:
            details["cache_creation"] = 0  # counted through the per-lifetime keys instead
    input_tokens = (usage.get("input_tokens") or 0) + (details["cache_read"] or 0)
    input_tokens += by_lifetime or details["cache_creation"] or 0
    output_tokens = usage.get("output_tokens") or 0
    metadata: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_token_details": {key: value for key, value in details.items() if value is not None},
    }
    reasoning = (usage.get("output_tokens_details") or {}).get("thinking_tokens")
    if reasoning is not None:
        metadata["output_token_details"] = {"reasoning": reasoning}
    return metadata


def message_from_response(data: dict[str, Any]) -> AIMessage:
    """A non-streaming reply (the SDK's ``Message.model_dump()``) as LangChain's ``invoke`` returns it."""
    blocks = [_without_null_citations(block) for block in data.get("content") or []]
    metadata = {key: value for key, value in data.items() if key not in ("content", "role", "type")}
    if "model" in metadata:
        metadata["model_name"] = metadata["model"]
    metadata["model_provider"] = PROVIDER
    content: str | list[dict[str, Any]] = blocks
    if len(blocks) == 1 and blocks[0].get("type") == "text" and not blocks[0].get("citations"):
        content = blocks[0].get("text", "")
    tool_calls = [
        {"name": block.get("name", ""), "args": block.get("input") or {}, "id": block.get("id"), "type": "tool_call"}
        for block in blocks
        if block.get("type") == "tool_use"
    ]
    return AIMessage(
        content=content,
        response_metadata=metadata,
        tool_calls=tool_calls,
        usage_metadata=usage_metadata(data.get("usage") or {}, streamed=False),
    )


def _without_null_citations(block: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if not (key == "citations" and value is None)}
