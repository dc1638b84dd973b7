"""``-x/--extract`` and ``--xl/--extract-last``: the fenced code blocks of a reply, fences removed.

Fences follow CommonMark: three or more backticks or tildes, indented at most three spaces; a block
ends at a fence of the same character at least as long, or at the end of the reply (a reply cut short
still gives its code).
"""

from __future__ import annotations

import re

_OPENING = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def code_blocks(text: str) -> list[str]:
    """The contents of every fenced code block in ``text``, in order."""
    blocks: list[str] = []
    lines = text.splitlines()
    position = 0
    while position < len(lines):
        opening = _OPENING.match(lines[position])
        position += 1
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            continue
        body: list[str] = []
        while position < len(lines) and not _closes(lines[position], opening["fence"]):
            body.append(_dedent(lines[position], len(opening["indent"])))
            position += 1
        position += 1  # past the closing fence
        blocks.append("\n".join(body) + "\n" if body else "")
    return blocks


def extract_code(text: str, *, last: bool = False) -> str | None:
    """The first (or last) code block's contents, ending in a newline; None when there is none."""
    blocks = code_blocks(text)
    if not blocks:
        return None
    return blocks[-1] if last else blocks[0]


def _closes(line: str, fence: str) -> bool:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return False
    run = len(stripped) - len(stripped.lstrip(fence[0]))
    return run >= len(fence) and not stripped[run:].strip()


def _dedent(line: str, indent: int) -> str:
    """A content line with up to ``indent`` leading spaces removed, as CommonMark does."""
    removable = len(line) - len(line.lstrip(" "))
    return line[min(indent, removable) :]
