"""Incremental Server-Sent Events reader for byte streams (WHATWG EventSource rules).

Design: ``SSEDecoder.feed`` keeps bytes until it sees a line break, then decodes everything up
to the *last* break in one ``bytes.decode`` call and splits that text into lines; the
unterminated tail waits for the next feed. CR and LF are ASCII and never occur inside a UTF-8
multi-byte sequence, so cutting at a line break never splits a character, and decoding
a whole block with ``errors="replace"`` gives the same text as decoding each line alone.
There is no per-byte Python loop: the only Python-level loop runs once per line, with the
common ``data:`` and blank lines handled inline.

Deviations from a browser's EventSource, chosen for API clients: at end of stream a pending
event is dispatched instead of discarded (servers often omit the last blank line), and
``retry`` is reported on the event that carried it rather than acted upon. The ``id`` is the
spec's "last event ID", so it carries over to later events until another ``id`` line. An ``error``
field, which the spec would ignore, is read as ``event: error`` with its value as the data: llama-box
(GPUStack) ends a failed stream with ``error: {...}`` instead of an event, and the server's message
must not be lost.

Neither ``[DONE]`` nor JSON is interpreted here beyond the ``is_done`` and
``ServerSentEvent.json`` helpers; providers decide what the data means.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_sse", "is_done", "iter_sse"]


@dataclass(slots=True, frozen=True)
class ServerSentEvent:
    """One dispatched event; ``data`` holds its ``data`` lines joined with ``"\\n"``."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """Parse ``data`` as JSON (raises ``json.JSONDecodeError`` if it is not)."""
        return json.loads(self.data)


def is_done(event: ServerSentEvent) -> bool:
    """Whether this is the OpenAI-style ``data: [DONE]`` end-of-stream marker."""
    return event.data.strip() == "[DONE]"


class SSEDecoder:
    """Turns raw byte chunks, split anywhere, into ``ServerSentEvent`` objects."""

    __slots__ = ("_at_start", "_data", "_event", "_last_id", "_pending", "_retry", "_skip_lf")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # bytes after the last line break seen so far
        self._skip_lf = False  # previous feed ended in CR: a leading LF completes that CRLF
        self._at_start = True  # no text decoded yet, so a BOM may still come
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume the next bytes; return the events completed by them."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) + 1
        if not cut:
            if chunk:
                self._pending.append(chunk)
            return []
        self._pending.append(chunk[:cut])
        block = b"".join(self._pending)
        self._pending = [chunk[cut:]] if cut < len(chunk) else []
        self._skip_lf = chunk.endswith(b"\r")
        return self._process(block)

    def close(self) -> list[ServerSentEvent]:
        """End of stream: treat an unterminated last line as complete and dispatch what is left."""
        tail = b"".join(self._pending)
        self._pending = []
        self._skip_lf = False
        events = self._process(tail + b"\n") if tail else []
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _process(self, block: bytes) -> list[ServerSentEvent]:
        """Handle ``block``, which ends with a line break, line by line."""
        text = block.decode("utf-8", "replace")
        if self._at_start:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        events: list[ServerSentEvent] = []
        for line in text[:-1].split("\n"):
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
            elif line.startswith("data:"):
                self._data.append(line[6:] if line.startswith(" ", 5) else line[5:])
            elif line[0] != ":":
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        """Apply a non-``data`` field line; unknown fields are ignored, as the spec requires."""
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":  # "data" with no colon: a data line with an empty value
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "error":
            self._event = "error"
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> ServerSentEvent | None:
        """Finish the current event; one without any ``data`` line is dropped, per the spec."""
        event = None
        if self._data:
            event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._last_id, self._retry)
            self._data = []
        self._event = ""
        self._retry = None
        return event


def iter_sse(byte_chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Events from a byte iterable, e.g. ``iter_sse(response.iter_bytes())``."""
    decoder = SSEDecoder()
    for chunk in byte_chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


async def aiter_sse(byte_chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Events from an async byte iterable, e.g. ``aiter_sse(response.aiter_bytes())``."""
    decoder = SSEDecoder()
    async for chunk in byte_chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
