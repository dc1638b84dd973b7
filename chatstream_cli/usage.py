"""What a provider reported about a reply, counted once: its token usage and why it stopped.

LangChain's chunks add up every ``usage_metadata`` they carry and concatenate every stop reason,
which is right for a server that reports usage once and wrong for the others (a running total on
every chunk, an Anthropic ``message_start`` whose input count the final ``message_delta`` leaves
out, a stop reason repeated in the usage chunk). The translators keep LangChain's chunks exactly
and hang a :class:`Report` beside them: the truth so far, which ``--json``, ``--stats`` and the
other views read instead of the merged ``usage_metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

Usage = dict[str, Any]  # usage_metadata's shape: input_tokens, output_tokens, total_tokens, *_token_details


@dataclass(frozen=True, slots=True)
class Report:
    """The usage and the stop reason the provider reported so far (None: not reported yet)."""

    usage: Usage | None = None
    stop_reason: str | None = None
    choices: int = 1  # how many choices the stream carried (more than one only when a server sends n > 1)


def later_report(left: Report | None, right: Report | None) -> Report | None:
    """Reports are snapshots of the truth so far: the later one wins."""
    return right if right is not None else left


class UsageTally:
    """Folds a stream's usage reports into one count, whatever the server's style.

    A report that repeats the previous report's (non-zero) input count is a running total and
    replaces it (Perplexity sends one on every chunk; OpenRouter's error chunk repeats the usage);
    any other report adds to what came before (a server that reports per-chunk deltas).
    """

    def __init__(self) -> None:
        self.usage: Usage | None = None

    def add(self, usage: Usage) -> Usage:
        previous = self.usage
        if previous is None or (usage["input_tokens"] and usage["input_tokens"] == previous["input_tokens"]):
            self.usage = usage
        else:
            self.usage = added(previous, usage)
        return self.usage


def added(left: Usage, right: Usage) -> Usage:
    """Two usage counts added field by field (the details too)."""
    total = dict(left)
    for key, value in right.items():
        if isinstance(value, dict):
            total[key] = added(total.get(key) or {}, value)
        elif isinstance(value, int | float) and isinstance(total.get(key), int | float):
            total[key] = total[key] + value
        else:
            total[key] = value
    return total


def with_stop(report: Report, stop_reason: Any) -> Report:
    """The report with a new stop reason, when the chunk gave one."""
    return replace(report, stop_reason=stop_reason) if isinstance(stop_reason, str) and stop_reason else report
