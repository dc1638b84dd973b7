"""Text from outside, checked once: arguments and stdin that are not UTF-8 are a usage error (exit 2), never a crash."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import UsageError

#: Variables whose text chatstream sends on (the -m default); a key variable is checked where it is read.
_TEXT_VARIABLES = ("CHATSTREAM_MODEL",)


def check_arguments(args: Sequence[str]) -> None:
    """Refuse an argument (or text variable) that is not UTF-8: Python hands such bytes on as lone surrogates."""
    for number, arg in enumerate(args, 1):
        if not is_utf8(arg):
            raw = os.fsencode(arg)
            shown = repr(raw if len(raw) <= 24 else raw[:24] + b"...")
            raise UsageError(
                f"argument {number} ({shown}) is not UTF-8 text",
                "pass arguments in UTF-8; convert text from another encoding with iconv -t utf-8",
            )
    for name in _TEXT_VARIABLES:
        if not is_utf8(os.environ.get(name, "")):
            raise UsageError(f"the environment variable {name} is not valid UTF-8 text", f"set {name} again in UTF-8")


def read_stdin() -> str:
    """All of stdin as text; a UsageError naming the byte when it is not UTF-8 (binary, Latin-1, ...)."""
    from ..prompting.stdin import decode_text

    return decode_text(sys.stdin.buffer.read(), "stdin", flag=None)


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
