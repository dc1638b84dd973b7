"""What a reply's end says on stderr, even piped or with --quiet, because stdout alone would not show it."""

from __future__ import annotations

import sys

from ..messages import AIMessageChunk
from ..render.safe import neutralise
from ..render.stats import stop_reason_of

CONTENT_FILTER = "content_filter"
GEMINI = "google_genai"


def tell_endnotes(
    reply: AIMessageChunk, max_tokens: int | None = None, *, schema: bool = False, chain_limit: int | None = None
) -> None:
    """Every note the finished reply calls for, each one line on stderr. With ``--schema`` a tool call is
    the forced tool's, whose input is the answer: nothing to tell; ``chain_limit``: the tool chain stopped
    there, with the reply's calls not run."""
    tell_refusal(reply)
    tell_content_filter(reply)
    tell_provider_note(reply)
    if chain_limit is not None:
        _say(f"stopped after {chain_limit} rounds of tool calls, the last calls not run (raise --chain-limit)")
    elif not schema:
        tell_tool_calls(reply)
    tell_mixed_choices(reply)
    tell_cut(reply, max_tokens)


CUT_REASONS = frozenset({"max_tokens", "length", "MAX_TOKENS"})
"""Stop reasons that mean the reply hit its length limit: Anthropic's, OpenAI-compatible servers', Gemini's."""


def tell_cut(reply: AIMessageChunk, max_tokens: int | None) -> None:
    """Say on stderr that the reply stopped at its length limit, so a cut answer is not taken for a whole one.
    ``max_tokens`` is the limit that was asked for (None: the server's own)."""
    reason = stop_reason_of(reply)
    if reason not in CUT_REASONS:
        return
    limit = max_tokens or (reply.usage_metadata or {}).get("output_tokens")
    at = f"{limit:,} tokens" if limit else "its length limit"
    _say(f"the reply was cut at {at} ({reason}); raise --max-tokens to get the rest")


def tell_refusal(reply: AIMessageChunk) -> None:
    """Say on stderr, even with --quiet or no terminal, that the model refused: the reply has no text,
    so stdout alone would leave the user with nothing."""
    refusal = refusal_reason(reply)
    if refusal:
        _say(f"the model refused: {neutralise(' '.join(refusal.split()))}")


def refusal_reason(reply: AIMessageChunk) -> str | None:
    """Why the model refused, when it did."""
    refusal = reply.additional_kwargs.get("refusal") or (reply.report.refusal if reply.report else None)
    if reply.response_metadata.get("stop_reason") == "refusal":  # Anthropic says why in stop_details
        details = reply.response_metadata.get("stop_details") or {}
        refusal = details.get("explanation") or details.get("category") or "no reason given"
    return refusal if isinstance(refusal, str) and refusal.strip() else None


def tell_content_filter(reply: AIMessageChunk) -> None:
    """An OpenAI-compatible server (Azure, mostly) cut the reply with its content filter: the text stops short."""
    noted = reply.report is not None and reply.report.note
    if stop_reason_of(reply) == CONTENT_FILTER and not noted:  # the provider's note names what was filtered
        _say("the provider's content filter refused the rest of the reply (finish_reason content_filter)")


def tell_provider_note(reply: AIMessageChunk) -> None:
    """What the provider said about the reply's end (Gemini's safety filters, a blocked prompt, a recitation)."""
    note = reply.report.note if reply.report is not None else None
    if note is None and reply.response_metadata.get("model_provider") == GEMINI:  # a whole reply: no report
        from ..providers.gemini.wire import whole_reply_note

        note = whole_reply_note(reply.response_metadata)
    if note:
        _say(neutralise(" ".join(note.split())))


def tell_tool_calls(reply: AIMessageChunk) -> None:
    """The reply ended by asking for tools, which chatstream does not run: say so, or it looks cut short."""
    names = [neutralise(str(call.get("name") or "?")) for call in reply.tool_calls]
    if names:
        calls = "a tool call" if len(names) == 1 else f"{len(names)} tool calls"
        _say(f"the reply ended in {calls} ({', '.join(names)}), which chatstream does not run; --json shows them")


def tell_mixed_choices(reply: AIMessageChunk) -> None:
    """A server sent several replies (choices) in one stream: they are shown mixed, as ChatOpenAI mixes them."""
    choices = reply.report.choices if reply.report is not None else 1
    if choices > 1:
        _say(f"the server sent {choices} replies (choices) in one stream; they are shown mixed as they arrived")


def _say(note: str) -> None:
    print(f"chatstream: {note}", file=sys.stderr)
