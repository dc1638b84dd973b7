"""Reading and writing exchanges: the SQL behind recording, ``-c``/``--cid``, ``logs`` and the Python API."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .fts import fts_query, syntax_error
from .records import Attachment, Conversation, Exchange, Outcome
from .store import write_transaction

_COLUMNS = (
    "cid",
    "turn",
    "created_at",
    "run_id",
    "provider",
    "model",
    "system",
    "prompt",
    "messages_json",
    "reply",
    "thinking",
    "options_json",
    "role",
    "files_json",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "first_token_ms",
    "total_ms",
    "stop_reason",
    "outcome",
    "exit_code",
    "error",
    "retry_of",
    "schema_id",
)
_SCHEMA_OF_E = "(SELECT content FROM schemas WHERE id = e.schema_id)"
_COLUMNS_OF_E = "SELECT e.id, " + ", ".join(f"e.{name}" for name in _COLUMNS) + f", {_SCHEMA_OF_E}"
_SELECT = _COLUMNS_OF_E + " FROM exchanges e"


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``logs`` narrows the exchanges to; None means no limit of that kind."""

    cid: str | None = None
    model: str | None = None
    since: str | None = None
    until: str | None = None
    text: str | None = None
    schema_id: str | None = None


def record(db: sqlite3.Connection, exchange: Exchange) -> int:
    """Store one exchange (its conversation created or brought up to date); its id."""
    return record_many(db, [exchange])[0]


def record_many(db: sqlite3.Connection, exchanges: Sequence[Exchange]) -> list[int]:
    """Store the exchanges in one transaction (a batch's results: one commit for hundreds); their ids."""
    with write_transaction(db):
        return [_insert(db, exchange) for exchange in exchanges]


def _insert(db: sqlite3.Connection, exchange: Exchange) -> int:
    db.execute(
        "INSERT INTO conversations (cid, started_at, updated_at, model) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (cid) DO UPDATE SET updated_at = excluded.updated_at, model = excluded.model",
        (exchange.cid, exchange.created_at, exchange.created_at, exchange.full_model),
    )
    turn = db.execute("SELECT COALESCE(MAX(turn), 0) + 1 FROM exchanges WHERE cid = ?", (exchange.cid,)).fetchone()
    if exchange.schema_id is not None and exchange.schema is not None:
        db.execute(
            "INSERT INTO schemas (id, content) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (exchange.schema_id, json.dumps(exchange.schema, ensure_ascii=False)),
        )
    values = _row_values(exchange, turn[0])
    placeholders = ", ".join("?" * len(values))
    cursor = db.execute(f"INSERT INTO exchanges ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values)
    exchange_id = int(cursor.lastrowid or 0)
    _link_attachments(db, exchange_id, exchange.attachments)
    return exchange_id


def _row_values(exchange: Exchange, turn: int) -> tuple[Any, ...]:
    return (
        exchange.cid,
        turn,
        exchange.created_at,
        exchange.run_id,
        exchange.provider,
        exchange.model,
        exchange.system,
        exchange.prompt,
        json.dumps(exchange.messages, ensure_ascii=False),
        exchange.reply,
        exchange.thinking,
        json.dumps(exchange.options, ensure_ascii=False, default=str),
        exchange.role,
        json.dumps(list(exchange.files), ensure_ascii=False),
        exchange.input_tokens,
        exchange.output_tokens,
        exchange.total_tokens,
        exchange.first_token_ms,
        exchange.total_ms,
        exchange.stop_reason,
        str(exchange.outcome),
        exchange.exit_code,
        exchange.error,
        exchange.retry_of,
        exchange.schema_id,
    )


def _link_attachments(db: sqlite3.Connection, exchange_id: int, attachments: Sequence[Attachment]) -> None:
    """Each attachment's content is known by its hash: one row however many turns send it."""
    for position, item in enumerate(attachments):
        db.execute(
            "INSERT INTO attachments (sha256, type, size, content) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) "
            "DO UPDATE SET content = excluded.content WHERE content IS NULL AND excluded.content IS NOT NULL",
            (item.sha256, item.type, item.size, item.content),
        )
        db.execute(
            "INSERT INTO exchange_attachments (exchange_id, position, sha256, name) VALUES (?, ?, ?, ?)",
            (exchange_id, position, item.sha256, item.name),
        )


def latest(db: sqlite3.Connection, filters: Filters, limit: int | None) -> list[Exchange]:
    """The newest ``limit`` exchanges that pass ``filters`` (all when None), oldest first."""
    where, params = _where(filters)
    if filters.text is None:
        query = f"{_SELECT}{where} ORDER BY e.id DESC"
    else:  # driven by the index, newest first, so that LIMIT stops it early: no sort of every match
        query = f"{_COLUMNS_OF_E} FROM exchanges_fts JOIN exchanges e ON e.id = exchanges_fts.rowid{where}"
        query += " ORDER BY exchanges_fts.rowid DESC"
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    try:
        rows = db.execute(query, params).fetchall()
    except sqlite3.OperationalError as exc:
        if filters.text is not None and str(exc).startswith("fts5:"):
            raise syntax_error(filters.text, str(exc)) from None
        raise
    return _with_attachments(db, [_exchange(row) for row in reversed(rows)])


def _where(filters: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.cid is not None:
        clauses.append("e.cid = ?")
        params.append(filters.cid)
    if filters.model is not None:
        clauses.append("(e.model = ? OR e.provider || ':' || e.model = ?)")
        params += [filters.model, filters.model]
    if filters.since is not None:
        clauses.append("e.created_at >= ?")
        params.append(filters.since)
    if filters.until is not None:
        clauses.append("e.created_at < ?")
        params.append(filters.until)
    if filters.schema_id is not None:
        clauses.append("e.schema_id = ?")
        params.append(filters.schema_id)
    if filters.text is not None:
        clauses.append("exchanges_fts MATCH ?")
        params.append(fts_query(filters.text))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def conversation_turns(db: sqlite3.Connection, cid: str) -> list[Exchange]:
    """A conversation's exchanges in order, without those a later ``/retry`` replaced."""
    rows = db.execute(
        f"{_SELECT} WHERE e.cid = ? AND e.id NOT IN "
        "(SELECT retry_of FROM exchanges WHERE cid = ? AND retry_of IS NOT NULL) ORDER BY e.turn",
        (cid, cid),
    ).fetchall()
    return _with_attachments(db, [_exchange(row) for row in rows])


def attachment_contents(db: sqlite3.Connection, hashes: Sequence[str]) -> dict[str, bytes]:
    """The kept bytes of the attachments with these hashes (those without any are left out)."""
    if not hashes:
        return {}
    marks = ", ".join("?" * len(hashes))
    query = f"SELECT sha256, content FROM attachments WHERE content IS NOT NULL AND sha256 IN ({marks})"
    rows = db.execute(query, list(hashes)).fetchall()
    return {sha256: bytes(content) for sha256, content in rows}


def latest_cid(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT cid FROM conversations ORDER BY updated_at DESC, rowid DESC LIMIT 1").fetchone()
    return row[0] if row else None


def latest_used(db: sqlite3.Connection, models: Sequence[str]) -> str | None:
    """Of these ``provider:model`` names, the one a conversation went on with last."""
    marks = ", ".join("?" * len(models))
    row = db.execute(
        f"SELECT model FROM conversations WHERE model IN ({marks}) ORDER BY updated_at DESC, rowid DESC LIMIT 1",
        tuple(models),
    ).fetchone()
    return row[0] if row else None


def cids_starting(db: sqlite3.Connection, prefix: str, limit: int = 5) -> list[str]:
    """Conversation ids that start with ``prefix`` (at most ``limit``)."""
    rows = db.execute(
        "SELECT cid FROM conversations WHERE cid >= ? AND cid < ? ORDER BY cid LIMIT ?",
        (prefix, prefix + "\U0010ffff", limit),
    ).fetchall()
    return [row[0] for row in rows]


def conversations(db: sqlite3.Connection, limit: int | None) -> list[Conversation]:
    """The newest ``limit`` conversations (all when None), oldest first."""
    query = (
        "SELECT c.cid, c.model, c.started_at, c.updated_at, "
        "(SELECT COUNT(*) FROM exchanges WHERE cid = c.cid), "
        "(SELECT prompt FROM exchanges WHERE cid = c.cid ORDER BY turn LIMIT 1) "
        "FROM conversations c ORDER BY c.updated_at DESC, c.rowid DESC"
    )
    params: list[Any] = []
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    rows = db.execute(query, params).fetchall()
    return [
        Conversation(cid=cid, model=model, turns=turns, first_prompt=first or "", started_at=start, updated_at=update)
        for cid, model, start, update, turns, first in reversed(rows)
    ]


def older_than(db: sqlite3.Connection, before: str) -> tuple[int, int]:
    """How many exchanges, and of how many conversations, were recorded before ``before``."""
    row = db.execute("SELECT COUNT(*), COUNT(DISTINCT cid) FROM exchanges WHERE created_at < ?", (before,)).fetchone()
    return int(row[0]), int(row[1])


def delete(db: sqlite3.Connection, *, cid: str | None = None, before: str | None = None) -> tuple[int, int]:
    """Delete a conversation's exchanges, or those older than ``before``; (exchanges, conversations) gone."""
    with write_transaction(db):
        if cid is not None:
            exchanges = db.execute("DELETE FROM exchanges WHERE cid = ?", (cid,)).rowcount
        else:
            exchanges = db.execute("DELETE FROM exchanges WHERE created_at < ?", (before,)).rowcount
        emptied = db.execute("DELETE FROM conversations WHERE cid NOT IN (SELECT cid FROM exchanges)").rowcount
        db.execute("DELETE FROM attachments WHERE sha256 NOT IN (SELECT sha256 FROM exchange_attachments)")
    return exchanges, emptied


def _exchange(row: Sequence[Any]) -> Exchange:
    values = dict(zip(("id", *_COLUMNS, "schema"), row, strict=True))
    values["schema"] = json.loads(values["schema"]) if values["schema"] else None
    values["messages"] = json.loads(values.pop("messages_json"))
    values["options"] = json.loads(values.pop("options_json"))
    values["files"] = tuple(json.loads(values.pop("files_json")))
    values["outcome"] = Outcome(values["outcome"])
    return Exchange(**values)


def _with_attachments(db: sqlite3.Connection, exchanges: list[Exchange]) -> list[Exchange]:
    ids = [exchange.id for exchange in exchanges]
    if not ids:
        return exchanges
    rows = db.execute(
        "SELECT l.exchange_id, a.sha256, a.type, a.size, l.name FROM exchange_attachments l "
        f"JOIN attachments a USING (sha256) WHERE l.exchange_id IN ({', '.join('?' * len(ids))}) "
        "ORDER BY l.exchange_id, l.position",
        ids,
    ).fetchall()
    if not rows:
        return exchanges
    found: dict[int, list[Attachment]] = {}
    for exchange_id, sha256, kind, size, name in rows:
        found.setdefault(exchange_id, []).append(Attachment(sha256=sha256, type=kind, size=size, name=name))
    return [_replace_attachments(exchange, found.get(exchange.id or 0, [])) for exchange in exchanges]


def _replace_attachments(exchange: Exchange, attachments: list[Attachment]) -> Exchange:
    return replace(exchange, attachments=tuple(attachments)) if attachments else exchange


# -- schemas --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsedSchema:
    """A schema the history holds: its hash, its JSON, how many exchanges used it and when last."""

    id: str
    schema: dict[str, Any]
    uses: int
    last_used: str | None


def used_schemas(db: sqlite3.Connection, prefix: str = "") -> list[UsedSchema]:
    """The schemas whose id starts with ``prefix`` (all for ""), most recently used last."""
    rows = db.execute(
        "SELECT s.id, s.content, COUNT(e.id), MAX(e.created_at) FROM schemas s "
        "LEFT JOIN exchanges e ON e.schema_id = s.id WHERE s.id >= ? AND s.id < ? "
        "GROUP BY s.id ORDER BY MAX(e.created_at), s.id",
        (prefix, prefix + "\U0010ffff"),
    ).fetchall()
    return [UsedSchema(id, json.loads(content), uses, last) for id, content, uses, last in rows]


def schema_data(db: sqlite3.Connection, schema_id: str) -> list[tuple[int, str]]:
    """``(exchange id, reply)`` of every completed exchange made with the schema, oldest first."""
    return db.execute(
        "SELECT id, reply FROM exchanges WHERE schema_id = ? AND exit_code = 0 ORDER BY id", (schema_id,)
    ).fetchall()
