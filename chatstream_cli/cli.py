"""The command line: parse flags into plain objects, hand them to the core, pick a renderer.

Only this module knows Typer. ``prompt`` is the default subcommand, so ``chatstream "hi"``
means ``chatstream prompt "hi"`` and other subcommands can sit beside it.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

# Typer's bundled Click raises this for bad flags; it is the class Typer's own main() catches.
from typer._click.exceptions import ClickException
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .commands import config as config_commands
from .commands import keys as keys_commands
from .commands.models import models_command
from .commands.replay import replay_command
from .driver import Mode, run_reply
from .errors import ChatstreamError, ExitCode, UsageError, format_error
from .events import EventRun, event_input
from .messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from .providers import ResolvedModel, build, resolve
from .render import Renderer
from .render.safe import neutralise
from .runnable import DEFAULT_RETRIES, DEFAULT_TIMEOUT, ModelSettings, uuid7

if TYPE_CHECKING:
    from .render.spinner import Spinner

_GROUP_FLAGS = {"--help", "-h", "--version", "--install-completion", "--show-completion"}


class DefaultGroup(TyperGroup):
    """A group whose unknown first argument starts the default ``prompt`` subcommand."""

    default_command = "prompt"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Shell completion of the first word parses no words: leave them so subcommand names complete.
        completing_first_word = ctx.resilient_parsing and not args
        if not completing_first_word and (not args or (args[0] not in self.commands and args[0] not in _GROUP_FLAGS)):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """The first word may also be an option of the default command: ``chatstream --mo<TAB>``."""
        items = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            offered = {item.value for item in items}
            default = self.commands[self.default_command]
            items += [item for item in default.shell_complete(ctx, incomplete) if item.value not in offered]
        return items

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        """Run with one-line usage errors (exit 2) instead of Click's usage block."""
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, *rest, standalone_mode=False, **extra)
        except ClickException as exc:
            print(usage_error_line(exc), file=sys.stderr)
            sys.exit(ExitCode.USAGE)
        except ChatstreamError as exc:
            print(format_error(exc), file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.exit(ExitCode.INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def usage_error_line(exc: ClickException) -> str:
    """Click's message as one line in chatstream's style, pointing at the help of the command that failed."""
    message = exc.format_message().removesuffix(".")
    if message[:1].isupper() and not message[:2].isupper():
        message = message[0].lower() + message[1:]
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "chatstream"
    return f"chatstream: error: {message} (see {command} --help)"


class PromptCommand(TyperCommand):
    """The prompt command; ``-o`` takes two values (KEY VALUE), which Typer cannot declare itself,
    so the pair is joined into one value before parsing and split again by ``parse_options``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_option_pairs(args))


_PAIR_SEPARATOR = "\x1f"
_OPTION_FLAGS = ("-o", "--option")


def join_option_pairs(args: list[str]) -> list[str]:
    joined: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            joined.append(arg)
            joined.extend(rest)
            break
        joined.append(arg)
        if arg in _OPTION_FLAGS:
            pair = [next(rest, None), next(rest, None)]
            if None in pair:
                raise UsageError(f"{arg} needs a KEY and a VALUE", f"e.g. {arg} delay_ms 0")
            joined.append(_PAIR_SEPARATOR.join(pair))
    return joined


app = typer.Typer(
    cls=DefaultGroup,
    name="chatstream",
    help="Stream chat-model replies into the terminal, token by token.\n\n"
    "Usage: chatstream [OPTIONS] PROMPT...   (the same as: chatstream prompt [OPTIONS] PROMPT...)\n\n"
    "\b\nExamples:\n"
    '  chatstream "Write me a 1 verse song about goldfish on the moon"\n'
    '  chatstream -m claude-3-haiku -d "|" "write a song"\n'
    '  git diff | chatstream "review this"\n'
    '  chatstream --events "hi" | jq -c .event',
    epilog="The prompt options (-m, -s, -t, -d, --events, --json, --stats, ...): chatstream prompt --help",
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        print(f"chatstream {__version__}")
        raise typer.Exit()


VersionFlag = Annotated[
    bool,
    typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
]


@app.callback()
def _root(version: VersionFlag = False) -> None:
    """Stream chat-model replies into the terminal, token by token."""


@contextmanager
def reporting(debug: bool) -> Iterator[None]:
    """Turn every failure into its exit code and one line on stderr (a traceback with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(ExitCode.BROKEN_PIPE) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(format_error(exc), file=sys.stderr)
        code = exc.exit_code if isinstance(exc, ChatstreamError) else ExitCode.BUG
        raise typer.Exit(int(code)) from None


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


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


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``-o KEY VALUE`` pairs; a value is JSON when it parses as JSON, else the string."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition(_PAIR_SEPARATOR)
        try:
            options[key] = json.loads(raw)
        except ValueError:
            options[key] = raw
    return options


def check_settings(resolved: ResolvedModel, temperature: float | None) -> None:
    if temperature is None:
        return
    high = resolved.provider.temperature_max
    if not 0 <= temperature <= high:
        raise UsageError(
            f"-t/--temperature {temperature} is out of range for {resolved.provider.name}",
            f"use a value from 0 to {high:g}",
        )


def stdout_is_terminal() -> bool:
    """Whether stdout gets the terminal view: a TTY that is not TERM=dumb, or FORCE_COLOR."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def choose_renderer(delimiter: str | None, markdown: bool, events: EventRun | None = None) -> Renderer:
    """The renderer for stdout: event lines for --events, plain bytes when piped, Rich on a terminal."""
    if events is not None:
        from .render.jsonl import JsonlRenderer

        return JsonlRenderer(sys.stdout.buffer, events)
    from .render.safe import neutralise

    clean = neutralise if stdout_is_terminal() or sys.stdout.isatty() else None  # TERM=dumb is a terminal too
    if delimiter is not None:
        from .render.delimiter import DelimiterRenderer

        return DelimiterRenderer(sys.stdout.buffer, delimiter, clean=clean)
    if not stdout_is_terminal():
        from .render.plain import PlainRenderer

        return PlainRenderer(sys.stdout.buffer, clean=clean)
    from .render.terminal import TerminalRenderer, terminal_console

    console = terminal_console()
    if markdown and os.environ.get("TERM") != "dumb":  # a dumb terminal cannot redraw in place
        from .render.live import LiveMarkdownRenderer

        return LiveMarkdownRenderer(console, live=sys.stdout.isatty())
    return TerminalRenderer(console)


def with_progress(renderer: Renderer, spinner: Spinner | None, stats: bool, model: str) -> Renderer:
    """The spinner and the --stats line wrap whatever renderer stdout got."""
    if spinner is not None:
        from .render.spinner import SpinnerRenderer

        renderer = SpinnerRenderer(renderer, spinner)
    if stats:
        from .render.stats import StatsRenderer

        renderer = StatsRenderer(renderer, model)
    return renderer


def make_spinner(label: str, quiet: bool) -> Spinner | None:
    """A spinner for the wait before the first token, when stderr is a terminal and not --quiet."""
    from .render.spinner import Spinner, stderr_is_terminal

    return Spinner(label) if not quiet and stderr_is_terminal() else None


@contextmanager
def second_interrupt_exits() -> Iterator[None]:
    """The first Ctrl-C stops the reply and keeps what was shown (exit 130); a second exits at once."""
    from .render.tty import saved_modes

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


def first_set(*values: Any) -> Any:
    """The first value that is not None: a flag, else the config file's value, else the default."""
    return next(value for value in values if value is not None)


def notice(text: str, quiet: bool) -> None:
    """A notice for a person: on stderr, only when stderr is a terminal and not --quiet."""
    if not quiet and sys.stderr.isatty():
        print(f"chatstream: {text}", file=sys.stderr)


def json_renderer(resolved: ResolvedModel, run_id: str) -> Renderer:
    """The ``--json`` writer: one object on stdout when the reply is complete."""
    from .render.json import JsonRenderer

    return JsonRenderer(sys.stdout.buffer, model=resolved.model, provider=resolved.provider.name, run_id=run_id)


def tell_refusal(reply: AIMessageChunk) -> None:
    """Say on stderr, even with --quiet or no terminal, that the model refused: the reply has no text,
    so stdout alone would leave the user with nothing."""
    refusal = reply.additional_kwargs.get("refusal")
    if reply.response_metadata.get("stop_reason") == "refusal":  # Anthropic says why in stop_details
        details = reply.response_metadata.get("stop_details") or {}
        refusal = details.get("explanation") or details.get("category") or "no reason given"
    if isinstance(refusal, str) and refusal.strip():
        print(f"chatstream: the model refused: {neutralise(' '.join(refusal.split()))}", file=sys.stderr)


@app.command(name="prompt", cls=PromptCommand, context_settings={"allow_interspersed_args": True})
def prompt_command(
    words: Annotated[list[str] | None, typer.Argument(help="The prompt; '-' reads stdin.", show_default=False)] = None,
    model: Annotated[
        str | None, typer.Option("-m", "--model", envvar="CHATSTREAM_MODEL", help="provider:model, name or alias.")
    ] = None,
    system: Annotated[str | None, typer.Option("-s", "--system", help="System prompt.")] = None,
    temperature: Annotated[float | None, typer.Option("-t", "--temperature", help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Reply length limit.")] = None,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="Stop sequence (repeatable).")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("-o", "--option", metavar="KEY VALUE", help="Provider setting, e.g. -o delay_ms 0."),
    ] = None,
    thinking: Annotated[bool, typer.Option("--thinking/--no-thinking", help="Ask the model to think first.")] = False,
    use_async: Annotated[bool, typer.Option("--async", help="Drive astream instead of stream.")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Call invoke: the whole reply at once.")] = False,
    delimiter: Annotated[
        str | None, typer.Option("-d", "--delimiter", help="Print TEXT after every chunk: Here| is| a| song|")
    ] = None,
    markdown: Annotated[
        bool | None,
        typer.Option("--markdown/--raw", help="On a terminal, render Markdown live (default) or print raw text."),
    ] = None,
    events: Annotated[
        bool, typer.Option("--events", help="Write LangChain astream_events v2 events as JSON lines.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Write one JSON object when the reply is complete.")
    ] = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="After the reply, a line of figures on stderr: tokens, speed, time.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", min=0, help=f"Longest silence allowed, in seconds (0 = none; default {DEFAULT_TIMEOUT:g})."
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option("--retries", min=0, help=f"Retries before the first token (default {DEFAULT_RETRIES})."),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="The provider's endpoint.")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No notices on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks and a request trace on stderr.")] = False,
    version: VersionFlag = False,
) -> None:
    """Send a prompt and stream the reply (the default command)."""
    with reporting(debug):
        if events and json_output:
            raise UsageError("--events and --json cannot be used together", "choose one of them")
        text = read_prompt(words or [], sys.stdin.isatty(), sys.stdin.read)
        from .config import active_config

        config = active_config()  # settings: flags > environment > config file > defaults
        timeout = first_set(timeout, config.timeout, DEFAULT_TIMEOUT)
        retries = first_set(retries, config.retries, DEFAULT_RETRIES)
        markdown = first_set(markdown, config.markdown, True)
        resolved = resolve(model, aliases=config.aliases, default_model=config.default_model)
        check_settings(resolved, temperature)
        if resolved.notice:
            notice(resolved.notice, quiet)
        spinner = make_spinner(resolved.full_name, quiet)
        settings = ModelSettings(
            temperature=temperature,
            max_tokens=max_tokens,
            stop=tuple(stop or ()),
            thinking=thinking,
            timeout=timeout or None,
            retries=retries,
            base_url=base_url,
            options=parse_options(option or []),
            on_notice=spinner.notice if spinner else lambda text: notice(text, quiet),
        )
        if debug:
            from .retry import show_http_trace

            show_http_trace()
        chat = build(resolved, settings)
        messages: list[BaseMessage] = [SystemMessage(content=system)] if system else []
        messages.append(HumanMessage(content=text))
        mode = Mode.INVOKE if no_stream else Mode.ASYNC if use_async else Mode.STREAM
        run_id = uuid7()
        if json_output:
            renderer = json_renderer(resolved, run_id)
        else:
            event_run = EventRun(chat, event_input(messages), run_id, streaming=not no_stream) if events else None
            renderer = choose_renderer(delimiter, markdown, event_run)
        with second_interrupt_exits():
            reply = run_reply(
                chat, messages, with_progress(renderer, spinner, stats, resolved.model), mode, run_id=run_id
            )
        tell_refusal(reply)


app.command(name="replay")(replay_command)
app.command(name="models")(models_command)
app.add_typer(config_commands.app, name="config")
app.add_typer(keys_commands.app, name="keys")


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="chatstream")
    finally:
        # The work is done and the process exits: keep the interpreter's last garbage collections
        # from walking every object the anthropic SDK made, which takes about 0.3 s.
        gc.freeze()
