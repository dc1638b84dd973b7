"""Model text to UTF-8 bytes, however the server cut it.

A server that slices UTF-16 strings (a JavaScript proxy, say) can send one character in two events,
as the JSON escapes ``"\\ud83d"`` and then ``"\\udc1f"``. Python keeps such halves as lone surrogates,
which UTF-8 cannot encode, so they are put back together here: a high half at the end of a piece waits
for the next piece, a pair becomes its character, and a half that never finds its partner becomes
U+FFFD. Lone surrogates U+DC80-U+DCFF are raw bytes carried by Python's ``surrogateescape`` (a prompt
that was not UTF-8) and are written back as those bytes.
"""

from __future__ import annotations

import re

_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_STRAY = re.compile("[\ud800-\udc7f]")  # a half without its partner, outside the surrogateescape range
_HIGH = ("\ud800", "\udbff")


def to_utf8(text: str) -> bytes:
    """``text`` as UTF-8: surrogate pairs joined, stray halves as U+FFFD, escaped bytes restored."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        text = _STRAY.sub("\ufffd", _PAIR.sub(_join, text))
        return text.encode("utf-8", "surrogateescape")


def _join(pair: re.Match[str]) -> str:
    high, low = pair[0]
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


class Utf8Stream:
    """Encodes text piece by piece; a high surrogate that ends a piece is held for the next one."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = ""

    def encode(self, text: str) -> bytes:
        if self.held:
            text, self.held = self.held + text, ""
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            if _HIGH[0] <= text[-1] <= _HIGH[1]:
                text, self.held = text[:-1], text[-1]
            return to_utf8(text)

    def flush(self) -> bytes:
        """The bytes of a held half that never found its partner (U+FFFD), or nothing."""
        held, self.held = self.held, ""
        return to_utf8(held)
