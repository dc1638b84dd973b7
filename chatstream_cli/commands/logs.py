"""``chatstream logs``: the history, newest last; ``logs list|path|off|on|delete`` beside it.

Exchanges are Markdown: rendered by Rich on a terminal, the same text as it is on a pipe.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from .groups import subcommand_app
from .options import PlainHelpCommand
from .reporting import plural, reporting

if TYPE_CHECKING:
    from ..history import Conversation, Exchange

app = subcommand_app(
    "logs",
    help="The history of exchanges, newest last (logs list, path, off, on, delete beside it).",
    invoke_without_command=True,
)

SHOWN_CID = 8
"""How much of a conversation id is shown: enough to pass to --cid, almost always unique."""

Count = Annotated[int, typer.Option("-n", "--count", min=0, metavar="N", help="How many, newest last (0: all).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON array with every recorded field.")]
JsonlFlag = Annotated[bool, typer.Option("--jsonl", help="One JSON object per line.")]
Query = Annotated[
    str | None, typer.Option("-q", "--query", metavar="TEXT", help="Full-text search of prompts and replies.")
]
CidOption = Annotated[
    str | None, typer.Option("--cid", metavar="ID", help="Only this conversation (a unique id prefix).")
]
Latest = Annotated[bool, typer.Option("-c", "--continue", help="Only the latest conversation.")]
ModelOption = Annotated[
    str | None, typer.Option("-m", "--model", metavar="MODEL", help="Only this model (name or provider:model).")
]
Since = Annotated[
    str | None, typer.Option("--since", metavar="DATE", help="From this date or time (YYYY-MM-DD[THH:MM], local).")
]
Until = Annotated[str | None, typer.Option("--until", metavar="DATE", help="Up to this date (included) or time.")]
SchemaFilter = Annotated[
    str | None,
    typer.Option("--schema", metavar="ID", help="Only replies made with this schema (a hash's start, a name, fields)."),
]
Data = Annotated[bool, typer.Option("--data", help="With --schema: every object made with it, as JSON lines.")]
DataIds = Annotated[bool, typer.Option("--data-ids", help="Like --data, each object with its exchange_id.")]


@app.callback()
def logs_command(
    ctx: typer.Context,
    count: Count = 3,
    json_output: JsonFlag = False,
    jsonl: JsonlFlag = False,
    query: Query = None,
    cid: CidOption = None,
    latest: Latest = False,
    model: ModelOption = None,
    since: Since = None,
    until: Until = None,
    schema: SchemaFilter = None,
    data: Data = False,
    data_ids: DataIds = False,
) -> None:
    """Show the latest exchanges (-n 3 by default), newest last."""
    if ctx.invoked_subcommand is not None:
        return
    from .. import history
    from ..history.queries import Filters

    start, end = parse_when(since, "--since", end=False), parse_when(until, "--until", end=True)
    with reporting(False):
        schema_id = recorded_schema_id(schema, data or data_ids)
        if data or data_ids:
            show_data(schema_id, with_ids=data_ids)
            return
        found = history.filtered(
            lambda db: Filters(
                cid=history.find_cid(cid) if latest or cid is not None else None,
                model=model,
                since=start,
                until=end,
                text=query,
                schema_id=schema_id,
            ),
            count or None,
        )
        show_exchanges(found, json_output, jsonl)


def recorded_schema_id(given: str | None, for_data: bool) -> str | None:
    """The hash of the schema ``--schema`` names: a recorded hash's start, a saved name, or any schema form."""
    from ..errors import UsageError

    if given is None:
        if for_data:
            raise UsageError(
                "--data prints what a schema extracted", "name the schema: --schema ID (`chatstream schemas list`)"
            )
        return None
    from .. import history
    from ..prompting.schemas import resolve_schema

    recorded = history.used_schema(given.strip().lower()) if given.strip() else None
    return recorded.id if recorded is not None else resolve_schema(given).id


def show_data(schema_id: str | None, *, with_ids: bool) -> None:
    """Every object stored with the schema as a JSON line, oldest first; a ``--schema-multi`` list's items each."""
    from .. import history
    from ..schema import multi_items

    assert schema_id is not None
    recorded = history.used_schema(schema_id)
    listed = recorded is not None and multi_items(recorded.schema) is not None
    for exchange_id, reply in history.schema_data(schema_id):
        try:
            document = json.loads(reply)
        except ValueError:
            continue  # not possible for a reply that passed its check, unless the file was edited
        objects = document.get("items", []) if listed and isinstance(document, dict) else [document]
        for item in objects:
            shown = {**item, "exchange_id": exchange_id} if with_ids and isinstance(item, dict) else item
            sys.stdout.write(json.dumps(shown, ensure_ascii=False) + "\n")


def show_exchanges(exchanges: list[Exchange], json_output: bool, jsonl: bool) -> None:
    if json_output:
        print(json.dumps([exchange.to_dict() for exchange in exchanges], ensure_ascii=False, indent=2))
    elif jsonl:
        for exchange in exchanges:
            print(json.dumps(exchange.to_dict(), ensure_ascii=False))
    else:
        write_markdown("\n\n".join(exchange_markdown(exchange) for exchange in exchanges))


def exchange_markdown(exchange: Exchange) -> str:
    """An exchange as Markdown: a heading with its conversation, turn, model and time, the prompt quoted, the reply."""
    ending = "" if exchange.outcome == "completed" else f" · {exchange.outcome}"
    if exchange.outcome == "failed":
        ending += f" (exit {exchange.exit_code})"
    heading = (
        f"## {exchange.cid[:SHOWN_CID]} · turn {exchange.turn} · {exchange.full_model} · "
        f"{local_time(exchange.created_at)}{ending}"
    )
    parts = [heading]
    if exchange.system:
        parts.append(quoted(exchange.system, "system: "))
    parts.append(quoted(exchange.prompt))
    if exchange.reply:
        parts.append(exchange.reply)
    return "\n\n".join(parts)


def quoted(text: str, label: str = "") -> str:
    return "\n".join("> " + line for line in (label + text).splitlines() or [""])


def write_markdown(text: str) -> None:
    """Rich's Markdown on a terminal; the text itself, exactly, on a pipe."""
    if not text:
        return
    from ..render.choose import stdout_is_terminal

    if not stdout_is_terminal():
        sys.stdout.write(text + "\n")
        return
    from rich.markdown import Markdown

    from ..render.safe import neutralise
    from ..render.terminal import terminal_console

    terminal_console().print(Markdown(neutralise(text)))


def local_time(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")


def parse_when(text: str | None, flag: str, *, end: bool) -> str | None:
    """A local date or date-time as the UTC text the history compares with; a date given as an end takes
    its whole day."""
    if text is None:
        return None
    from ..errors import UsageError

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not a date", f"use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. {flag} 2026-01-31"
        ) from None
    if end and len(text.strip()) == 10:
        when += timedelta(days=1)
    return when.astimezone(UTC).isoformat(timespec="milliseconds")  # a naive time is local time


ListCount = Annotated[int, typer.Option("-n", "--count", min=0, metavar="N", help="How many, newest last (0: all).")]


@app.command("list", cls=PlainHelpCommand)
def list_command(count: ListCount = 20, json_output: JsonFlag = False) -> None:
    """The conversations: id prefix, when, model, turns, first prompt."""
    from .. import history

    with reporting(False):
        found = history.conversations(count or None)
        if json_output:
            print(json.dumps([conversation_dict(item) for item in found], ensure_ascii=False, indent=2))
            return
        for conversation in found:
            print(conversation_line(conversation))


def conversation_dict(conversation: Conversation) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(conversation)


def conversation_line(conversation: Conversation) -> str:
    from ..render.safe import neutralise

    first = " ".join(conversation.first_prompt.split())
    first = first if len(first) <= 60 else first[:59] + "…"
    turns = f"{conversation.turns} turn" + ("s" if conversation.turns != 1 else "")
    line = (
        f"{conversation.cid[:SHOWN_CID]}  {local_time(conversation.updated_at)}  {conversation.model}  {turns}  {first}"
    )
    return neutralise(line) if sys.stdout.isatty() else line


@app.command("path")
def path_command() -> None:
    """Print where the history is (it may not exist yet)."""
    from .. import history

    print(history.path())


@app.command("off")
def off_command() -> None:
    """Stop recording: sets log = false in config.toml."""
    from .config import set_setting

    set_setting("log", "false")
    print("the history is off: nothing will be recorded (chatstream logs on to turn it back on)")


@app.command("on")
def on_command() -> None:
    """Record again: sets log = true in config.toml."""
    from .. import history
    from .config import set_setting

    set_setting("log", "true")
    print(f"the history is on: exchanges are recorded in {history.path()}")


Before = Annotated[
    str | None, typer.Option("--before", metavar="DATE", help="Delete every exchange before this date or time.")
]


Yes = Annotated[bool, typer.Option("-y", "--yes", help="Delete several conversations without asking.")]


@app.command("delete", cls=PlainHelpCommand)
def delete_command(cid: CidOption = None, before: Before = None, yes: Yes = False) -> None:
    """Delete a conversation (--cid ID) or everything before a date (--before DATE); a delete of more
    than one conversation asks first on a terminal, and needs --yes elsewhere."""
    from .. import history
    from ..errors import UsageError
    from ..history import queries

    if (cid is None) == (before is None):
        raise UsageError("say what to delete", "use --cid ID or --before DATE")
    cutoff = parse_when(before, "--before", end=False)
    with reporting(False):
        target = history.find_cid(cid) if cid else None
        with history.opened() as db:
            if db is not None and cutoff is not None and not yes:
                confirm_deleting(*queries.older_than(db, cutoff), f"--before {before}")
            gone = queries.delete(db, cid=target, before=cutoff) if db is not None else (0, 0)
        exchanges, conversations = gone
        print(f"deleted {plural(exchanges, 'exchange')} and {plural(conversations, 'conversation')}")


def confirm_deleting(exchanges: int, conversations: int, what: str) -> None:
    """Go on only when one conversation at most would go, or a person at the terminal says yes; a typer.Exit
    (exit 0, nothing deleted) when they say no, a UsageError when nobody can be asked."""
    from ..errors import UsageError

    if conversations <= 1:
        return
    doomed = f"{plural(exchanges, 'exchange')} of {plural(conversations, 'conversation')}"
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"{what} would delete {doomed}", "add --yes to delete them without a question")
    try:
        answer = input_on_stderr(f"delete {doomed} ({what})? [y/N] ")
    except EOFError:
        answer = ""
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the question's line before the shell's prompt
        raise
    if answer.strip().lower() not in ("y", "yes"):
        print("chatstream: nothing was deleted", file=sys.stderr)
        raise typer.Exit(0)


def input_on_stderr(question: str) -> str:
    """A line typed at the terminal after ``question``, which goes to stderr (stdout may be a pipe)."""
    print(question, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        print(file=sys.stderr)
        raise EOFError
    return line
