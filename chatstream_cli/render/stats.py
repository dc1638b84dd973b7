"""``--stats``: one line on stderr after the reply, and the clock that ``--json`` shares.

``claude-haiku-4-5 · 16 in · 142 out · first token 412 ms · 63.1 tok/s · 2.25 s``: time to
first token runs from when the request goes out (``request_sent``, called by the provider's HTTP
client; ``start`` when nothing was sent, as for the builtin models) to the first token of text
or thinking, so loading an SDK is not counted; tokens per second are the output tokens over the
time from the first token to the last. The token counts are the ones the provider reported, counted
once (the chunks' ``report``), where LangChain's merged ``usage_metadata`` would add up running totals
or miss a count.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..messages import AIMessageChunk, content_text, thinking_text
from ..usage import Report
from . import Renderer


class ReplyClock:
    """Times one reply: the request, its first token, its last token, its end."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.sent = False
        self.first_token: float | None = None
        self.last_token: float | None = None
        self.ended: float | None = None
        self._seen: AIMessageChunk | None = None

    def start(self) -> None:
        self.started = time.perf_counter()

    def request_sent(self) -> None:
        """The first request of the reply is going out: the clock starts again from here."""
        if not self.sent:
            self.sent = True
            self.started = time.perf_counter()

    def observe(self, chunk: AIMessageChunk) -> None:
        """A chunk arrived; a clock shared by several renderers sees each chunk once."""
        if chunk is self._seen:
            return
        self._seen = chunk
        if content_text(chunk.content) or thinking_text(chunk):
            now = time.perf_counter()
            if self.first_token is None:
                self.first_token = now
            self.last_token = now

    def stop(self) -> None:
        self.ended = time.perf_counter()

    @property
    def first_token_ms(self) -> float | None:
        if self.started is None or self.first_token is None:
            return None
        return (self.first_token - self.started) * 1000

    @property
    def total_ms(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return (self.ended - self.started) * 1000

    def tokens_per_s(self, output_tokens: int | None) -> float | None:
        if output_tokens is None or self.first_token is None or self.last_token is None:
            return None
        span = self.last_token - self.first_token
        return output_tokens / span if span > 0 else None


def usage_of(reply: AIMessageChunk | None, report: Report | None = None) -> dict[str, Any]:
    """Input, output and total tokens as the provider reported them, counted once (None where it did not),
    with the prompt-cache reads and writes and the thinking (reasoning) tokens within the output when there
    were any:
    the report's, else (a provider without one) the sum of the chunks' ``usage_metadata``."""
    report = report or (reply.report if reply is not None else None)
    usage = (report.usage if report is not None else None) or (reply.usage_metadata if reply is not None else None)
    usage = usage or {}
    counts = {key: usage.get(key) for key in ("input_tokens", "output_tokens", "total_tokens")}
    reasoning = (usage.get("output_token_details") or {}).get("reasoning")
    thinking = {"reasoning": reasoning} if reasoning else {}
    return {**counts, **cache_counts(usage.get("input_token_details") or {}), **thinking}


def stop_reason_of(reply: AIMessageChunk | None, report: Report | None = None) -> str | None:
    """Why the reply stopped, once: the report's reason, else the merged metadata's."""
    report = report or (reply.report if reply is not None else None)
    if report is not None and report.stop_reason:
        return report.stop_reason
    metadata = reply.response_metadata if reply is not None else {}
    return metadata.get("stop_reason") or metadata.get("finish_reason")


def cache_counts(details: dict[str, Any]) -> dict[str, int]:
    """Cache reads and writes from usage_metadata's input_token_details (writes may be split by lifetime)."""
    read = details.get("cache_read") or 0
    written = sum(
        details.get(key) or 0 for key in ("cache_creation", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    )
    return {key: value for key, value in (("cache_read", read), ("cache_creation", written)) if value}


def model_of(reply: AIMessageChunk | None, requested: str) -> str:
    """The model that answered, as the provider named it, else the one asked for."""
    if reply is not None and reply.report is not None and reply.report.model:
        return reply.report.model
    named = reply.response_metadata.get("model_name") if reply is not None else None
    return named if isinstance(named, str) and named else requested


def stats_line(model: str, usage: dict[str, Any], clock: ReplyClock) -> str:
    """The --stats line; figures nobody reported are left out."""
    parts = [model]
    if usage["input_tokens"] is not None:
        parts.append(f"{usage['input_tokens']} in")
    if usage.get("cache_read"):
        parts.append(f"{usage['cache_read']} cache read")
    if usage.get("cache_creation"):
        parts.append(f"{usage['cache_creation']} cache write")
    if usage["output_tokens"] is not None:
        parts.append(f"{usage['output_tokens']} out")
    if usage.get("reasoning"):
        parts.append(f"{usage['reasoning']} thinking")
    if clock.first_token_ms is not None:
        parts.append(f"first token {clock.first_token_ms:.0f} ms")
    rate = clock.tokens_per_s(usage["output_tokens"])
    if rate is not None:
        parts.append(f"{rate:.1f} tok/s")
    if clock.total_ms is not None:
        parts.append(f"{clock.total_ms / 1000:.2f} s")
    return " · ".join(parts)


class StatsRenderer:
    """Wraps any renderer; after a completed reply, writes the stats line to stderr."""

    def __init__(
        self, inner: Renderer, requested_model: str, out: TextIO | None = None, clock: ReplyClock | None = None
    ) -> None:
        self.inner = inner
        self.requested_model = requested_model
        self.out = out or sys.stderr
        self.clock = clock or ReplyClock()

    def start(self) -> None:
        self.clock.start()
        self.inner.start()

    def chunk(self, chunk: AIMessageChunk) -> None:
        self.clock.observe(chunk)
        self.inner.chunk(chunk)

    def finish(self, reply: AIMessageChunk) -> None:
        self.clock.stop()
        self.inner.finish(reply)
        line = stats_line(model_of(reply, self.requested_model), usage_of(reply), self.clock)
        print(line, file=self.out, flush=True)

    def abort(self, error: BaseException) -> None:
        self.inner.abort(error)
