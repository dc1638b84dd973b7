"""``reverse``: a chatstream provider plugin whose model says the prompt's words backwards.

What it shows of the contract: a ``ChatModel`` subclass that overrides ``_stream``; the settings it is
given (``self.settings``: max_tokens, stop, options from ``-o``); usage on the last chunk; a stop reason
in ``response_metadata``; and errors raised as chatstream's own, so the exit codes stay right.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chatstream_cli.errors import ProviderError, UsageError
from chatstream_cli.messages import AIMessageChunk, BaseMessage, content_text
from chatstream_cli.runnable import ChatModel, ModelSettings

OPTIONS = ("upper",)
MAX_WORD = 40


class ReverseChatModel(ChatModel):
    """Answers with the words of the last message in reverse order, one word per chunk."""

    # What `chatstream models` shows, and what the registry needs to know before a model is built.
    description = "the prompt's words backwards (an example plugin)"
    models = ("words",)
    default_model = "words"
    needs_key = False
    key_env = None
    # The --events identity: ls_provider, and the name of the run.
    provider = "reverse"
    event_name = "ReverseChatModel"

    def __init__(self, model: str, settings: ModelSettings | None = None, **overrides: Any) -> None:
        super().__init__(model, settings, **overrides)
        unknown = sorted(set(self.settings.options) - set(OPTIONS))
        if unknown:  # a usage error: exit 2, one line
            raise UsageError(f"reverse has no option -o {unknown[0]}", "its only option is -o upper true")
        if model not in self.models:
            raise UsageError(f"reverse has no model {model!r}", "use -m reverse:words")

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        prompt = content_text(messages[-1].content) if messages else ""
        words = prompt.split()[::-1]
        longest = max(words, key=len, default="")
        if len(longest) > MAX_WORD:
            # A provider error: exit 4, and `--events` ends with an on_chat_model_error event.
            raise ProviderError(
                f"reverse cannot say a word of {len(longest)} letters (at most {MAX_WORD})",
                "use shorter words",
                error_type="invalid_request",
            )
        if self.settings.options.get("upper"):
            words = [word.upper() for word in words]
        limit = self.settings.max_tokens
        shown = words[:limit] if limit else words
        for position, word in enumerate(shown):
            if word in self.settings.stop:
                shown = shown[:position]
                break
            yield AIMessageChunk(content=word if position == 0 else f" {word}")
        stop_reason = "max_tokens" if limit and len(words) > limit else "end_turn"
        yield AIMessageChunk(
            content="",
            response_metadata={"stop_reason": stop_reason, "model_name": f"reverse-{self.model}"},
            usage_metadata={
                "input_tokens": len(prompt.split()),
                "output_tokens": len(shown),
                "total_tokens": len(prompt.split()) + len(shown),
            },
        )
