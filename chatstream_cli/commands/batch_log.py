"""A batch's results in the history: each line's exchange, so that ``logs --schema ID --data`` finds them.

Only a batch with ``--schema`` is recorded: its results are the data an extraction is run for, and
``logs`` is where they are read back, whatever run made them. A batch without one is not (a 100,000-line
batch would bury the conversations of ``logs list``; its ``--out`` file is its record). Each line is a
conversation of its own, as a one-off prompt is; ``--no-log``, ``CHATSTREAM_NO_LOG=1`` and ``log = false``
turn the recording off. The writer commits in groups (history/bulk.py), never one open per line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .conversation import logging_wanted, recorded_settings, storable, storable_message
from .endnotes import CUT_REASONS

if TYPE_CHECKING:
    from ..batch.input import BatchItem
    from ..batch.results import BatchResult
    from ..history import Exchange
    from ..runnable import ModelSettings

Record = Callable[["BatchResult"], None]


@contextmanager
def batch_log(
    settings: ModelSettings, system: str | None, no_log: bool, config_log: bool | None
) -> Iterator[Record | None]:
    """What records each result before it is written (None: this batch is not recorded); a history that
    fails is one warning on stderr, and the batch goes on."""
    if settings.schema is None or not logging_wanted(no_log, config_log):
        yield None
        return
    from .. import history

    writer = history.writer()
    try:
        writer.open()
    except history.HistoryError as exc:
        _warn(exc)
        yield None
        return

    def record(result: BatchResult) -> None:
        if writer.is_open:
            try:
                exchange = batch_exchange(result, settings, system)
                writer.add(exchange)
            except history.HistoryError as exc:
                writer.close()
                _warn(exc)
            else:
                if "cid" in result.line:  # a completed line says where the history has it, as --json does
                    result.line["cid"] = exchange.cid

    try:
        yield record
    finally:
        try:
            writer.close()  # also after Ctrl-C: the results already written out are recorded
        except history.HistoryError as exc:
            _warn(exc)


def _warn(exc: Exception) -> None:
    print(f"chatstream: warning: the batch's results are not all recorded: {exc}", file=sys.stderr)


def batch_exchange(result: BatchResult, settings: ModelSettings, system: str | None) -> Exchange:
    """The history's record of one result line (a failure with its error, and the text that arrived)."""
    from ..history import Exchange, Outcome, new_cid
    from ..messages import HumanMessage, SystemMessage, content_text

    line, item, schema = result.line, result.item, settings.schema
    assert item is not None and schema is not None
    messages = item.with_system(system)
    prompt = next((content_text(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    sent_system = next((content_text(m.content) for m in messages if isinstance(m, SystemMessage)), None)
    usage: dict[str, Any] = line.get("usage") or {}
    timing: dict[str, Any] = line.get("timing") or {}
    error = line.get("error")
    return Exchange(
        cid=new_cid(),
        model=line.get("model") or item.model or "",
        provider=line.get("provider") or "",
        prompt=storable(prompt),
        reply=storable(line.get("content") or ""),
        outcome=Outcome.FAILED if error else _outcome(line),
        system=storable(sent_system) if sent_system else None,
        messages=[storable_message(message, {}) for message in messages],
        thinking=storable(line["thinking"]) if line.get("thinking") else None,
        options={**recorded_settings(settings), **_line_settings(item)},
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        total_tokens=usage.get("total_tokens"),
        first_token_ms=timing.get("first_token_ms"),
        total_ms=timing.get("total_ms"),
        stop_reason=line.get("stop_reason"),
        exit_code=int(error["exit_code"]) if error else 0,
        error=error["message"] if error else None,
        run_id=line.get("run_id"),
        schema_id=schema.id,
        schema=schema.wire,
    )


def _outcome(line: dict[str, Any]) -> Any:
    from ..history import Outcome

    return Outcome.MAX_TOKENS if line.get("stop_reason") in CUT_REASONS else Outcome.COMPLETED


def _line_settings(item: BatchItem) -> dict[str, Any]:
    """What the line itself set over the batch's defaults."""
    own = {"max_tokens": item.max_tokens, "temperature": item.temperature}
    return {name: value for name, value in own.items() if value is not None}
