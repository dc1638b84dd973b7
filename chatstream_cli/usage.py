"""What a provider reported about a reply, counted once: its token usage and why it stopped.

LangChain's chunks add up every ``usage_metadata`` they carry and concatenate every stop reason,
which is right for a server that reports usage once and wrong for the others (a running total on
every chunk, an Anthropic ``message_start`` whose input count the final ``message_delta`` leaves
out, a stop reason repeated in the usage chunk). The translators keep LangChain's chunks exactly
and hang a :class:`Report` beside them, which ``--json``, ``--stats`` and the other views read
instead of the merged ``usage_metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Usage = dict[str, Any]  # usage_metadata's shape: input_tokens, output_tokens, total_tokens, *_token_details


@dataclass(slots=True)
class Report:
    """The usage and the stop reason the provider reported (None: not reported yet).

    One report per response, shared by all its chunks and filled in as the stream goes: so a chunk that
    LangChain emits nothing for (a choice without a delta that says why the reply stopped) still counts.
    """

    usage: Usage | None = None
    stop_reason: str | None = None
    choices: int = 1  # how many choices the stream carried (more than one only when a server sends n > 1)
    model: str | None = None  # the model that answered, as the first chunk naming it said (some repeat it)
    #: What the provider says about how the reply ended, for stderr (Gemini's safety stop, a blocked prompt).
    note: str | None = None
    refusal: str = ""  # an OpenAI refusal's streamed text, which ChatOpenAI's chunks do not carry

    def refused(self, text: Any) -> None:
        """Add a ``refusal`` delta's text."""
        if isinstance(text, str):
            self.refusal += text

    def count(self, usage: Usage) -> None:
        """Take one usage report. One that repeats the previous report's (non-zero) input count is a
        running total and replaces it (Perplexity sends one on every chunk, OpenRouter's error chunk
        repeats it); any other adds to what came before (a server reporting per-chunk deltas)."""
        previous = self.usage
        if previous is None or (usage["input_tokens"] and usage["input_tokens"] == previous["input_tokens"]):
            self.usage = usage
        else:
            self.usage = added(previous, usage)

    def named(self, model: Any) -> None:
        """Note the model the server says answered; the first name counts (LangChain joins repeats)."""
        if self.model is None and isinstance(model, str) and model:
            self.model = model

    def stopped(self, reason: Any) -> None:
        """Note why the reply stopped, when a chunk says it (repeats count once)."""
        if isinstance(reason, str) and reason:
            self.stop_reason = reason


def later_report(left: Report | None, right: Report | None) -> Report | None:
    """The report a sum of two chunks carries (the same one, unless only one has it)."""
    return right if right is not None else left


_DECLARED_ORDER = {
    "": ("input_tokens", "output_tokens", "total_tokens", "input_token_details", "output_token_details"),
    "input_token_details": ("audio", "cache_creation", "cache_read"),
    "output_token_details": ("audio", "reasoning"),
}


def in_declared_order(usage: Usage, where: str = "") -> Usage:
    """Usage as LangChain's pydantic validation leaves it when a chunk is built with it: the TypedDicts'
    declared keys first, in their order, then the others as they came."""
    order = _DECLARED_ORDER.get(where, ())
    keys = [key for key in order if key in usage] + [key for key in usage if key not in order]
    return {key: in_declared_order(usage[key], key) if isinstance(usage[key], dict) else usage[key] for key in keys}


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
