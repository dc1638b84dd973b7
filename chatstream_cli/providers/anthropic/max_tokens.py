"""The default ``max_tokens`` of a Claude model: its maximum output, so that a reply is not cut short.

One table for every way to reach Claude: a model id from the direct API (``claude-sonnet-4-5``), Bedrock
(``us.anthropic.claude-sonnet-4-5-20250929-v1:0``) or Vertex AI (``claude-sonnet-4-5@20250929``) is
matched by the longest family prefix from its ``claude-`` on. Ids the table does not know get
:data:`FALLBACK`, which every current model accepts.
"""

from __future__ import annotations

FALLBACK = 8_192
"""For model ids the table does not know: what the oldest models still served (claude-3-5) allow."""

# Family prefix -> maximum output tokens (Anthropic's model overview; the 5.x figures are the 4.6 family's).
MAX_OUTPUT_TOKENS: dict[str, int] = {
    "claude-3-haiku": 4_096,
    "claude-3-opus": 4_096,
    "claude-3-sonnet": 4_096,
    "claude-3-5-haiku": 8_192,
    "claude-3-5-sonnet": 8_192,
    "claude-3-7-sonnet": 64_000,
    "claude-haiku-4-5": 64_000,
    "claude-sonnet-4": 64_000,
    "claude-opus-4": 32_000,
    "claude-opus-4-5": 64_000,
    "claude-opus-4-6": 128_000,
    "claude-opus-4-7": 128_000,
    "claude-opus-4-8": 128_000,
    "claude-sonnet-4-6": 64_000,
    "claude-haiku-5": 64_000,
    "claude-sonnet-5": 64_000,
    "claude-opus-5": 128_000,
    "claude-fable-5": 128_000,
    "claude-mythos-5": 128_000,
}


def max_output_tokens(model: str) -> int:
    """The most tokens ``model`` may write in one reply; :data:`FALLBACK` for an unknown id."""
    start = model.find("claude-")
    if start < 0:
        return FALLBACK
    name = model[start:]
    matches = [
        prefix for prefix in MAX_OUTPUT_TOKENS if name == prefix or name.startswith((f"{prefix}-", f"{prefix}@"))
    ]
    return MAX_OUTPUT_TOKENS[max(matches, key=len)] if matches else FALLBACK
