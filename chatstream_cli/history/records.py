"""What the history keeps: an Exchange (one prompt and its reply) and a Conversation (a run of them).

Plain dataclasses with no SQLite in sight, so that building one costs nothing when the history is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How a reply ended."""

    COMPLETED = "completed"
    MAX_TOKENS = "max_tokens"
    REFUSED = "refused"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a prompt, recorded once by its content's hash however many turns send it."""

    sha256: str
    type: str
    size: int
    name: str | None = None
    content: bytes | None = field(default=None, repr=False, compare=False)
    """The bytes, given when recording (kept once per hash); None for a URL, and in what ``logs`` reads."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One prompt and its reply, however the reply ended."""

    cid: str
    model: str
    provider: str
    prompt: str
    reply: str
    outcome: Outcome
    system: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    thinking: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    role: str | None = None
    files: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    first_token_ms: float | None = None
    total_ms: float | None = None
    stop_reason: str | None = None
    exit_code: int = 0
    error: str | None = None
    run_id: str | None = None
    retry_of: int | None = None
    #: The hash of the JSON Schema the reply had to satisfy (``--schema``), and the schema itself.
    schema_id: str | None = None
    schema: dict[str, Any] | None = None
    created_at: str = field(default_factory=lambda: now_iso())
    id: int | None = None
    turn: int | None = None

    @property
    def full_model(self) -> str:
        """``provider:model``, what ``-m`` takes to talk to the same model again."""
        return f"{self.provider}:{self.model}"

    def to_dict(self) -> dict[str, Any]:
        """Every recorded field, JSON-ready (``logs --json``)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["outcome"] = str(self.outcome)
        data["files"] = list(self.files)
        data["attachments"] = [
            {"sha256": item.sha256, "type": item.type, "size": item.size, "name": item.name}
            for item in self.attachments
        ]
        return data


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation as ``logs list`` shows it."""

    cid: str
    model: str
    turns: int
    first_prompt: str
    started_at: str
    updated_at: str


def now_iso() -> str:
    """Now in UTC, ISO 8601 to the millisecond, so that text order is time order."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
