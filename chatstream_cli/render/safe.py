"""Neutralise terminal control sequences in model text before it reaches a terminal.

Escape and other control characters (all but newline and tab) become visible Unicode
"control pictures" (ESC -> U+241B), so a reply can neither move the cursor, clear the screen,
set the clipboard (OSC 52) nor plant hyperlinks. Piped output is never passed through this.
"""

from __future__ import annotations

_C0 = {code: 0x2400 + code for code in range(0x20) if chr(code) not in "\n\t"}
# C1 controls, and lone UTF-16 surrogate halves (which no terminal encoding can carry), become U+FFFD.
_REPLACED = (*range(0x80, 0xA0), *range(0xD800, 0xE000))
_TABLE = {**_C0, 0x7F: 0x2421, **dict.fromkeys(_REPLACED, 0xFFFD)}


def neutralise(text: str) -> str:
    return text.translate(_TABLE)
