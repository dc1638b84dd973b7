"""The batch's result lines: the input's ``id``, then the ``--json`` object's fields, or ``error`` for a failure.

A failure keeps ``model``, ``provider`` and ``run_id``, the text that arrived before it (``content`` and
``thinking``, only when some did), and ``error``: its message, type, HTTP status and exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode, error_object
from .input import BatchItem, ItemId

if TYPE_CHECKING:
    from ..messages import AIMessageChunk
    from ..render.json import ReplyRecorder


@dataclass(slots=True)
class BatchResult:
    """The outcome of one prompt, tagged with its input index."""

    index: int
    id: ItemId
    line: dict[str, Any]
    #: Its place among the items the runner took (``index`` skips what a resumed batch had done already).
    seq: int = -1
    #: The prompt it answers (set by the runner), for the history's record of it.
    item: BatchItem | None = None

    @property
    def error(self) -> dict[str, Any] | None:
        return self.line.get("error")

    @property
    def ok(self) -> bool:
        return "error" not in self.line

    @property
    def usage(self) -> dict[str, Any]:
        return self.line.get("usage") or {}


def success(index: int, item_id: ItemId, record: dict[str, Any]) -> BatchResult:
    return BatchResult(index, item_id, {"id": item_id, **record})


def finished(index: int, item_id: ItemId, recorder: ReplyRecorder, reply: AIMessageChunk) -> BatchResult:
    """A complete reply's line; with a schema, a reply the schema rejects is a failure that keeps its text."""
    record = recorder.finished(reply)
    verdict = recorder.check.of(reply) if recorder.check is not None else None
    if verdict is None or verdict.error is None:
        return success(index, item_id, record)
    return failure(
        index,
        item_id,
        verdict.error,
        model=record["model"],
        provider=record["provider"],
        run_id=record["run_id"],
        partial=record,
    )


def failure(
    index: int,
    item_id: ItemId,
    error: BaseException,
    *,
    model: str | None,
    provider: str | None,
    run_id: str | None = None,
    partial: dict[str, Any] | None = None,
) -> BatchResult:
    """A failed prompt's line; ``partial`` is the --json object of what arrived before the failure, if anything."""
    line: dict[str, Any] = {"id": item_id, "model": model, "provider": provider}
    if partial is not None:
        line.update(content=partial["content"], thinking=partial["thinking"], usage=partial["usage"])
    line.update(run_id=run_id, error=error_object(error))
    return BatchResult(index, item_id, line)


def batch_exit_code(failed_codes: set[int]) -> ExitCode:
    """0 when every prompt completed; 5 when every failure was the network's; 4 for any other failure."""
    if not failed_codes:
        return ExitCode.OK
    return ExitCode.NETWORK if failed_codes == {ExitCode.NETWORK} else ExitCode.PROVIDER
