"""What a reply's end says on stderr, even piped or with --quiet, because stdout alone would not show it."""

from __future__ import annotations

import sys

from ..messages import AIMessageChunk
from ..render.safe import neutralise


def tell_endnotes(reply: AIMessageChunk, max_tokens: int | None = None) -> None:
    """Every note the finished reply calls for, each one line on stderr."""
    tell_refusal(reply)
    tell_cut(reply, max_tokens)


CUT_REASONS = frozenset({"max_tokens", "length"})
"""Stop reasons that mean the reply hit its length limit: Anthropic's, and OpenAI-compatible servers'."""


def tell_cut(reply: AIMessageChunk, max_tokens: int | None) -> None:
    """Say on stderr that the reply stopped at its length limit, so a cut answer is not taken for a whole one.
    ``max_tokens`` is the limit that was asked for (None: the server's own)."""
    metadata = reply.response_metadata
    reason = metadata.get("stop_reason") or metadata.get("finish_reason")
    if reason not in CUT_REASONS:
        return
    limit = max_tokens or (reply.usage_metadata or {}).get("output_tokens")
    at = f"{limit:,} tokens" if limit else "its length limit"
    print(f"chatstream: the reply was cut at {at} ({reason}); raise --max-tokens to get the rest", file=sys.stderr)


def tell_refusal(reply: AIMessageChunk) -> None:
    """Say on stderr, even with --quiet or no terminal, that the model refused: the reply has no text,
    so stdout alone would leave the user with nothing."""
    refusal = reply.additional_kwargs.get("refusal")
    if reply.response_metadata.get("stop_reason") == "refusal":  # Anthropic says why in stop_details
        details = reply.response_metadata.get("stop_details") or {}
        refusal = details.get("explanation") or details.get("category") or "no reason given"
    if isinstance(refusal, str) and refusal.strip():
        print(f"chatstream: the model refused: {neutralise(' '.join(refusal.split()))}", file=sys.stderr)
