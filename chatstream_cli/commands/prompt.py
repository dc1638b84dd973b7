"""One prompt, one reply: what ``chatstream PROMPT`` does once cli.py has turned its flags into a PromptRequest.

The steps are separate functions so that other commands (chat, batch) can reuse them: read the
prompt, settle the settings (flags > environment > config file > defaults), resolve and build the
model, choose the renderer, run the reply, and tell on stderr what stdout alone would not show.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..driver import Mode, run_reply
from ..errors import ExitCode, UsageError
from ..events import EventRun, event_input
from ..messages import AIMessageChunk
from ..providers import ResolvedModel, build, resolve
from ..render.choose import choose_renderer, json_renderer, make_spinner, with_progress
from ..runnable import DEFAULT_RETRIES, DEFAULT_TIMEOUT, ModelSettings
from ..runs import uuid7
from .conversation import Sent, Thread, Transcript, logging_wanted, open_thread, record_exchange
from .endnotes import tell_endnotes
from .reporting import notice


@dataclass(frozen=True, slots=True)
class PromptRequest:
    """Everything the prompt command's flags say, as plain values (None: not given on the command line)."""

    words: tuple[str, ...] = ()
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    thinking: bool = False
    use_async: bool = False
    no_stream: bool = False
    delimiter: str | None = None
    markdown: bool | None = None
    events: bool = False
    json_output: bool = False
    stats: bool = False
    timeout: float | None = None
    retries: int | None = None
    base_url: str | None = None
    quiet: bool = False
    debug: bool = False
    continue_conversation: bool = False
    cid: str | None = None
    no_log: bool = False

    @property
    def mode(self) -> Mode:
        return Mode.INVOKE if self.no_stream else Mode.ASYNC if self.use_async else Mode.STREAM


def run_prompt(request: PromptRequest) -> AIMessageChunk:
    """Send the request's prompt and show the reply on stdout; errors propagate for ``reporting``."""
    if request.events and request.json_output:
        raise UsageError("--events and --json cannot be used together", "choose one of them")
    text = read_prompt(request.words, sys.stdin.isatty(), sys.stdin.read)
    from ..config import active_config

    config = active_config()
    log = logging_wanted(request.no_log, config.log)
    thread = open_thread(request.continue_conversation, request.cid, log)
    resolved = resolve_model(request.model or thread.model, request, config)
    if request.debug:
        from ..retry import show_http_trace

        show_http_trace()
    return answer(request, config, resolved, thread, text)


def resolve_model(name: str | None, request: PromptRequest, config: Any) -> ResolvedModel:
    """The model a name (or the defaults) stands for, checked against the request's settings."""
    resolved = resolve(name, aliases=config.aliases, default_model=config.default_model)
    check_settings(resolved, request.temperature)
    if resolved.notice:
        notice(resolved.notice, request.quiet)
    return resolved


def answer(
    request: PromptRequest,
    config: Any,
    resolved: ResolvedModel,
    thread: Thread,
    text: str,
    *,
    retry_of: int | None = None,
) -> AIMessageChunk:
    """One turn of the thread: send ``text`` after its earlier turns, show the reply, record the exchange."""
    spinner = make_spinner(resolved.full_name, request.quiet)
    settings = model_settings(request, config, spinner.notice if spinner else lambda text: notice(text, request.quiet))
    chat = build(resolved, settings)
    system = request.system if request.system is not None else thread.system
    messages = thread.messages(system, text)
    run_id = uuid7()
    if request.json_output:
        renderer = json_renderer(resolved.model, resolved.provider.name, run_id, thread.cid)
    else:
        streaming = not request.no_stream
        event_run = EventRun(chat, event_input(messages), run_id, streaming=streaming) if request.events else None
        renderer = choose_renderer(request.delimiter, first_set(request.markdown, config.markdown, True), event_run)
    transcript = Transcript(with_progress(renderer, spinner, request.stats, resolved.model))
    sent = Sent(resolved.model, resolved.provider.name, text, system, messages, settings, run_id, retry_of)
    try:
        with second_interrupt_exits():
            reply = run_reply(chat, messages, transcript, request.mode, run_id=run_id)
    except BaseException as exc:
        record_exchange(thread, sent, transcript, None, exc)
        raise
    record_exchange(thread, sent, transcript, reply, None)
    tell_endnotes(reply)
    return reply


def model_settings(request: PromptRequest, config: Any, on_notice: Callable[[str], None]) -> ModelSettings:
    """The model's settings: the request's flags, else config.toml's defaults, else chatstream's."""
    timeout = first_set(request.timeout, config.timeout, DEFAULT_TIMEOUT)
    return ModelSettings(
        temperature=request.temperature,
        max_tokens=request.max_tokens,
        stop=request.stop,
        thinking=request.thinking,
        timeout=timeout or None,
        retries=first_set(request.retries, config.retries, DEFAULT_RETRIES),
        base_url=request.base_url,
        options=request.options,
        on_notice=on_notice,
    )


def read_prompt(words: Sequence[str], stdin_is_tty: bool, read_stdin: Any) -> str:
    """Combine prompt words and stdin as cli.md says: stdin, a blank line, then the words."""
    words = list(words)
    wants_stdin = words == ["-"]
    if wants_stdin:
        words = []
    piped = read_stdin() if (wants_stdin or not stdin_is_tty) else ""
    text = " ".join(words)
    if piped.strip() and text:
        return f"{piped.rstrip()}\n\n{text}"
    prompt = text or piped
    if not prompt.strip():
        raise UsageError("no prompt given", 'pass it as arguments, e.g. chatstream "hello", or pipe it on stdin')
    return prompt


def check_settings(resolved: ResolvedModel, temperature: float | None) -> None:
    if temperature is None:
        return
    high = resolved.provider.temperature_max
    if not 0 <= temperature <= high:
        raise UsageError(
            f"-t/--temperature {temperature} is out of range for {resolved.provider.name}",
            f"use a value from 0 to {high:g}",
        )


def first_set(*values: Any) -> Any:
    """The first value that is not None: a flag, else the config file's value, else the default."""
    return next(value for value in values if value is not None)


@contextmanager
def second_interrupt_exits() -> Iterator[None]:
    """The first Ctrl-C stops the reply and keeps what was shown (exit 130); a second exits at once."""
    from ..render.tty import saved_modes

    restore_terminal = saved_modes(sys.stdout)  # the live view turns the echo of typed keys off

    def exit_now(signum: int, frame: Any) -> None:
        restore_terminal()
        os._exit(ExitCode.INTERRUPTED)

    def first_interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, exit_now)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
