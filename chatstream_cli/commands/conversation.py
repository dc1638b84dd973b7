"""A prompt's place in the history: the conversation it continues, and the record of its exchange.

``Thread`` is what ``-c``/``--cid`` (and each turn of ``chat``) carries from one exchange to the next;
``Transcript`` watches a reply go by so that it can be recorded however it ends. Recording never
costs the reply: a history that cannot be written is one warning line on stderr.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ChatstreamError, ExitCode, Interrupted, Terminated, UsageError, interrupted_exit_code
from ..messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    Pieces,
    SystemMessage,
    content_text,
    thinking_text,
)
from ..render import Renderer
from ..render.stats import ReplyClock, model_of, stop_reason_of, usage_of
from ..render.utf8 import to_utf8
from .endnotes import CUT_REASONS, refusal_reason

if TYPE_CHECKING:
    from ..history import Attachment, Exchange, Outcome
    from ..prompting.assemble import Prompt
    from ..prompting.attachments import Attachment as PromptAttachment
    from ..runnable import ModelSettings
    from ..schema import OutputSchema

_SECRET_WORDS = ("key", "token", "secret", "password", "auth", "credential")


def logging_wanted(no_log: bool, config_log: bool | None) -> bool:
    """Whether to record: not with --no-log, CHATSTREAM_NO_LOG=1 or ``log = false`` in config.toml."""
    return not no_log and os.environ.get("CHATSTREAM_NO_LOG", "") in ("", "0") and config_log is not False


@dataclass(slots=True)
class Thread:
    """The conversation a prompt belongs to: its id (None: nothing is recorded) and its earlier turns."""

    cid: str | None
    turns: list[Exchange] = field(default_factory=list)
    log: bool = True
    media: dict[str, str] = field(default_factory=dict)
    """The base64 of the earlier turns' attachments by the hash of their bytes: what they send again."""

    @property
    def model(self) -> str | None:
        """The model of the latest turn, which a continued conversation keeps unless -m says otherwise."""
        return self.turns[-1].full_model if self.turns else None

    @property
    def system(self) -> str | None:
        return self.turns[-1].system if self.turns else None

    def messages(
        self, system: str | None, prompt: str | list[dict[str, Any]], *, with_tools: bool = False
    ) -> list[BaseMessage]:
        """What goes to the model: the system prompt, the earlier turns as they happened, the new prompt.

        A turn whose replies called tools is sent with its calls and their results when this request has
        tools too (a provider refuses them without), as its replies' text otherwise."""
        messages: list[BaseMessage] = [SystemMessage(content=system)] if system else []
        for turn in self.turns:
            chain = tool_chain_of(turn)
            if with_tools and chain:
                messages += [HumanMessage(content=self._sent_content(turn)), *chain]
                if turn.reply:
                    messages.append(AIMessage(content=turn.reply))
            else:
                said = "\n\n".join(
                    t for t in [*(content_text(m.content) for m in chain if isinstance(m, AIMessage)), turn.reply] if t
                )
                if said:  # a turn that failed before any text would be an empty, rejected message
                    messages += [HumanMessage(content=self._sent_content(turn)), AIMessage(content=said)]
        messages.append(HumanMessage(content=prompt))
        return messages

    def earlier_attachments(self) -> list[PromptAttachment]:
        """The earlier turns' attachments that go to the model again with every new prompt."""
        return [item for turn in self.turns if turn.reply for item in self._resent(turn)]

    def remember(self, attachments: list[PromptAttachment]) -> None:
        """Keep a new turn's attachments for the turns after it."""
        self.media.update((item.sha256, item.base64) for item in attachments if item.sha256 and item.base64)

    def _sent_content(self, turn: Exchange) -> str | list[dict[str, Any]]:
        """A turn's human message as it was first sent: its attachments, then its text (files included)."""
        from ..prompting.assemble import Prompt

        return Prompt(turn.prompt, attachments=self._resent(turn)).human_content()

    def _resent(self, turn: Exchange) -> list[PromptAttachment]:
        return [item for item in map(self._resendable, turn.attachments) if item is not None]

    def _resendable(self, recorded: Attachment) -> PromptAttachment | None:
        """The attachment to send again: from its kept bytes, or its URL; None when neither is there."""
        from ..prompting.attachments import Attachment as PromptAttachment

        source = recorded.name or "attachment"
        if recorded.sha256 in self.media:
            return PromptAttachment(
                source, recorded.type, recorded.size, recorded.sha256, base64=self.media[recorded.sha256]
            )
        if _is_url_record(recorded):
            return PromptAttachment(source, recorded.type, recorded.size or None, None, url=source)
        return None

    def lost_attachments(self) -> list[str]:
        """Each earlier attachment that cannot be sent again (its bytes were not kept), as a line to warn with."""
        return [
            f"turn {turn.turn}'s {recorded.name or recorded.type} is not sent again: the history has no copy of it "
            "(recorded before chatstream kept attachments); attach it again with -a"
            for turn in self.turns
            if turn.reply
            for recorded in turn.attachments
            if self._resendable(recorded) is None
        ]


def tool_chain_of(turn: Exchange) -> list[BaseMessage]:
    """The replies with tool calls and the tool results a turn recorded after its prompt (none for most)."""
    from ..messages import message_from_dict

    recorded = turn.messages
    last_prompt = max((i for i, m in enumerate(recorded) if m.get("type") == "human"), default=len(recorded))
    after = recorded[last_prompt + 1 :]
    if not any(m.get("type") == "tool" for m in after):
        return []
    return [message_from_dict(m) for m in after]


def open_thread(continue_latest: bool, cid: str | None, log: bool) -> Thread:
    """The conversation to continue (``-c``: the latest, ``--cid``: a given one) or a new one."""
    from .. import history

    if continue_latest and cid is not None:
        raise UsageError("-c/--continue and --cid cannot be used together", "-c is the latest, --cid ID a given one")
    if not continue_latest and cid is None:
        return Thread(cid=history.new_cid() if log else None, log=log)
    found = history.find_cid(cid)
    turns = history.conversation_turns(found)
    kept = history.attachment_contents(sorted({item.sha256 for turn in turns for item in turn.attachments}))
    media = {sha: base64.b64encode(data).decode("ascii") for sha, data in kept.items()}
    thread = Thread(cid=found, turns=turns, log=log, media=media)
    for line in thread.lost_attachments():
        print(f"chatstream: warning: {line}", file=sys.stderr)
    return thread


def _is_url_record(recorded: Attachment) -> bool:
    """An attachment given as a URL: recorded by the URL's hash, sent as the URL again."""
    name = recorded.name or ""
    return name.startswith(("http://", "https://")) and recorded.sha256 == hashlib.sha256(name.encode()).hexdigest()


class Transcript:
    """Wraps the renderer: keeps what arrived and when, for the record of a reply that may not complete.

    Only the text and thinking are kept (in batches, as --json does), not a second sum of the chunks:
    that would double the cost of every chunk, and what a cut reply lacks (usage, stop reason) comes last.
    """

    def __init__(self, inner: Renderer, clock: ReplyClock | None = None, *, document: bool = False) -> None:
        self.inner = inner
        self.clock = clock or ReplyClock()
        #: With ``--schema``: keep the document's text, which a forced tool's call carries rather than the content.
        self.text_of: Callable[[AIMessageChunk], str] = _content_text
        if document:
            from ..schema import document_text

            self.text_of = document_text
        self.text = Pieces()
        self.thinking = Pieces()

    def start(self) -> None:
        self.clock.start()
        self.inner.start()

    def chunk(self, chunk: AIMessageChunk) -> None:
        self.clock.observe(chunk)
        text, thinking = self.text_of(chunk), thinking_text(chunk)
        if text:
            self.text.append(text)
        if thinking:
            self.thinking.append(thinking)
        self.inner.chunk(chunk)

    def arrived(self) -> AIMessageChunk:
        """What arrived of a reply that did not complete."""
        thinking = self.thinking.join()
        content: Any = self.text.join()
        if thinking:
            content = [{"type": "thinking", "thinking": thinking}, {"type": "text", "text": content}]
        return AIMessageChunk(content=content)

    def finish(self, reply: AIMessageChunk) -> None:
        self.clock.stop()
        self.inner.finish(reply)

    def abort(self, error: BaseException) -> None:
        self.clock.stop()
        self.inner.abort(error)


def _content_text(chunk: AIMessageChunk) -> str:
    return content_text(chunk.content)


@dataclass(frozen=True, slots=True)
class Sent:
    """What was asked of which model: everything an exchange records besides the reply."""

    model: str
    provider: str
    prompt: Prompt
    system: str | None
    messages: list[BaseMessage]
    settings: ModelSettings
    run_id: str
    role: str | None = None
    retry_of: int | None = None
    schema: OutputSchema | None = None


def record_exchange(
    thread: Thread, sent: Sent, transcript: Transcript, reply: AIMessageChunk | None, error: BaseException | None
) -> None:
    """Add the exchange to the thread and record it in the history (when logging); a history that fails
    is one line on stderr."""
    exchange = build_exchange(thread, sent, transcript, reply, error)
    if thread.log and thread.cid is not None:
        from .. import history

        try:
            exchange = replace(exchange, id=history.record(exchange))
        except history.HistoryError as exc:
            print(f"chatstream: warning: this reply was not recorded: {exc}", file=sys.stderr)
    thread.turns.append(exchange)
    thread.remember(sent.prompt.attachments)


def build_exchange(
    thread: Thread, sent: Sent, transcript: Transcript, reply: AIMessageChunk | None, error: BaseException | None
) -> Exchange:
    from ..history import Exchange

    hashes = {encoded: sha for sha, encoded in thread.media.items()}
    hashes.update((item.base64, item.sha256) for item in sent.prompt.attachments if item.base64 and item.sha256)
    ended = reply if reply is not None else transcript.arrived()
    text = ended.text
    if sent.schema is not None and not text:
        from ..schema import document_text

        text = document_text(ended)  # the forced tool's input, which is the answer
    usage = usage_of(ended)
    outcome, exit_code = outcome_of(reply, error)
    return Exchange(
        cid=thread.cid or "",
        model=model_of(ended, sent.model),
        provider=sent.provider,
        prompt=storable(sent.prompt.words()),
        reply=storable(text),
        outcome=outcome,
        system=storable(sent.system) if sent.system else sent.system,
        messages=[storable_message(message, hashes) for message in sent.messages],
        thinking=storable(thinking_text(ended)) or None,
        options=recorded_settings(sent.settings),
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        total_tokens=usage["total_tokens"],
        first_token_ms=transcript.clock.first_token_ms,
        total_ms=transcript.clock.total_ms,
        stop_reason=stop_reason_of(ended),
        exit_code=exit_code,
        error=_error_text(error),
        run_id=sent.run_id,
        retry_of=sent.retry_of,
        role=sent.role,
        files=tuple(file.path for file in sent.prompt.files),
        attachments=tuple(recorded_attachment(item) for item in sent.prompt.attachments),
        schema_id=sent.schema.id if sent.schema is not None else None,
        schema=sent.schema.wire if sent.schema is not None else None,
    )


def recorded_attachment(attachment: PromptAttachment) -> Attachment:
    """An attachment as the history keeps it: by the hash of its bytes (a URL's, which chatstream never
    downloads whole, by the hash of the URL), once however many turns send it."""
    from ..history import Attachment

    digest = attachment.sha256 or hashlib.sha256(attachment.source.encode()).hexdigest()
    content = base64.b64decode(attachment.base64) if attachment.base64 is not None else None
    return Attachment(
        sha256=digest, type=attachment.media_type, size=attachment.size or 0, name=attachment.source, content=content
    )


def storable(text: str) -> str:
    """Text SQLite can hold: characters a server sent as two UTF-16 halves joined, and what UTF-8 cannot
    carry (a stray half, the bytes of a prompt that was not UTF-8) as U+FFFD."""
    return to_utf8(text).decode("utf-8", "replace")


def storable_message(message: BaseMessage, hashes: dict[str, str]) -> dict[str, Any]:
    """The message as the history keeps it: an attachment's base64 is replaced by the hash of its bytes
    (``hashes``: by base64; the bytes are recorded once, in the attachments table, not in every turn)."""
    data = message.to_dict()
    if isinstance(data["content"], str):
        data["content"] = storable(data["content"])
    else:
        data["content"] = [
            {**{k: v for k, v in block.items() if k != "base64"}, "sha256": hashes.get(block["base64"])}
            if isinstance(block, dict) and "base64" in block
            else block
            for block in data["content"]
        ]
    return data


def outcome_of(reply: AIMessageChunk | None, error: BaseException | None) -> tuple[Outcome, int]:
    """How the reply ended, and the exit code that ending gives."""
    from ..history import Outcome

    if isinstance(error, KeyboardInterrupt | Interrupted):
        return Outcome.INTERRUPTED, int(interrupted_exit_code(error))
    if error is not None:
        return Outcome.FAILED, int(_exit_code(error))
    assert reply is not None
    if stop_reason_of(reply) in CUT_REASONS:
        return Outcome.MAX_TOKENS, int(ExitCode.OK)
    if refusal_reason(reply):
        return Outcome.REFUSED, int(ExitCode.OK)
    return Outcome.COMPLETED, int(ExitCode.OK)


def _exit_code(error: BaseException) -> ExitCode:
    if isinstance(error, ChatstreamError):
        return error.exit_code
    return ExitCode.BROKEN_PIPE if isinstance(error, BrokenPipeError) else ExitCode.BUG


def _error_text(error: BaseException | None) -> str | None:
    if isinstance(error, Terminated):
        return f"terminated by {error.signal_name}"
    if error is None or isinstance(error, KeyboardInterrupt):
        return None
    return str(error) if isinstance(error, ChatstreamError) else f"{type(error).__name__}: {error}"


def recorded_settings(settings: ModelSettings) -> dict[str, Any]:
    """The request's settings as JSON, with anything that could be a credential left out."""
    return {
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "stop": list(settings.stop),
        "thinking": settings.thinking,
        "timeout": settings.timeout,
        "retries": settings.retries,
        "base_url": _without_userinfo(settings.base_url),
        "options": {
            name: "<redacted>" if any(word in name.lower() for word in _SECRET_WORDS) else value
            for name, value in settings.options.items()
        },
    }


def _without_userinfo(url: str | None) -> str | None:
    """A URL without the ``user:password@`` a base URL may carry."""
    if not url or "@" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
