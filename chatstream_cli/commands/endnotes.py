"""What a reply's end says on stderr, even piped or with --quiet, because stdout alone would not show it."""

from __future__ import annotations

import sys

from ..messages import AIMessageChunk
from ..render.safe import neutralise


def tell_endnotes(reply: AIMessageChunk) -> None:
    """Every note the finished reply calls for, each one line on stderr."""
    tell_refusal(reply)


def tell_refusal(reply: AIMessageChunk) -> None:
    """Say on stderr, even with --quiet or no terminal, that the model refused: the reply has no text,
    so stdout alone would leave the user with nothing."""
    refusal = refusal_reason(reply)
    if refusal:
        print(f"chatstream: the model refused: {neutralise(' '.join(refusal.split()))}", file=sys.stderr)


def refusal_reason(reply: AIMessageChunk) -> str | None:
    """Why the model refused, when it did."""
    refusal = reply.additional_kwargs.get("refusal")
    if reply.response_metadata.get("stop_reason") == "refusal":  # Anthropic says why in stop_details
        details = reply.response_metadata.get("stop_details") or {}
        refusal = details.get("explanation") or details.get("category") or "no reason given"
    return refusal if isinstance(refusal, str) and refusal.strip() else None
