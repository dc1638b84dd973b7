"""The options the commands that send prompts share (prompt, and chat and batch beside it), declared once.

``-o KEY VALUE`` takes two values, which Typer cannot declare: ``PromptCommand`` joins each pair into
one value before parsing and ``parse_options`` splits it again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ..errors import UsageError
from ..runnable import DEFAULT_RETRIES, DEFAULT_TIMEOUT


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


Words = Annotated[list[str] | None, typer.Argument(help="The prompt; '-' reads stdin.", show_default=False)]
Model = Annotated[
    str | None, typer.Option("-m", "--model", envvar="CHATSTREAM_MODEL", help="provider:model, name or alias.")
]
System = Annotated[str | None, typer.Option("-s", "--system", help="System prompt.")]
Temperature = Annotated[float | None, typer.Option("-t", "--temperature", help="Sampling temperature.")]
MaxTokens = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Reply length limit.")]
Stop = Annotated[list[str] | None, typer.Option("--stop", help="Stop sequence (repeatable).")]
Option = Annotated[
    list[str] | None,
    typer.Option("-o", "--option", metavar="KEY VALUE", help="Provider setting, e.g. -o delay_ms 0."),
]
Thinking = Annotated[bool, typer.Option("--thinking/--no-thinking", help="Ask the model to think first.")]
UseAsync = Annotated[bool, typer.Option("--async", help="Drive astream instead of stream.")]
NoStream = Annotated[bool, typer.Option("--no-stream", help="Call invoke: the whole reply at once.")]
Delimiter = Annotated[
    str | None, typer.Option("-d", "--delimiter", help="Print TEXT after every chunk: Here| is| a| song|")
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
        "--timeout", min=0, help=f"Longest silence allowed, in seconds (0 = none; default {DEFAULT_TIMEOUT:g})."
    ),
]
Retries = Annotated[
    int | None,
    typer.Option("--retries", min=0, help=f"Retries before the first token (default {DEFAULT_RETRIES})."),
]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="The provider's endpoint.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No notices on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Tracebacks and a request trace on stderr.")]
Continue = Annotated[bool, typer.Option("-c", "--continue", help="Continue the latest conversation.")]
Cid = Annotated[
    str | None, typer.Option("--cid", help="Continue the conversation with this id (a unique prefix is enough).")
]
NoLog = Annotated[bool, typer.Option("--no-log", help="Do not record this exchange in the history.")]
