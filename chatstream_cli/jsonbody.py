"""A JSON request body written piece by piece: a large string (an attachment's base64) is sent in slices,
never copied whole into a serialised body (``json.dumps`` would make one copy as text, ``.encode`` another).

The length is counted first, so the body goes with a ``content-length`` (servers that refuse chunked
request bodies take it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

LARGE = 1 << 20
"""A string this long or longer is written in slices of this many characters."""


def has_large_string(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) >= LARGE
    if isinstance(value, dict):
        return any(has_large_string(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(has_large_string(item) for item in value)
    return False


def json_pieces(value: Any) -> Iterator[bytes]:
    """``value`` as JSON, in pieces; the same document ``json.dumps(value)`` gives, spaces aside."""
    if isinstance(value, dict):
        yield b"{"
        for position, (key, item) in enumerate(value.items()):
            yield (b"," if position else b"") + json.dumps(str(key)).encode() + b":"
            yield from json_pieces(item)
        yield b"}"
    elif isinstance(value, list | tuple):
        yield b"["
        for position, item in enumerate(value):
            if position:
                yield b","
            yield from json_pieces(item)
        yield b"]"
    elif isinstance(value, str) and len(value) >= LARGE:
        yield b'"'
        for start in range(0, len(value), LARGE):
            yield json.dumps(value[start : start + LARGE])[1:-1].encode()
        yield b'"'
    else:
        yield json.dumps(value, allow_nan=False).encode()


def streamed_body(value: Any) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """The body's length in bytes, and a function that gives its pieces afresh (once per attempt)."""
    length = sum(len(piece) for piece in json_pieces(value))
    return length, lambda: json_pieces(value)


async def async_pieces(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The pieces for an async client, which takes only an async iterable as a streamed body."""
    for piece in pieces:
        yield piece


def body_arguments(
    body: Mapping[str, Any], whole: Callable[[], dict[str, Any]], *, asynchronous: bool = False
) -> dict[str, Any]:
    """httpx's body arguments for ``body``: ``whole()`` (serialised at once), or, when it holds a large
    string, the JSON in pieces with its length. The --debug trace prints bodies, so it gets them whole."""
    from .retry import tracing

    if tracing() or not has_large_string(body):
        return whole()
    length, pieces = streamed_body(body)
    content = async_pieces(pieces()) if asynchronous else pieces()
    return {"content": content, "headers": {"content-type": "application/json", "content-length": str(length)}}
