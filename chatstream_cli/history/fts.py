"""The search language of ``logs -q`` and ``history.search``, turned into an FTS5 query.

Words must all match (``capital france``), ``capi*`` matches a word that starts so, ``"capital of
France"`` the words in that order, and ``AND``, ``OR``, ``NOT`` and parentheses combine them as FTS5
does. Any other word is quoted, so punctuation in it (``what's``, ``foo-bar``, ``C++``) is no syntax.
"""

from __future__ import annotations

import re

from ..errors import UsageError

_OPERATORS = frozenset({"AND", "OR", "NOT"})
_TOKENS = re.compile(r'"(?P<phrase>[^"]*)"(?P<prefix>\*?)|(?P<paren>[()])|(?P<quote>")|(?P<word>[^\s()"]+)')
HINT = 'words all match; capi* is a prefix, "two words" a phrase, AND/OR/NOT and ( ) combine them'


def fts_query(text: str) -> str:
    """``text`` in the search language as an FTS5 MATCH expression; a UsageError when it is malformed."""
    parts = [_part(match) for match in _TOKENS.finditer(text)]
    return " ".join(parts) or '""'


def _part(match: re.Match[str]) -> str:
    if match["quote"]:
        raise UsageError(f"the search has an unterminated quote at character {match.start() + 1}", HINT)
    if match["phrase"] is not None:
        return _quoted(match["phrase"]) + match["prefix"]
    if match["paren"]:
        return match["paren"]
    word = match["word"]
    if word in _OPERATORS:
        return word
    if word.endswith("*"):
        stem = word.rstrip("*")
        if not stem:
            raise UsageError("a * in the search must end a word (capi* matches capital)", HINT)
        return _quoted(stem) + "*"
    return _quoted(word)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def syntax_error(text: str, reason: str) -> UsageError:
    """SQLite's complaint about a search (an operator with nothing to combine) as a usage error."""
    reason = reason.removeprefix("fts5: ")
    if reason == 'syntax error near ""':
        reason = "it ends where more was expected: an operator or ( with nothing after it"
    return UsageError(f"the search {text!r} is not a valid query ({reason})", HINT)
