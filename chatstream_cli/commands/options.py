"""The options the commands that send prompts share (prompt, and chat and batch beside it), declared once.

``-o KEY VALUE`` takes two values, which Typer cannot declare: ``PromptCommand`` joins each pair into
one value before parsing and ``parse_options`` splits it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

from ..defaults import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from ..errors import ChatstreamError, UsageError


class PlainHelpCommand(TyperCommand):
    """A command whose --help shows each argument by its metavar (PROMPT, KEY), not also Typer's Python type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument) and param.metavar:
                param.display_type_rich = _no_type  # type: ignore[method-assign]


def _no_type(ctx: Any) -> None:
    return None


class PromptCommand(PlainHelpCommand):
    """The prompt command; ``-o`` and ``-p`` take two values (KEY VALUE), which Typer cannot declare itself,
    so the pair is joined into one value before parsing and split again by ``parse_options``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_option_pairs(args))


_PAIR_SEPARATOR = "\x1f"
# The two-value flags, with the example their usage error gives.
_PAIR_FLAGS = {"-o": "delay_ms 0", "--option": "delay_ms 0", "-p": "lang python", "--param": "lang python"}


def join_option_pairs(args: list[str]) -> list[str]:
    joined: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            joined.append(arg)
            joined.extend(rest)
            break
        joined.append(arg)
        if arg in _PAIR_FLAGS:
            pair = [next(rest, None), next(rest, None)]
            if None in pair:
                raise UsageError(f"{arg} needs a KEY and a VALUE", f"e.g. {arg} {_PAIR_FLAGS[arg]}")
            joined.append(_PAIR_SEPARATOR.join(pair))
    return joined


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


def parse_headers(lines: Sequence[str]) -> dict[str, str]:
    """``--header 'Name: value'`` flags; a later one replaces an earlier one of the same name."""
    from ..config import parse_header

    headers: dict[str, str] = {}
    for line in lines:
        pair = parse_header(line)
        if pair is None:
            raise UsageError(f"--header {line!r} is not a header", "write it as --header 'Name: value'")
        for known in [name for name in headers if name.lower() == pair[0].lower()]:
            del headers[known]
        headers[pair[0]] = pair[1]
    return headers


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``-p NAME VALUE`` pairs; values stay strings."""
    return dict(pair.partition(_PAIR_SEPARATOR)[::2] for pair in pairs)


Words = Annotated[
    list[str] | None, typer.Argument(metavar="PROMPT", help="The prompt; '-' reads stdin.", show_default=False)
]


def completer(names: Callable[[], Iterable[str]]) -> Callable[[str], list[str]]:
    """Shell completion for an option whose values are ``names()`` (read when the shell asks): those that
    start with what was typed. A broken config or store offers nothing rather than an error in the shell."""

    def complete(incomplete: str) -> list[str]:
        try:
            return [name for name in names() if name.startswith(incomplete)]
        except ChatstreamError:
            return []

    return complete


def role_names() -> list[str]:
    """The saved and built-in roles."""
    from ..prompting.roles import all_roles

    return [role.name for role in all_roles()]


def model_names() -> list[str]:
    """What -m takes: every provider alone and as ``provider:``, each listed model, every alias (config.toml's too)."""
    from ..providers import ALIASES, PROVIDERS, active_config, all_model_names

    config = active_config()
    providers = list(PROVIDERS)
    names = [*providers, *(f"{name}:" for name in providers), *all_model_names(), *ALIASES, *config.aliases]
    return list(dict.fromkeys(names))


Model = Annotated[
    str | None,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        envvar="CHATSTREAM_MODEL",
        autocompletion=completer(model_names),
        help="provider:model, a provider (its default model), a name or an alias.",
    ),
]
System = Annotated[str | None, typer.Option("-s", "--system", metavar="TEXT", help="System prompt.")]
Temperature = Annotated[
    float | None, typer.Option("-t", "--temperature", metavar="NUMBER", help="Sampling temperature.")
]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", min=1, metavar="N", help="Reply length limit, in tokens.")
]
Stop = Annotated[list[str] | None, typer.Option("--stop", metavar="TEXT", help="Stop sequence (repeatable).")]
Option = Annotated[
    list[str] | None,
    typer.Option("-o", "--option", metavar="KEY VALUE", help="Provider setting, e.g. -o delay_ms 0."),
]
Thinking = Annotated[bool, typer.Option("--thinking/--no-thinking", help="Ask the model to think first.")]
UseAsync = Annotated[bool, typer.Option("--async", help="Drive astream instead of stream.")]
NoStream = Annotated[bool, typer.Option("--no-stream", help="Call invoke: the whole reply at once.")]
Delimiter = Annotated[
    str | None,
    typer.Option(
        "-d", "--delimiter", metavar="TEXT", help="Print TEXT after every chunk: -d '|' gives Here| is| a| song|"
    ),
]
MarkdownFlag = Annotated[
    bool | None,
    typer.Option("--markdown/--raw", help="On a terminal, render Markdown live (default) or print raw text."),
]
Events = Annotated[bool, typer.Option("--events", help="Write LangChain astream_events v2 events as JSON lines.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Write one JSON object when the reply is complete.")]
Stats = Annotated[
    bool, typer.Option("--stats", help="After the reply, a line of figures on stderr: tokens, speed, time.")
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0,
        metavar="SECONDS",
        help=f"Longest silence allowed, in seconds (0 = none; default {DEFAULT_TIMEOUT:g}).",
    ),
]
Retries = Annotated[
    int | None,
    typer.Option("--retries", min=0, metavar="N", help=f"Retries before the first token (default {DEFAULT_RETRIES})."),
]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", metavar="URL", help="The provider's endpoint, e.g. http://localhost:11434/v1."),
]
Header = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        metavar="'NAME: VALUE'",
        help="An HTTP header for every request (repeatable); a value may name a variable: 'X-Key: $MY_KEY'.",
    ),
]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No notices on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Tracebacks and a request trace on stderr.")]
Files = Annotated[
    list[str] | None,
    typer.Option(
        "-f", "--file", metavar="PATH", help="A file, directory or glob as context, with its path; - is stdin."
    ),
]
SystemFiles = Annotated[
    list[str] | None, typer.Option("--sf", "--system-file", metavar="PATH", help="Append a file to the system prompt.")
]
Attach = Annotated[
    list[str] | None,
    typer.Option("-a", "--attach", metavar="PATH|URL", help="An image (PNG, JPEG, GIF, WebP) or PDF; - is stdin."),
]


RoleName = Annotated[
    str | None,
    typer.Option(
        "--role",
        metavar="NAME",
        autocompletion=completer(role_names),
        help="Apply a saved role (chatstream roles list).",
    ),
]
Param = Annotated[
    list[str] | None, typer.Option("-p", "--param", metavar="NAME VALUE", help="Fill {NAME} in the role's template.")
]
Extract = Annotated[bool, typer.Option("-x", "--extract", help="Print only the reply's first fenced code block.")]
ExtractLast = Annotated[bool, typer.Option("--xl", "--extract-last", help="Print only its last fenced code block.")]
NoStdin = Annotated[bool, typer.Option("--no-stdin", help="Ignore a non-terminal stdin (for while-read loops).")]
Continue = Annotated[bool, typer.Option("-c", "--continue", help="Continue the latest conversation.")]
Cid = Annotated[
    str | None,
    typer.Option("--cid", metavar="ID", help="Continue the conversation with this id (a unique prefix is enough)."),
]
SchemaOption = Annotated[
    str | None,
    typer.Option(
        "--schema",
        metavar="SCHEMA",
        help="Reply with JSON that satisfies SCHEMA: a JSON Schema, its file, a saved name, or 'name, age int'.",
    ),
]
SchemaMulti = Annotated[
    str | None,
    typer.Option("--schema-multi", metavar="SCHEMA", help="Reply with a JSON array of objects that satisfy SCHEMA."),
]
Pretty = Annotated[bool, typer.Option("--pretty", help="With --schema on a pipe: indent the JSON.")]
NoLog = Annotated[bool, typer.Option("--no-log", help="Do not record this exchange in the history.")]
BatchNoLog = Annotated[
    bool, typer.Option("--no-log", help="Do not record the lines in the history (only --schema batches are recorded).")
]
Functions = Annotated[
    list[str] | None,
    typer.Option(
        "--functions",
        metavar="FILE.py|CODE",
        help="Python functions the model may call (a file, or the code itself); repeatable.",
    ),
]
Tools = Annotated[
    list[str] | None,
    typer.Option("-T", "--tool", metavar="NAME", help="A built-in tool: now, read_file, list_dir, shell; repeatable."),
]
ChainLimit = Annotated[
    int | None,
    typer.Option("--chain-limit", min=0, metavar="N", help="At most N rounds of tool calls (default 5; 0: no limit)."),
]
Approve = Annotated[bool, typer.Option("--approve", "--ta", help="Ask before every tool call (on a terminal).")]
Yes = Annotated[bool, typer.Option("-y", "--yes", help="Run tool calls without asking, the shell's too.")]
McpServers = Annotated[
    list[str] | None,
    typer.Option(
        "--mcp", metavar="NAME", help="An MCP server of config.toml whose tools the model may use; repeatable."
    ),
]
