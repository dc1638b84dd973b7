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


# -- the live view's pretty printer ------------------------------------------------------------

KEY, STRING, NUMBER, PUNCTUATION, RAW = "key", "str", "number", "brace", "raw"
_SCALAR_END = frozenset(",}]: \t\r\n")
_LITERALS = {"true": "bool_true", "false": "bool_false", "null": "null"}


class PrettyJson:
    """JSON text as it streams, indented as ``json.dumps(indent=2)`` would, in pieces that are only ever
    appended: what was shown stays. A key is held until its closing quote and a number or literal until
    it ends, so no half-key ever shows; a string value shows as it grows. Each character is looked at once,
    so a chunk costs what its length costs, however long the document is. Text that is no JSON (a
    preamble, a code fence, a second value) turns the rest into ``raw`` pieces, shown as they come.
    ``unwrap``: the outermost object and its one key are not shown, only its value (``--schema-multi``'s
    ``{"items": [...]}`` shows as the list)."""

    __slots__ = (
        "_escaped",
        "_expect_key",
        "_held",
        "_hidden",
        "_in_string",
        "_open_pending",
        "_out",
        "_raw",
        "_stack",
        "done",
        "indent",
    )

    def __init__(self, indent: str = "  ", *, unwrap: bool = False) -> None:
        self._hidden = 1 if unwrap else 0
        self._stack: list[str] = []
        self._in_string = False
        self._escaped = False
        self._expect_key = False
        self._held: list[str] | None = None  # a key or scalar held back until it is whole
        self._open_pending = False  # a bracket was opened and nothing is in it yet
        self._raw = False
        self._out: list[tuple[str, str]] = []
        self.indent = indent
        self.done = False  # the top-level value is complete

    def feed(self, text: str) -> list[tuple[str, str]]:
        """The pieces ``text`` adds, as (text, kind)."""
        out = self._out = []
        if self._raw:
            return [(text, RAW)] if text else []
        start = 0  # the run of a string value's characters not yet emitted
        for position, char in enumerate(text):
            if self._in_string:
                if self._held is not None:
                    self._held.append(char)
                if self._escaped:
                    self._escaped = False
                elif char == "\\":
                    self._escaped = True
                elif char == '"':
                    self._in_string = False
                    if self._held is not None:
                        if not self._in_wrapper():
                            self._emit("".join(self._held), KEY)
                        self._held = None
                    else:
                        self._emit(text[start : position + 1], STRING)
                continue
            if self._held is not None:  # a number or literal
                if char not in _SCALAR_END:
                    self._held.append(char)
                    continue
                self._end_scalar()
            if char in " \t\r\n":
                continue
            if not self._take(char):
                self._raw = True
                out.append((text[position:], RAW))
                return out
            start = position + 1
        if self._in_string and self._held is None and start < len(text):
            self._emit(text[start:], STRING)
        return out

    def close(self) -> list[tuple[str, str]]:
        """The pieces that end the document: a held number, and the brackets a cut-short reply left open."""
        out = self._out = []
        if self._raw:
            return out
        if self._in_string:
            if self._held is not None:
                self._emit("".join(self._held), KEY)
                self._held = None
            self._emit('"', STRING)
            self._in_string = False
        elif self._held is not None:
            self._end_scalar()
        while self._stack:
            self._close(self._stack[-1])
        return out

    def _take(self, char: str) -> bool:
        """One structural character (or the start of a token); False when it cannot be JSON here."""
        if self.done:
            return False
        if char in "{[":
            self._before_value()
            self._stack.append("}" if char == "{" else "]")
            self._expect_key = char == "{"
            if not self._in_wrapper():
                self._emit(char, PUNCTUATION)
                self._open_pending = True
        elif char in "}]":
            if not self._stack or self._stack[-1] != char:
                return False
            self._close(char)
        elif char == ",":
            if not self._stack:
                return False
            if not self._in_wrapper():
                self._emit(",\n" + self._indent(), PUNCTUATION)
            self._expect_key = self._stack[-1] == "}"
        elif char == ":":
            if not self._stack or self._stack[-1] != "}":
                return False
            if not self._in_wrapper():
                self._emit(": ", PUNCTUATION)
        elif char == '"':
            key = self._expect_key
            self._before_value()
            self._in_string = True
            if key:
                self._held = ['"']
                self._expect_key = False
            else:
                self._emit('"', STRING)
        elif char in "-0123456789tfn":
            self._before_value()
            self._held = [char]
        else:
            return False
        return True

    def _in_wrapper(self) -> bool:
        """Whether the tokens at this depth are the hidden outer object's own."""
        return len(self._stack) == self._hidden == 1

    def _indent(self) -> str:
        return self.indent * (len(self._stack) - self._hidden)

    def _before_value(self) -> None:
        if self._open_pending:
            self._emit("\n" + self._indent(), PUNCTUATION)
            self._open_pending = False

    def _close(self, char: str) -> None:
        hidden = self._in_wrapper()
        self._stack.pop()
        if hidden:
            pass
        elif self._open_pending:
            self._open_pending = False
            self._emit(char, PUNCTUATION)
        else:
            self._emit("\n" + self._indent() + char, PUNCTUATION)
        self._expect_key = False
        self.done = not self._stack

    def _end_scalar(self) -> None:
        token = "".join(self._held or ())
        self._held = None
        self._emit(token, _LITERALS.get(token, NUMBER) if token[0] in "tfn" else NUMBER)
        self.done = not self._stack

    def _emit(self, text: str, kind: str) -> None:
        self._out.append((text, kind))
