"""The history's SQLite file: where it lives, opening it safely, and its schema's migrations.

One database, ``history.db``, in platformdirs' user data dir for chatstream (or ``$CHATSTREAM_HOME``),
created with mode 0600 in a 0700 directory. WAL mode and a busy timeout let several chatstream
processes write at once; ``PRAGMA user_version`` says which migrations ran. A file that is not a
database, or that a newer chatstream wrote, is reported and left exactly as it is.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError

HISTORY_NAME = "history.db"
BUSY_TIMEOUT_S = 5.0
"""How long a writer waits for the others: twenty processes recording at once on a loaded 2-core machine
waited up to 1.6 s; a history locked for longer is reported after this wait, the reply already shown."""


class HistoryError(ConfigError):
    """The history cannot be used; the message names the file and says why."""

    error_type = "history_error"

    def __init__(self, path: Path, why: str, hint: str) -> None:
        super().__init__(f"cannot use the history {path}: {why}", hint)
        self.path = path
        self.why = why


def history_path() -> Path:
    """``$CHATSTREAM_HOME/history.db``, else ``history.db`` in the user data dir."""
    from ..config import data_dir

    return data_dir() / HISTORY_NAME


# -- the schema ---------------------------------------------------------------------------------


def _v1(db: sqlite3.Connection) -> None:
    """Conversations, their exchanges, attachments by hash, and full-text search over prompts and replies."""
    run_script(
        db,
        """
        CREATE TABLE conversations (
            cid TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            model TEXT NOT NULL                         -- provider:model of its latest exchange
        );
        CREATE INDEX conversations_by_update ON conversations(updated_at);
        CREATE TABLE exchanges (
            id INTEGER PRIMARY KEY,
            cid TEXT NOT NULL REFERENCES conversations(cid) ON DELETE CASCADE,
            turn INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            run_id TEXT,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            system TEXT,
            prompt TEXT NOT NULL,
            messages_json TEXT NOT NULL,                -- the messages sent, earlier turns included
            reply TEXT NOT NULL,                        -- what arrived, however the reply ended
            thinking TEXT,
            options_json TEXT NOT NULL,                 -- the request's settings and -o options
            role TEXT,
            files_json TEXT NOT NULL,                   -- the files sent as context, by name
            input_tokens INTEGER,
            output_tokens INTEGER,
            total_tokens INTEGER,
            first_token_ms REAL,
            total_ms REAL,
            stop_reason TEXT,
            outcome TEXT NOT NULL,                      -- completed, max_tokens, refused, interrupted, failed
            exit_code INTEGER NOT NULL,
            error TEXT,
            retry_of INTEGER REFERENCES exchanges(id) ON DELETE SET NULL
        );
        CREATE INDEX exchanges_by_cid ON exchanges(cid, turn);
        CREATE INDEX exchanges_by_time ON exchanges(created_at);
        CREATE TABLE attachments (
            sha256 TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            size INTEGER NOT NULL
        );
        CREATE TABLE exchange_attachments (
            exchange_id INTEGER NOT NULL REFERENCES exchanges(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            sha256 TEXT NOT NULL REFERENCES attachments(sha256),
            name TEXT,
            PRIMARY KEY (exchange_id, position)
        );
        CREATE INDEX exchange_attachments_by_hash ON exchange_attachments(sha256);
        CREATE VIRTUAL TABLE exchanges_fts USING fts5(prompt, reply, content='exchanges', content_rowid='id');
        CREATE TRIGGER exchanges_fts_insert AFTER INSERT ON exchanges BEGIN
            INSERT INTO exchanges_fts(rowid, prompt, reply) VALUES (new.id, new.prompt, new.reply);
        END;
        CREATE TRIGGER exchanges_fts_delete AFTER DELETE ON exchanges BEGIN
            INSERT INTO exchanges_fts(exchanges_fts, rowid, prompt, reply)
                VALUES ('delete', old.id, old.prompt, old.reply);
        END;
        CREATE TRIGGER exchanges_fts_update AFTER UPDATE OF prompt, reply ON exchanges BEGIN
            INSERT INTO exchanges_fts(exchanges_fts, rowid, prompt, reply)
                VALUES ('delete', old.id, old.prompt, old.reply);
            INSERT INTO exchanges_fts(rowid, prompt, reply) VALUES (new.id, new.prompt, new.reply);
        END;
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    """An attachment's bytes, kept once by their hash, so that a continued conversation sends it again."""
    db.execute("ALTER TABLE attachments ADD COLUMN content BLOB")  # NULL for a URL, or one recorded before v2


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run SQL statements one by one, inside the caller's transaction (executescript would commit it)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def _v3(db: sqlite3.Connection) -> None:
    """The JSON Schemas replies were asked to satisfy (``--schema``), each once, by the hash of its content."""
    run_script(
        db,
        """
        CREATE TABLE schemas (
            id TEXT PRIMARY KEY,                        -- sha256 of the schema's canonical JSON
            content TEXT NOT NULL
        );
        ALTER TABLE exchanges ADD COLUMN schema_id TEXT REFERENCES schemas(id);
        CREATE INDEX exchanges_by_schema ON exchanges(schema_id) WHERE schema_id IS NOT NULL;
        """,
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3)
"""Migration n (from 1) takes the schema from version n-1 to n; a release that changes the schema adds one."""
SCHEMA_VERSION = len(MIGRATIONS)


# -- opening ------------------------------------------------------------------------------------


@contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """SQLite's and the file system's failures as a HistoryError naming the file and what to do."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _history_error(path, exc) from exc
    except OSError as exc:
        raise HistoryError(path, exc.strerror or str(exc), "check the file and its directory") from exc


def _history_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return HistoryError(path, "it is locked by another process", "try again once that process is done")
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return HistoryError(path, f"it is not a usable SQLite database ({exc})", "move it aside; it was left untouched")
    if name.startswith("SQLITE_FULL"):
        return HistoryError(path, "the disk is full", "free some space")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY")):
        return HistoryError(path, f"it cannot be opened or written ({exc})", "check its permissions")
    return HistoryError(path, str(exc), "check the file and the disk")


def connect(path: Path, *, create: bool) -> sqlite3.Connection | None:
    """An open, migrated connection; None when the file does not exist and ``create`` is false."""
    if not path.exists() and not create:
        return None
    with translated_errors(path):
        if create:
            create_private(path)
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            _prepare(db, path)
        except BaseException:
            db.close()
            raise
    return db


def create_private(path: Path) -> None:
    """The directory (0700) and an empty file (0600) before SQLite creates them with looser modes."""
    try:
        path.parent.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        pass  # there already, or another chatstream made it a moment ago: the file is next either way
    else:
        path.parent.chmod(0o700)  # mkdir's mode passes through the umask
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(descriptor, 0o600)
    os.close(descriptor)


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    db.execute("PRAGMA foreign_keys = ON")
    version = _schema_version(db, path)
    if version < SCHEMA_VERSION:
        _migrate(db, path)
    db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash can lose the last commit, never corrupt
    keep_wal_on_close(db)


def keep_wal_on_close(db: sqlite3.Connection) -> None:
    """Leave the WAL for the next process instead of checkpointing and deleting it at every exit: that
    costs four fsyncs (tens of milliseconds on a VM's disk) per recorded reply. SQLite still checkpoints
    as the WAL grows. Python 3.12 and later can say so; 3.11 keeps SQLite's default."""
    option = getattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE", None)
    if option is not None and hasattr(db, "setconfig"):
        db.setconfig(option, True)


def _schema_version(db: sqlite3.Connection, path: Path) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(
            path,
            f"a newer chatstream wrote it (schema v{version}; this one knows up to v{SCHEMA_VERSION})",
            "upgrade chatstream; the file was left untouched",
        )
    return version


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Run the migrations the file lacks, in one transaction, unless another process just did."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")  # kept in the file: every later connection gets it
    with write_transaction(db):
        version = _schema_version(db, path)
        for migration in MIGRATIONS[version:]:
            migration(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """A transaction that takes the write lock at once (waiting up to the busy timeout), all or nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:  # SQLite itself rolls back after some failures, such as a full disk
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
