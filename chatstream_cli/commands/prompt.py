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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ..defaults import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from ..driver import Mode, run_reply
from ..errors import ExitCode, UsageError
from ..events import EventRun, event_input
from ..messages import AIMessageChunk
from ..providers import ResolvedModel, active_config, build, resolve_configured
from ..render.choose import choose_renderer, json_renderer, make_spinner, with_progress
from ..render.stats import ReplyClock
from ..runnable import ModelSettings
from ..runs import uuid7
from .conversation import Sent, Thread, Transcript, logging_wanted, open_thread, record_exchange
from .endnotes import tell_endnotes
from .reporting import notice

if TYPE_CHECKING:
    from ..prompting.assemble import Prompt
    from ..prompting.roles import Role
    from ..render import Renderer


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
    headers: dict[str, str] = field(default_factory=dict)
    quiet: bool = False
    debug: bool = False
    files: tuple[str, ...] = ()
    system_files: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    role: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    extract: str | None = None  # "first" or "last": print only that code block
    no_stdin: bool = False
    continue_conversation: bool = False
    cid: str | None = None
    no_log: bool = False

    @property
    def mode(self) -> Mode:
        return Mode.INVOKE if self.no_stream else Mode.ASYNC if self.use_async else Mode.STREAM

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any]) -> PromptRequest:
        """The request a command's flags make (its parameters by name; those that are not fields are left)."""
        from .options import parse_headers, parse_options, parse_params

        given = dict(flags)
        extract = "last" if given.pop("extract_last", False) else "first" if given.pop("extract", False) else None
        given |= {
            "words": tuple(given.pop("words", None) or ()),
            "stop": tuple(given.pop("stop", None) or ()),
            "options": parse_options(given.pop("option", None) or []),
            "params": parse_params(given.pop("param", None) or []),
            "headers": parse_headers(given.pop("header", None) or []),
            "files": tuple(given.pop("file", None) or ()),
            "system_files": tuple(given.pop("system_file", None) or ()),
            "attachments": tuple(given.pop("attach", None) or ()),
            "extract": extract,
        }
        names = {item.name for item in fields(cls)}
        return cls(**{name: value for name, value in given.items() if name in names})


def run_prompt(request: PromptRequest) -> AIMessageChunk:
    """Send the request's prompt and show the reply on stdout; errors propagate for ``reporting``."""
    check_output_flags(request)
    role = None
    if request.role:
        from ..prompting.roles import find_role

        role = find_role(request.role)
        request = with_role(request, role)
    elif request.params:
        raise UsageError("-p fills a role's template", "use it with --role NAME")
    prompt = gather_prompt(request, role)
    config = active_config()
    log = logging_wanted(request.no_log, config.log)
    thread = open_thread(request.continue_conversation, request.cid, log)
    resolved = resolve_model(request.model or thread.model, request, config)
    if prompt.attachments:
        check_attachments(prompt, resolved.provider.name)
    if request.debug:
        from ..retry import show_http_trace

        show_http_trace()
    return answer(request, config, resolved, thread, prompt)


def resolve_model(name: str | None, request: PromptRequest, config: Any) -> ResolvedModel:
    """The model a name (or the defaults) stands for, checked against the request's settings."""
    resolved = resolve_configured(name, config)
    check_settings(resolved, request.temperature)
    if resolved.notice:
        notice(resolved.notice, request.quiet)
    return resolved


def answer(
    request: PromptRequest,
    config: Any,
    resolved: ResolvedModel,
    thread: Thread,
    prompt: Prompt,
    *,
    retry_of: int | None = None,
) -> AIMessageChunk:
    """One turn of the thread: send ``prompt`` after its earlier turns, show the reply, record the exchange."""
    spinner = make_spinner(resolved.full_name, request.quiet)
    clock = ReplyClock()
    on_notice = spinner.notice if spinner else lambda text: notice(text, request.quiet)
    settings = model_settings(request, config, on_notice, max_tokens_for(request, config, resolved), clock.request_sent)
    chat = build(resolved, settings)
    system = prompt.system if prompt.system is not None else thread.system
    messages = thread.messages(system, prompt.human_content())
    run_id = uuid7()
    if request.json_output:
        asked = {**prompt.record(), "options": request.options, "role": request.role}
        renderer = json_renderer(resolved.model, resolved.provider.name, run_id, asked, clock, thread.cid)
    elif request.extract:
        renderer = extract_renderer(request.extract == "last", request.quiet)
    else:
        streaming = not request.no_stream
        event_run = EventRun(chat, event_input(messages), run_id, streaming=streaming) if request.events else None
        renderer = choose_renderer(request.delimiter, first_set(request.markdown, config.markdown, True), event_run)
    transcript = Transcript(with_progress(renderer, spinner, request.stats, resolved.model, clock), clock)
    sent = Sent(
        resolved.model, resolved.provider.name, prompt, system, messages, settings, run_id, request.role, retry_of
    )
    try:
        with second_interrupt_exits():
            reply = run_reply(chat, messages, transcript, request.mode, run_id=run_id)
    except BaseException as exc:
        record_exchange(thread, sent, transcript, None, exc)
        raise
    record_exchange(thread, sent, transcript, reply, None)
    tell_endnotes(reply, chat.settings.max_tokens)
    return reply


def check_output_flags(request: PromptRequest) -> None:
    """At most one of --events and --json; -x/--xl with neither of them nor -d."""
    if request.events and request.json_output:
        raise UsageError("--events and --json cannot be used together", "choose one of them")
    if request.extract:
        flag = "-x/--extract" if request.extract == "first" else "--xl/--extract-last"
        for other, given in (("--events", request.events), ("--json", request.json_output), ("-d", request.delimiter)):
            if given:
                raise UsageError(f"{flag} and {other} cannot be used together", f"{flag} prints only code on stdout")


def with_role(request: PromptRequest, role: Role) -> PromptRequest:
    """The request with the role's settings where the command line gave none (flags win, -o key by key)."""
    # -m "" names no model, so the role's counts
    return replace(request, **role.beneath(replace(request, model=request.model or None)))


def gather_prompt(request: PromptRequest, role: Role | None) -> Prompt:
    """The prompt's parts, each read once: attachments and files first (``-a -``, ``-f -`` may take
    stdin), then the words and stdin, through the role's template."""
    from ..prompting.assemble import Prompt, joined_system
    from ..prompting.stdin import Stdin, decode_text

    stdin = Stdin(sys.stdin.buffer, is_tty=sys.stdin.isatty(), ignored=request.no_stdin)
    attachments, files, system = [], [], request.system
    if request.attachments:
        from ..prompting.attachments import load_attachments

        attachments = load_attachments(request.attachments, stdin, first_set(request.timeout, DEFAULT_TIMEOUT) or None)
    if request.files:
        from ..prompting.files import gather_files, skipped_notice

        files, skipped = gather_files(request.files, stdin)
        if skipped:
            notice(skipped_notice(skipped), request.quiet)
    if request.system_files:
        from ..prompting.files import system_file_text

        system = joined_system(system, [system_file_text(path, stdin) for path in request.system_files])
    needs_words = not (files or attachments) and (role is None or role.needs_input)
    text = read_prompt(
        request.words,
        not stdin.piped,
        lambda: decode_text(stdin.take("a prompt of -"), "stdin", flag=None),
        required=needs_words,
    )
    if role is not None:
        text = role.fill(text, request.params)
    return Prompt(text, system, files, attachments)


def check_attachments(prompt: Prompt, provider: str) -> None:
    """Exit 2 before sending when the provider cannot take an attachment, or one breaks its limits."""
    from ..prompting.attachments import check_accepted, check_limits
    from ..providers import PROVIDERS

    check_accepted(prompt.attachments, provider, {name: spec.attachment_kinds for name, spec in PROVIDERS.items()})
    check_limits(prompt.attachments, provider)


def extract_renderer(last: bool, quiet: bool) -> Renderer:
    """``-x``/``--xl``: the reply streams on stderr when it is a terminal; stdout gets only the code."""
    from ..prompting.extract import extract_code
    from ..render.extract import ExtractRenderer
    from ..render.safe import neutralise

    return ExtractRenderer(
        sys.stdout.buffer,
        lambda text: extract_code(text, last=last),
        on_notice=lambda text: notice(text, quiet),
        echo=None if quiet or not sys.stderr.isatty() else sys.stderr.buffer,
        clean=neutralise if sys.stdout.isatty() else None,
    )


def model_settings(
    request: PromptRequest,
    config: Any,
    on_notice: Callable[[str], None],
    max_tokens: int | None = None,
    on_request: Callable[[], None] | None = None,
) -> ModelSettings:
    """The model's settings: the request's flags, else config.toml's defaults, else chatstream's."""
    timeout = first_set(request.timeout, config.timeout, DEFAULT_TIMEOUT)
    return ModelSettings(
        temperature=request.temperature,
        max_tokens=first_set(request.max_tokens, max_tokens),
        stop=request.stop,
        thinking=request.thinking,
        timeout=timeout or None,
        retries=first_set(request.retries, config.retries, DEFAULT_RETRIES),
        base_url=request.base_url,
        headers=request.headers,
        options=request.options,
        on_notice=on_notice,
        on_request=on_request,
    )


def max_tokens_for(request: PromptRequest, config: Any, resolved: ResolvedModel) -> int | None:
    """config.toml's max_tokens for this reply: the alias's, else the provider's, else the global one
    (None: the provider's own default, the model's maximum output for Claude)."""
    name = request.model or os.environ.get("CHATSTREAM_MODEL") or config.default_model
    provider = config.providers.get(resolved.provider.name)
    return first_set(
        config.alias_max_tokens.get(name or ""), provider.max_tokens if provider else None, config.max_tokens
    )


def read_prompt(words: Sequence[str], stdin_is_tty: bool, read_stdin: Any, *, required: bool = True) -> str:
    """Combine prompt words and stdin as cli.md says: stdin, a blank line, then the words.

    ``required=False`` when files or attachments are the prompt: then it may be empty."""
    words = list(words)
    wants_stdin = words == ["-"]
    if wants_stdin:
        words = []
    piped = read_stdin() if (wants_stdin or not stdin_is_tty) else ""
    text = " ".join(words)
    if piped.strip() and text:
        return f"{piped.rstrip()}\n\n{text}"
    prompt = text or piped
    if required and not prompt.strip():
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
    """The first value that is not None: a flag, else the config file's value, else the default (or None)."""
    return next((value for value in values if value is not None), None)


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
