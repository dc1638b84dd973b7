"""langchain-core's ``parse_partial_json``: the value of a JSON text that may stop mid-way (tool-call
arguments as they stream), closing what is still open; the same results, so tool calls match LangChain's."""

from __future__ import annotations

import json
from bisect import bisect_right
from itertools import accumulate
from typing import Any

_CLOSERS = {"{": "}", "[": "]"}


def parse_partial_json(text: str) -> Any:
    """The JSON value of ``text``, completed if it is cut short; raises ``JSONDecodeError`` when it cannot be."""
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        pass
    pieces: list[str] = []
    stack: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        piece = char
        if in_string:
            if char == '"' and not escaped:
                in_string = False
            elif char == "\n" and not escaped:
                piece = "\\n"  # a raw newline inside a string
            elif char == "\\":
                escaped = not escaped
            else:
                escaped = False
        elif char == '"':
            in_string = True
            escaped = False
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif char in "}]":
            if not (stack and stack[-1] == char):
                return None  # a closing bracket that closes nothing: malformed
            stack.pop()
        pieces.append(piece)
    if in_string:
        if escaped:
            pieces.pop()
        pieces.append('"')
    closing = "".join(reversed(stack))
    ends = list(accumulate(map(len, pieces)))
    while pieces:
        try:
            return json.loads("".join(pieces) + closing, strict=False)
        except json.JSONDecodeError as error:
            # Longer candidates keep the piece the decoder rejected and fail the same way: cut past it.
            cut = bisect_right(ends, error.pos)
            if cut < len(pieces):
                del pieces[cut:]
                del ends[cut:]
            else:
                pieces.pop()
                ends.pop()
    return json.loads(text, strict=False)
