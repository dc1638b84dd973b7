"""The command line: parse flags into plain objects, hand them to the core, pick a renderer.

Only this module knows Typer. ``prompt`` is the default subcommand, so ``chatstream "hi"``
means ``chatstream prompt "hi"`` and other subcommands can sit beside it.
"""

from __future__ import annotations

import gc
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer

# Typer's bundled Click raises this for bad flags; it is the class Typer's own main() catches.
from typer._click.core import Context
from typer._click.exceptions import ClickException

from . import __version__
from .commands.groups import DefaultCommandGroup, Subcommand
from .commands.inputs import check_arguments
from .commands.options import (
    Approve,
    Attach,
    BaseUrl,
    ChainLimit,
    Cid,
    Continue,
    Debug,
    Delimiter,
    Events,
    Extract,
    ExtractLast,
    Files,
    Functions,
    Header,
    JsonOutput,
    MarkdownFlag,
    MaxTokens,
    McpServers,
    Model,
    NoLog,
    NoStdin,
    NoStream,
    Option,
    Param,
    Pretty,
    PromptCommand,
    Quiet,
    Retries,
    RoleName,
    SchemaMulti,
    SchemaOption,
    Stats,
    Stop,
    System,
    SystemFiles,
    Temperature,
    Thinking,
    Timeout,
    Tools,
    UseAsync,
    Words,
    Yes,
)
from .commands.reporting import FLAGS, closed_stdout_exits, reporting, say_terminated, terminating_signals_interrupt
from .errors import ChatstreamError, ExitCode, Terminated, format_error, interrupted_exit_code


def _subcommand(name: str, summary: str) -> Subcommand:
    return Subcommand(f"{__package__}.commands.{name}", summary)


class DefaultGroup(DefaultCommandGroup):
    """A group whose unknown first argument starts the default ``prompt`` subcommand; the others are
    imported when they run, and listed in --help by these summaries (tests/test_help.py checks that
    each is its command's own)."""

    default_command = "prompt"
    subcommands: ClassVar[dict[str, Subcommand]] = {
        "replay": _subcommand("replay", "Show an --events recording again as a live reply."),
        "models": _subcommand("models", "Providers, their models and aliases; which providers have a key."),
        "chat": _subcommand(
            "chat", "An interactive multi-turn session (Ctrl-C stops a reply; Ctrl-D or /exit leaves)."
        ),
        "config": _subcommand("config", "Show or change the config file (config.toml)."),
        "keys": _subcommand("keys", "Stored API keys (keys.toml, mode 0600); environment variables win."),
        "roles": _subcommand(
            "roles", "Saved roles: a model, system prompt, settings and prompt template, applied with --role NAME."
        ),
        "schemas": _subcommand(
            "schemas", "JSON Schemas for --schema: saved ones by name, and those the history recorded by hash."
        ),
        "logs": _subcommand(
            "logs", "The history of exchanges, newest last (logs list, path, off, on, delete beside it)."
        ),
        "completions": _subcommand(
            "completions", "Shell completion scripts for bash, zsh and fish: print one, or install it."
        ),
        "batch": _subcommand(
            "batch", "Run a file of prompts concurrently (or by a provider's batch service); results as JSON lines."
        ),
        "mcp": _subcommand("mcp", "MCP servers (config.toml's [mcp.NAME]) whose tools --mcp NAME gives the model."),
    }

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """The first word may also be an option of the default command: ``chatstream --mo<TAB>``."""
        items = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            offered = {item.value for item in items}
            default = self.commands[self.default_command]
            items += [item for item in default.shell_complete(ctx, incomplete) if item.value not in offered]
        return items

    def make_context(self, *args: Any, **extra: Any) -> Any:
        with closed_stdout_exits():  # --help and --version write here
            return super().make_context(*args, **extra)

    def invoke(self, ctx: Any) -> Any:
        with closed_stdout_exits():
            return super().invoke(ctx)

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        """Run with one-line usage errors (exit 2) instead of Click's usage block."""
        extra.pop("standalone_mode", None)
        FLAGS.debug = FLAGS.quiet = False  # CliRunner runs many commands in one process
        try:
            check_arguments(sys.argv[1:] if args is None else args)
            with terminating_signals_interrupt():
                code = super().main(args, *rest, standalone_mode=False, **extra)
        except ClickException as exc:
            print(usage_error_line(exc), file=sys.stderr)
            sys.exit(ExitCode.USAGE)
        except typer.Abort as exc:  # Click's for a KeyboardInterrupt that no command reported
            interrupt = exc.__cause__
            if isinstance(interrupt, Terminated):
                say_terminated(interrupt)
            sys.exit(interrupted_exit_code(interrupt))
        except Exception as exc:
            if FLAGS.debug:
                traceback.print_exc()
            print(format_error(exc), file=sys.stderr)
            sys.exit(exc.exit_code if isinstance(exc, ChatstreamError) else ExitCode.BUG)
        sys.exit(code if isinstance(code, int) else 0)


def usage_error_line(exc: ClickException) -> str:
    """Click's message as one line in chatstream's style, pointing at the help of the command that failed."""
    message = exc.format_message().removesuffix(".")
    if message[:1].isupper() and not message[:2].isupper():
        message = message[0].lower() + message[1:]
    context = getattr(exc, "ctx", None) or _innermost_context(exc)
    command = context.command_path if context is not None else "chatstream"
    return f"chatstream: error: {message} (see {command} --help)"


def _innermost_context(exc: BaseException) -> Context | None:
    """The context of the command whose parsing raised ``exc``: Click's parser raises some usage errors
    (an option given without its value) without one, but they pass through that command's parse_args."""
    found = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        context = frame.f_locals.get("ctx")
        if isinstance(context, Context):
            found = context
    return found


# Shipped in the package (and, from a wheel, in the environment's share/man/man1, where `man chatstream` looks).
MAN_PAGE = Path(__file__).resolve().parent / "data" / "man" / "chatstream.1"

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
    epilog="The prompt options (-m, -s, -t, -d, --events, --json, --stats, ...): chatstream prompt --help\n\n"
    f"The manual: man chatstream, or man {MAN_PAGE}",
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


@app.command(name="prompt", cls=PromptCommand, context_settings={"allow_interspersed_args": True})
def prompt_command(
    words: Words = None,
    model: Model = None,
    system: System = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    stop: Stop = None,
    option: Option = None,
    thinking: Thinking = False,
    use_async: UseAsync = False,
    no_stream: NoStream = False,
    delimiter: Delimiter = None,
    markdown: MarkdownFlag = None,
    events: Events = False,
    json_output: JsonOutput = False,
    stats: Stats = False,
    timeout: Timeout = None,
    retries: Retries = None,
    base_url: BaseUrl = None,
    header: Header = None,
    continue_conversation: Continue = False,
    cid: Cid = None,
    no_log: NoLog = False,
    quiet: Quiet = False,
    debug: Debug = False,
    file: Files = None,
    system_file: SystemFiles = None,
    attach: Attach = None,
    role: RoleName = None,
    param: Param = None,
    extract: Extract = False,
    extract_last: ExtractLast = False,
    no_stdin: NoStdin = False,
    schema: SchemaOption = None,
    schema_multi: SchemaMulti = None,
    pretty: Pretty = False,
    functions: Functions = None,
    tool: Tools = None,
    mcp: McpServers = None,
    chain_limit: ChainLimit = None,
    approve: Approve = False,
    yes: Yes = False,
    version: VersionFlag = False,
) -> None:
    """Send a prompt and stream the reply (the default command)."""
    from .commands.prompt import PromptRequest, run_prompt  # here: --help and the other commands need none of it

    request = PromptRequest.from_flags(locals())
    with reporting(debug):
        run_prompt(request)


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="chatstream")
    finally:
        # The work is done and the process exits: keep the interpreter's last garbage collections
        # from walking every object the anthropic SDK made, which takes about 0.3 s.
        gc.freeze()
