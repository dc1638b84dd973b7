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

from ..defaults import DEFAULT_MAX_FILES_SIZE, DEFAULT_RETRIES, DEFAULT_TIMEOUT
from ..driver import Mode, run_reply
from ..errors import ExitCode, UsageError
from ..events import EventRun, event_input
from ..messages import AIMessageChunk
from ..providers import ResolvedModel, active_config, build
from ..render.choose import choose_renderer, json_renderer, make_spinner, with_progress
from ..render.stats import ReplyClock
from ..runnable import ModelSettings
from ..runs import uuid7
from .conversation import Sent, Thread, Transcript, logging_wanted, open_thread, record_exchange
from .endnotes import tell_endnotes
from .reporting import default_model_notice, notice
from .served_model import model_named

if TYPE_CHECKING:
    from ..prompting.assemble import Prompt
    from ..prompting.attachments import Attachment
    from ..prompting.files import ContextFile
    from ..prompting.roles import Role
    from ..prompting.stdin import Stdin
    from ..render import Renderer
    from ..schema import OutputSchema
    from ..tools import Toolbox


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
    schema: str | None = None  # --schema (or --schema-multi) as given: JSON, a file, a saved name, fields
    schema_multi: str | None = None
    pretty: bool = False
    functions: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    mcp: tuple[str, ...] = ()
    chain_limit: int | None = None
    approve: bool = False
    yes: bool = False

    @property
    def uses_tools(self) -> bool:
        return bool(self.functions or self.tools or self.mcp)

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
            "functions": tuple(given.pop("functions", None) or ()),
            "tools": tuple(given.pop("tool", None) or ()),
            "mcp": tuple(given.pop("mcp", None) or ()),
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
    config = active_config()
    prompt = gather_prompt(request, role, config)
    log = logging_wanted(request.no_log, config.log)
    thread = open_thread(request.continue_conversation, request.cid, log)
    resolved = resolve_model(request.model or thread.model, request, config)
    check_attachments(thread.earlier_attachments() + prompt.attachments, resolved.provider.name)
    if request.debug:
        from ..retry import show_http_trace

        show_http_trace()
    if not request.uses_tools:
        return answer(request, config, resolved, thread, prompt)
    from .tooluse import prepared_toolbox

    toolbox = prepared_toolbox(request, config)
    try:
        return answer(request, config, resolved, thread, prompt, toolbox=toolbox)
    finally:
        toolbox.close()


def resolve_model(name: str | None, request: PromptRequest, config: Any) -> ResolvedModel:
    """The model a name (or the defaults) stands for, checked against the request's settings."""
    resolved = model_named(name, config, timeout_for(request, config), request.base_url)
    check_settings(resolved, request.temperature)
    default_model_notice(resolved, request.quiet)
    return resolved


def answer(
    request: PromptRequest,
    config: Any,
    resolved: ResolvedModel,
    thread: Thread,
    prompt: Prompt,
    *,
    retry_of: int | None = None,
    toolbox: Toolbox | None = None,
) -> AIMessageChunk:
    """One turn of the thread: send ``prompt`` after its earlier turns, show the reply, record the exchange;
    with tools, the replies of the chain that answers the model's tool calls."""
    spinner = make_spinner(resolved.full_name, request.quiet)
    clock = ReplyClock()
    on_notice = spinner.notice if spinner else lambda text: notice(text, request.quiet)
    settings = model_settings(request, config, on_notice, max_tokens_for(request, config, resolved), clock.request_sent)
    if toolbox:
        settings = replace(settings, tools=toolbox.specs())
    chat = build(resolved, settings)
    system = prompt.system if prompt.system is not None else thread.system
    messages = thread.messages(system, prompt.human_content(), with_tools=bool(toolbox))
    run_id = uuid7()
    check = reply_check(settings.schema)
    sent = Sent(
        resolved.model,
        resolved.provider.name,
        prompt,
        system,
        messages,
        settings,
        run_id,
        request.role,
        retry_of,
        settings.schema,
    )
    if toolbox:
        from .tooluse import answer_chain

        def renderer_for(messages: list[Any], run_id: str, clock: ReplyClock) -> Renderer:
            return reply_renderer(request, config, resolved, chat, messages, run_id, clock, thread.cid, prompt)

        with second_interrupt_exits():
            return answer_chain(request, resolved, thread, sent, chat, toolbox, renderer_for)
    renderer = reply_renderer(request, config, resolved, chat, messages, run_id, clock, thread.cid, prompt, check)
    progress = with_progress(renderer, spinner, request.stats, resolved.model, clock)
    transcript = Transcript(progress, clock, document=check is not None)
    try:
        with second_interrupt_exits():
            reply = run_reply(chat, messages, transcript, request.mode, run_id=run_id)
    except BaseException as exc:
        record_exchange(thread, sent, transcript, None, exc)
        raise
    verdict = check.of(reply) if check is not None else None
    record_exchange(thread, sent, transcript, reply, verdict.error if verdict is not None else None)
    tell_endnotes(reply, chat.settings.max_tokens, schema=check is not None)
    if verdict is not None and verdict.error is not None:
        raise verdict.error
    return reply


def reply_check(schema: OutputSchema | None) -> Any:
    """The check of a reply against ``--schema`` (None without one)."""
    if schema is None:
        return None
    from ..schema.check import ReplyCheck

    return ReplyCheck(schema)


def output_schema(request: PromptRequest) -> OutputSchema | None:
    """The schema ``--schema`` or ``--schema-multi`` gives (a saved name, a file, JSON or fields), or None."""
    text = request.schema if request.schema is not None else request.schema_multi
    if text is None:
        return None
    from ..prompting.schemas import resolve_schema

    multi = request.schema is None
    return resolve_schema(text, multi=multi, flag="--schema-multi" if multi else "--schema")


def reply_renderer(
    request: PromptRequest,
    config: Any,
    resolved: ResolvedModel,
    chat: Any,
    messages: list[Any],
    run_id: str,
    clock: ReplyClock,
    cid: str | None,
    prompt: Prompt,
    check: Any = None,
) -> Renderer:
    """What shows one reply on stdout: the --json object, the code of -x, the JSON document of --schema
    (``check``), event lines, or the text."""
    if request.json_output:
        asked = {**prompt.record(), "options": request.options, "role": request.role}
        return json_renderer(resolved.model, resolved.provider.name, run_id, asked, clock, cid, check)
    if request.extract:
        return extract_renderer(request.extract == "last", request.quiet)
    if check is not None and not request.events:
        from ..render.choose import document_renderer

        return document_renderer(check, request.pretty)
    streaming = not request.no_stream
    event_run = EventRun(chat, event_input(messages), run_id, streaming=streaming) if request.events else None
    return choose_renderer(request.delimiter, first_set(request.markdown, config.markdown, True), event_run)


def check_output_flags(request: PromptRequest) -> None:
    """At most one of --events and --json; -x/--xl with neither of them nor -d; --schema with none of -x, -d."""
    if request.events and request.json_output:
        raise UsageError("--events and --json cannot be used together", "choose one of them")
    check_schema_flags(request)
    if request.extract:
        flag = "-x/--extract" if request.extract == "first" else "--xl/--extract-last"
        for other, given in (("--events", request.events), ("--json", request.json_output), ("-d", request.delimiter)):
            if given:
                raise UsageError(f"{flag} and {other} cannot be used together", f"{flag} prints only code on stdout")


def check_schema_flags(request: PromptRequest) -> None:
    if request.schema is not None and request.schema_multi is not None:
        raise UsageError("--schema and --schema-multi cannot be used together", "choose one of them")
    if request.schema is None and request.schema_multi is None:
        if request.pretty:
            raise UsageError("--pretty indents the JSON of --schema", "use it with --schema or --schema-multi")
        return
    flag = "--schema" if request.schema is not None else "--schema-multi"
    if request.uses_tools:
        raise UsageError(
            f"{flag} and tools (--functions, -T, --mcp) cannot be used together yet",
            "ask for the JSON in a request without tools",
        )
    for other, given in (("-x/--extract", request.extract), ("-d", request.delimiter is not None)):
        if given:
            raise UsageError(f"{flag} and {other} cannot be used together", f"{flag} prints the JSON document")


def with_role(request: PromptRequest, role: Role) -> PromptRequest:
    """The request with the role's settings where the command line gave none (flags win, -o key by key)."""
    # -m "" names no model, so the role's counts
    return replace(
        request, **role.beneath(replace(request, model=request.model or None)), **role.tools_beneath(request)
    )


def gather_prompt(request: PromptRequest, role: Role | None, config: Any) -> Prompt:
    """The prompt's parts, each read once: attachments and files first (``-a -``, ``-f -`` may take
    stdin), then the words and stdin, through the role's template."""
    from ..prompting.assemble import Prompt
    from ..prompting.stdin import Stdin, decode_text

    stdin = Stdin(sys.stdin.buffer, is_tty=sys.stdin.isatty(), ignored=request.no_stdin)
    fetch_timeout = timeout_for(request, config)
    attachments = read_attachments(request.attachments, stdin, fetch_timeout)
    files = read_files(request.files, stdin, request.quiet, files_limit(config), fetch_timeout)
    system = with_system_files(request.system, request.system_files, stdin)
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


def read_attachments(sources: Sequence[str], stdin: Stdin, timeout: float | None) -> list[Attachment]:
    """``-a``'s images and PDFs, each read once (a URL within ``timeout`` seconds; None: no limit)."""
    if not sources:
        return []
    from ..prompting.attachments import load_attachments

    return load_attachments(tuple(sources), stdin, timeout)


def read_files(specs: Sequence[str], stdin: Stdin, quiet: bool, limit: int, timeout: float | None) -> list[ContextFile]:
    """``-f``'s files, directories, globs and URLs expanded and read, ``limit`` bytes in all; a notice
    names what was left out."""
    if not specs:
        return []
    from ..prompting.files import gather_files, skipped_notice

    files, skipped = gather_files(tuple(specs), stdin, limit, timeout)
    if skipped:
        notice(skipped_notice(skipped), quiet)
    return files


def files_limit(config: Any) -> int:
    """The most the ``-f`` files of one message may come to, in bytes: config.toml's, else the default."""
    return first_set(config.max_files_size, DEFAULT_MAX_FILES_SIZE)


def with_system_files(system: str | None, specs: Sequence[str], stdin: Stdin) -> str | None:
    """The system prompt with each ``--sf`` file's text appended."""
    if not specs:
        return system
    from ..prompting.assemble import joined_system
    from ..prompting.files import system_file_text

    return joined_system(system, [system_file_text(path, stdin) for path in specs])


def check_attachments(attachments: list[Attachment], provider: str) -> None:
    """Exit 2 before sending when the provider cannot take an attachment (the earlier turns' included, which
    a continued conversation sends again), or they break its limits."""
    if not attachments:
        return
    from ..prompting.attachments import check_accepted, check_limits
    from ..providers import PROVIDERS

    check_accepted(attachments, provider, {name: spec.attachment_kinds for name, spec in PROVIDERS.items()})
    check_limits(attachments, provider)


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
    return ModelSettings(
        temperature=request.temperature,
        max_tokens=first_set(request.max_tokens, max_tokens),
        stop=request.stop,
        thinking=request.thinking,
        timeout=timeout_for(request, config),
        retries=first_set(request.retries, config.retries, DEFAULT_RETRIES),
        base_url=request.base_url,
        headers=request.headers,
        options=request.options,
        schema=output_schema(request),
        on_notice=on_notice,
        on_request=on_request,
    )


def timeout_for(request: PromptRequest, config: Any) -> float | None:
    """The longest silence allowed, in seconds: --timeout, else config.toml's, else the default (None: no limit)."""
    return first_set(request.timeout, config.timeout, DEFAULT_TIMEOUT) or None


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
    high = resolved.temperature_max
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
