"""Recording many exchanges at once (a batch's results): one connection, one commit per group of them.

Opening the history (the schema check included), taking its write lock and committing cost far more than
inserting a row, so a batch of 100,000 lines records through one :class:`Writer` that commits every ``every``
exchanges or ``seconds`` seconds, whichever comes first, and whatever is left when it closes.
"""

from __future__ import annotations

from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from .records import Exchange

GROUP_SIZE = 500
"""Exchanges per commit: large enough that the commit's cost vanishes, small enough to hold the lock briefly."""
GROUP_SECONDS = 2.0
"""At most this long between commits, so that a slow batch's records are in the history as it goes."""


class Writer:
    """A history open for writing, recording exchanges in groups; a context manager that commits the rest."""

    def __init__(self, *, every: int = GROUP_SIZE, seconds: float = GROUP_SECONDS) -> None:
        self.every = max(1, every)
        self.seconds = seconds
        self.recorded = 0
        self._pending: list[Exchange] = []
        self._since = monotonic()
        self._db: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def open(self) -> None:
        """Open (and create, or migrate) the history."""
        from .store import connect, history_path

        self._db = connect(history_path(), create=True)

    def add(self, exchange: Exchange) -> None:
        """Queue one exchange; the group is committed when it is full or old enough."""
        self._pending.append(exchange)
        if len(self._pending) >= self.every or monotonic() - self._since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        """Commit the queued exchanges (the queue is emptied even when that fails: a failure is reported once)."""
        from .queries import record_many
        from .store import history_path, translated_errors

        pending, self._pending = self._pending, []
        self._since = monotonic()
        if not pending or self._db is None:
            return
        with translated_errors(history_path()):
            record_many(self._db, pending)
        self.recorded += len(pending)

    def close(self) -> None:
        """Commit what is queued, then close."""
        try:
            self.flush()
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Writer:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
