"""``--json``: one JSON object on stdout when the reply is complete (cli.md "Where the output goes").

``{"model", "provider", "content", "thinking", "stop_reason", "usage": {...}, "timing": {...},
"run_id", "cid"}``, null where unknown, then what was asked (``prompt``, ``system``, ``files``,
``attachments``, ``options``, ``role``) so results from a loop can be matched to their inputs.
A reply that stops early (an error, Ctrl-C) still gets its object, with what arrived, the usage
reported so far and ``stop_reason`` null, so no partial reply is lost; a failure, even before the first
token, adds ``error`` (``{"message", "type", "status", "exit_code"}``, as a batch line has it). Usage and
stop reason are the provider's, counted once (render/stats.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import ProviderError, error_object
from ..messages import AIMessageChunk, Pieces, content_text, thinking_text
from ..usage import Report, later_report
from .stats import ReplyClock, model_of, stop_reason_of, usage_of
from .utf8 import to_utf8

if TYPE_CHECKING:
    from ..schema.check import ReplyCheck

# C1 controls and DEL, which json.dumps leaves raw: a terminal showing the object could obey them.
_RAW_CONTROLS = re.compile("[\x7f-\x9f]")


def _rounded(value: float | None, digits: int | None = None) -> float | int | None:
    return None if value is None else round(value, digits)


def reply_record(
    reply: AIMessageChunk | None,
    *,
    content: str,
    thinking: str,
    model: str,
    provider: str,
    clock: ReplyClock,
    run_id: str | None,
    cid: str | None = None,
    asked: Mapping[str, Any] | None = None,
    report: Report | None = None,
) -> dict[str, Any]:
    """The --json object, keys in cli.md's order; ``reply`` is None when the reply did not complete
    (``report`` then says what the provider reported before it stopped)."""
    usage = usage_of(reply, report)
    record = {
        "model": model_of(reply, model),
        "provider": provider,
        "content": content,
        "thinking": thinking or None,
        "stop_reason": stop_reason_of(reply) if reply is not None else None,
        "usage": usage,
        "timing": {
            "first_token_ms": _rounded(clock.first_token_ms),
            "total_ms": _rounded(clock.total_ms),
            "tokens_per_s": _rounded(clock.tokens_per_s(usage["output_tokens"]), 1),
        },
        "run_id": run_id,
        "cid": cid,
        **(asked or {}),
    }
    if reply is not None and reply.tool_calls:  # chatstream does not run tools: the caller may
        record = with_key_after(record, "stop_reason", "tool_calls", reply.tool_calls)
    return record


def with_key_after(record: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    """``record`` with ``key`` inserted right after ``after``."""
    items = list(record.items())
    position = [name for name, _ in items].index(after) + 1
    return dict([*items[:position], (key, value), *items[position:]])


class ReplyRecorder:
    """Collects one reply's chunks, clock and usage report and makes its --json object; shared by ``--json``
    and ``batch``."""

    __slots__ = ("_report", "_text", "_thinking", "asked", "check", "cid", "clock", "model", "provider", "run_id")

    def __init__(
        self,
        *,
        model: str,
        provider: str,
        run_id: str | None,
        cid: str | None = None,
        asked: Mapping[str, Any] | None = None,
        clock: ReplyClock | None = None,
        check: ReplyCheck | None = None,
    ) -> None:
        self.model = model
        #: With ``--schema``: the content is the reply's JSON, and ``parsed`` its checked data (null if invalid).
        self.check = check
        self.provider = provider
        self.run_id = run_id
        self.cid = cid
        self.asked = asked
        self.clock = clock or ReplyClock()
        self._text = Pieces()  # kept for a reply that stops early; joined in batches, so memory stays small
        self._thinking = Pieces()
        self._report: Report | None = None

    def chunk(self, chunk: AIMessageChunk) -> None:
        self.clock.observe(chunk)
        self._report = later_report(self._report, chunk.report)
        text, thinking = self._text_of(chunk), thinking_text(chunk)
        if text:
            self._text.append(text)
        if thinking:
            self._thinking.append(thinking)

    def finished(self, reply: AIMessageChunk) -> dict[str, Any]:
        """The object of a complete reply."""
        self.clock.stop()
        record = self._record(reply, self._text_of(reply), thinking_text(reply))
        if self.check is None:
            return record
        verdict = self.check.of(reply)
        return with_key_after(record, "content", "parsed", verdict.document if verdict.valid else None)

    def _text_of(self, chunk: AIMessageChunk) -> str:
        if self.check is None:
            return content_text(chunk.content)
        from ..schema import document_text

        return document_text(chunk)

    def partial(self, error: BaseException | None = None) -> dict[str, Any] | None:
        """The object of a reply that stopped early: what arrived, the usage the error carried and, for a
        failure (not Ctrl-C), its ``error``; None when it was interrupted before anything arrived."""
        self.clock.stop()
        if isinstance(error, ProviderError):
            self._report = later_report(self._report, error.report)
        text, thinking = self._text.join(), self._thinking.join()
        failed = isinstance(error, Exception)
        if not (text or thinking or failed):
            return None
        record = self._record(None, text, thinking)
        if self.check is not None:
            record = with_key_after(record, "content", "parsed", None)
        return with_key_after(record, "stop_reason", "error", error_object(error)) if failed else record

    def _record(self, reply: AIMessageChunk | None, text: str, thinking: str) -> dict[str, Any]:
        return reply_record(
            reply,
            content=text,
            thinking=thinking,
            model=self.model,
            provider=self.provider,
            clock=self.clock,
            run_id=self.run_id,
            cid=self.cid,
            asked=self.asked,
            report=self._report if reply is None else None,
        )


def chain_record(records: list[dict[str, Any]], steps: list[Any]) -> dict[str, Any]:
    """The --json object of a tool chain from its replies' objects (``records``) and the chain's steps
    (``tools.loop.ChainStep``, one per finished reply): the last reply's fields, with the text of every reply,
    the usage added up and ``steps``, each reply's text, calls, results, usage and timing."""
    listed = []
    for position, record in enumerate(records):
        step = steps[position] if position < len(steps) else None
        listed.append(
            {
                "content": record["content"],
                "thinking": record["thinking"],
                "stop_reason": record["stop_reason"],
                "tool_calls": step.reply.tool_calls if step else [],
                "tool_results": [result.record() for result in step.results] if step else [],
                "usage": record["usage"],
                "timing": record["timing"],
                "run_id": record["run_id"],
            }
        )
    whole = dict(records[-1])
    whole["content"] = "\n".join(record["content"] for record in records if record["content"])
    whole["thinking"] = "\n".join(record["thinking"] for record in records if record["thinking"]) or None
    whole["usage"] = _added_usage([record["usage"] for record in records])
    whole["run_id"] = records[0]["run_id"]
    return with_key_after(whole, "stop_reason", "steps", listed)


def _added_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    summed: dict[str, Any] = {}
    for usage in usages:
        for key, value in usage.items():
            summed[key] = None if value is None and summed.get(key) is None else (summed.get(key) or 0) + (value or 0)
    return summed


def json_line(record: dict[str, Any]) -> bytes:
    """``record`` as one line of UTF-8 JSON, C1 controls escaped so a terminal showing it obeys none."""
    line = _RAW_CONTROLS.sub(lambda match: f"\\u{ord(match[0]):04x}", json.dumps(record, ensure_ascii=False))
    return to_utf8(line + "\n")


class JsonRenderer:
    """Collects the reply and writes its JSON object, on one line, at the end."""

    def __init__(self, out: BinaryIO, **recording: Any) -> None:
        self.out = out
        self.recorder = ReplyRecorder(**recording)

    @property
    def clock(self) -> ReplyClock:
        return self.recorder.clock

    def start(self) -> None:
        self.clock.start()

    def chunk(self, chunk: AIMessageChunk) -> None:
        self.recorder.chunk(chunk)

    def finish(self, reply: AIMessageChunk) -> None:
        self._write(self.recorder.finished(reply))

    def abort(self, error: BaseException) -> None:
        record = self.recorder.partial(error)
        if record is not None and not isinstance(error, BrokenPipeError):
            self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(json_line(record))
        self.out.flush()
