"""The history: every exchange chatstream recorded, readable from Python.

::

    from chatstream_cli import history

    for conversation in history.conversations(limit=5):
        print(conversation.cid, conversation.model, conversation.turns, conversation.first_prompt)
    for exchange in history.exchanges(cid="3f2a", limit=10):   # a unique prefix of the id is enough
        print(exchange.prompt, "->", exchange.reply, exchange.outcome)
    for exchange in history.search("goldfish"):                 # full-text search over prompts and replies
        print(exchange.cid, exchange.reply)

Each function opens the database (``history.path()``), reads, and closes it; an empty list when
there is no history yet. Failures raise :class:`HistoryError`. SQLite is imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import UsageError

if TYPE_CHECKING:
    import sqlite3

    from .bulk import Writer
    from .queries import Filters, UsedSchema
    from .records import Conversation, Exchange

__all__ = [
    "Attachment",
    "Conversation",
    "Exchange",
    "HistoryError",
    "Outcome",
    "attachment_contents",
    "conversation_turns",
    "conversations",
    "exchanges",
    "find_cid",
    "latest_used",
    "new_cid",
    "path",
    "record",
    "schema_data",
    "search",
    "used_schema",
    "used_schemas",
    "writer",
]

T = TypeVar("T")


_RECORD_TYPES = ("Attachment", "Conversation", "Exchange", "Outcome")


def __getattr__(name: str) -> Any:
    """The record types and HistoryError, imported on first use: a reply that records nothing needs neither."""
    if name == "HistoryError":  # lives beside sqlite3
        from .store import HistoryError

        return HistoryError
    if name in _RECORD_TYPES:
        from . import records

        return getattr(records, name)
    raise AttributeError(name)


def new_cid() -> str:
    """A new conversation id: random, not time-ordered, so that a short prefix of it is unique."""
    return os.urandom(8).hex()


def path() -> Path:
    """Where the history is (it may not exist yet)."""
    from .store import history_path

    return history_path()


@contextmanager
def opened(*, create: bool = False) -> Iterator[sqlite3.Connection | None]:
    """A connection to the history (None when there is none and ``create`` is false), closed afterwards."""
    from .store import connect, history_path, translated_errors

    where = history_path()
    db = connect(where, create=create)
    try:
        with translated_errors(where):
            yield db
    finally:
        if db is not None:
            db.close()


def _read(query: Callable[[sqlite3.Connection], list[T]]) -> list[T]:
    with opened() as db:
        return [] if db is None else query(db)


def record(exchange: Exchange) -> int:
    """Store one exchange; its id in the history."""
    from . import queries

    with opened(create=True) as db:
        assert db is not None
        return queries.record(db, exchange)


def writer() -> Writer:
    """A :class:`~.bulk.Writer` for many exchanges (``with history.writer() as w: w.add(exchange)``)."""
    from .bulk import Writer

    return Writer()


def conversations(limit: int | None = None) -> list[Conversation]:
    """The newest ``limit`` conversations (all by default), oldest first."""
    from . import queries

    return _read(lambda db: queries.conversations(db, limit))


def exchanges(
    cid: str | None = None,
    *,
    limit: int | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[Exchange]:
    """The newest ``limit`` exchanges (all by default), oldest first; ``cid`` may be a unique prefix."""
    from .queries import Filters

    return filtered(lambda db: Filters(cid=_full_cid(db, cid), model=model, since=since, until=until), limit)


def search(text: str, *, limit: int | None = None, cid: str | None = None) -> list[Exchange]:
    """Exchanges whose prompt or reply holds every word of ``text`` (full-text search), oldest first:
    ``capi*`` is a prefix, ``"two words"`` a phrase, AND/OR/NOT combine (history/fts.py)."""
    from .queries import Filters

    return filtered(lambda db: Filters(cid=_full_cid(db, cid), text=text), limit)


def filtered(filters: Callable[[sqlite3.Connection], Filters], limit: int | None) -> list[Exchange]:
    """The newest ``limit`` exchanges that pass the filters made for the open database, oldest first."""
    from . import queries

    return _read(lambda db: queries.latest(db, filters(db), limit))


def conversation_turns(cid: str) -> list[Exchange]:
    """A conversation's exchanges in order (a ``/retry``'s replaced reply left out): what ``-c`` sends."""
    from . import queries

    return _read(lambda db: queries.conversation_turns(db, cid))


def attachment_contents(hashes: list[str]) -> dict[str, bytes]:
    """The bytes kept of the attachments with these hashes, by hash (a URL's and older records' are not)."""
    if not hashes:  # most conversations: no need to open the file again
        return {}
    from . import queries

    with opened() as db:
        return {} if db is None else queries.attachment_contents(db, hashes)


def latest_used(models: Sequence[str]) -> str | None:
    """Of these ``provider:model`` names, the one used last (None: none of them, or no history)."""
    from . import queries

    if not models:
        return None
    return next(iter(_read(lambda db: [queries.latest_used(db, models)])), None)


def used_schemas(prefix: str = "") -> list[UsedSchema]:
    """The schemas replies were asked to satisfy, by hash (those starting with ``prefix``), latest used last."""
    from . import queries

    return _read(lambda db: queries.used_schemas(db, prefix.strip().lower()))


def used_schema(prefix: str) -> UsedSchema | None:
    """The recorded schema whose hash starts with ``prefix``; None when none does; a usage error when several do."""
    found = used_schemas(prefix) if prefix.strip() else []
    if len(found) > 1:
        shown = ", ".join(item.id[:12] for item in found[:5])
        raise UsageError(f"{prefix!r} starts more than one schema id ({shown})", "give more of the id")
    return found[0] if found else None


def schema_data(schema_id: str) -> list[tuple[int, str]]:
    """``(exchange id, reply)`` of every completed exchange made with the schema, oldest first."""
    from . import queries

    return _read(lambda db: queries.schema_data(db, schema_id))


def find_cid(prefix: str | None) -> str:
    """The full id of the conversation ``prefix`` starts, or of the latest conversation when it is None."""
    with opened() as db:
        found = _full_cid(db, prefix) if prefix is not None else _latest_cid(db)
    assert found is not None
    return found


def _latest_cid(db: sqlite3.Connection | None) -> str:
    from . import queries

    found = queries.latest_cid(db) if db is not None else None
    if found is None:
        raise UsageError("there is no conversation to continue yet", "send a prompt without -c first")
    return found


def _full_cid(db: sqlite3.Connection | None, prefix: str | None) -> str | None:
    if prefix is None:
        return None
    from . import queries

    matches = queries.cids_starting(db, prefix.strip().lower()) if db is not None and prefix.strip() else []
    if not matches:
        raise UsageError(f"no conversation id starts with {prefix!r}", "see `chatstream logs list` for the ids")
    if len(matches) > 1:
        shown = ", ".join(match[:12] for match in matches)
        raise UsageError(f"{prefix!r} starts more than one conversation id ({shown})", "give more of the id")
    return matches[0]
