"""Amazon Bedrock's ``invoke-with-response-stream`` body: AWS event-stream frames, read as Anthropic events.

Each frame (``application/vnd.amazon.eventstream``: a prelude with lengths and CRC, headers, a payload,
a message CRC) is parsed by botocore's EventStreamBuffer, which checks the CRCs. A ``chunk`` event's
payload is ``{"bytes": "<base64>"}`` holding one Messages API event as JSON, the same as an SSE
``data:`` line. An exception frame (``:message-type: exception``, e.g. ``throttlingException``) becomes
an ``error`` event in the Anthropic shape, so the translator and the retry policy treat it as they treat
Anthropic's own ``event: error``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from ...errors import ProviderError

# Bedrock's exception names -> the Anthropic error types that mean the same (and are retried the same).
ERROR_TYPES = {
    "throttlingException": "rate_limit_error",
    "serviceUnavailableException": "overloaded_error",
    "internalServerException": "api_error",
    "modelStreamErrorException": "api_error",
    "modelTimeoutException": "timeout_error",
    "validationException": "invalid_request_error",
}


def bedrock_events(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The Anthropic events in an event-stream body."""
    buffer = _buffer()
    for chunk in chunks:
        buffer.add_data(chunk)
        yield from _drain(buffer)


async def abedrock_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[dict[str, Any]]:
    """:func:`bedrock_events` for an asynchronous body."""
    buffer = _buffer()
    async for chunk in chunks:
        buffer.add_data(chunk)
        for event in _drain(buffer):
            yield event


def _buffer() -> Any:
    from botocore.eventstream import EventStreamBuffer

    return EventStreamBuffer()


def _drain(buffer: Any) -> Iterator[dict[str, Any]]:
    """The events of every complete frame in the buffer."""
    from botocore.eventstream import ParserError

    try:
        frames = list(buffer)
    except ParserError as exc:
        raise ProviderError(
            f"Amazon Bedrock sent a broken event-stream frame ({exc})",
            "try again; check --base-url if it persists",
            error_type="invalid_response",
        ) from None
    for frame in frames:
        event = event_from_frame(frame.headers, frame.payload)
        if event is not None:
            yield event


def event_from_frame(headers: dict[str, Any], payload: bytes) -> dict[str, Any] | None:
    """One frame as an Anthropic event dict; None for frames that carry none."""
    kind = headers.get(":message-type")
    if kind == "exception":
        name = str(headers.get(":exception-type", "exception"))
        return _error_event(name, _json(payload).get("message") or name)
    if kind == "error":
        name = str(headers.get(":error-code", "error"))
        return _error_event(name, str(headers.get(":error-message") or name))
    if kind != "event" or headers.get(":event-type") != "chunk":
        return None
    encoded = _json(payload).get("bytes")
    try:
        data = json.loads(base64.b64decode(encoded or "", validate=True))
    except ValueError:
        raise ProviderError(
            "Amazon Bedrock sent a chunk that is not a base64-encoded JSON event",
            "check --base-url",
            error_type="invalid_response",
        ) from None
    return data if isinstance(data, dict) else None


def _error_event(name: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(name, name), "message": message}}


def _json(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload) if payload else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
