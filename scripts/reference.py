"""Writes the command reference from the commands' own help: one Markdown page per command in
docs/reference/ and the man page chatstream(1) in chatstream_cli/data/man/ (shipped in the wheel).

Every option with its metavar, default and environment variable comes from the same Click objects that
print ``--help``, so the reference says what the program does. tests/test_reference.py regenerates
everything and fails when a committed file differs: after changing an option, run

    PYTHONPATH=. python scripts/reference.py
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "reference"
MAN_PAGE = REPO / "chatstream_cli" / "data" / "man" / "chatstream.1"

# Shown where --help prints the path of the installed man page, which differs from one install to the next.
MAN_PATH_STAND_IN = "…/chatstream_cli/data/man/chatstream.1"

EXIT_STATUS = (
    ("0", "the reply completed"),
    ("1", "a bug in chatstream (rerun with --debug and report it)"),
    ("2", "usage: a bad flag or value, no prompt, conflicting options"),
    ("3", "configuration or authentication: no key, key rejected, unknown provider, model or alias"),
    (
        "4",
        "the provider failed: request rejected, rate limited or overloaded after the retries, error mid-stream;"
        " with --schema, a reply that is not JSON the schema allows",
    ),
    ("5", "network: cannot connect, connection dropped, timeout"),
    ("129", "stopped by SIGHUP (a closed terminal): the partial reply stays, as at Ctrl-C"),
    ("130", "interrupted with Ctrl-C (the partial reply stays)"),
    ("141", "stdout closed early (| head): stops at once, silently; every subcommand"),
    ("143", "stopped by SIGTERM (kill, timeout): the partial reply stays, as at Ctrl-C"),
)


@dataclass
class Parameter:
    """One option or argument as --help shows it."""

    names: str  # "-m, --model MODEL", or an argument's metavar
    help: str
    default: str | None = None
    envvar: str | None = None
    notes: list[str] = field(default_factory=list)  # ranges, "required": what --help adds in brackets


@dataclass
class Command:
    """A command or group, with its subcommands, as --help describes it."""

    path: str  # "chatstream logs list"
    usage: str
    help: str
    epilog: str
    arguments: list[Parameter]
    options: list[Parameter]
    subcommands: list[Command]


def _parameter(param: object, ctx: object) -> Parameter | None:
    record = param.get_help_record(ctx)  # type: ignore[attr-defined]
    if record is None:
        return None
    names, text = record
    found = Parameter(names, text)
    match = re.fullmatch(r"(.*?)\s*\[([^\[\]]*)\]", text, flags=re.DOTALL)
    if match:
        found.help = match.group(1)
        for item in match.group(2).split("; "):
            key, _, value = item.partition(": ")
            if key == "env var":
                found.envvar = value
            elif key == "default":
                found.default = value
            else:
                found.notes.append(item)
    return found


def _help_text(command: object) -> str:
    text = inspect.cleandoc(getattr(command, "help", None) or "")
    return text.replace(str(_installed_man_page()), MAN_PATH_STAND_IN)


def _installed_man_page() -> Path:
    from chatstream_cli.cli import MAN_PAGE as installed

    return installed


def collect(command: object, name: str, parent: object | None = None) -> Command:
    """The help of ``command`` and of every subcommand below it."""
    from typer._click import Context

    ctx = Context(command, info_name=name, parent=parent, **command.context_settings)  # type: ignore[arg-type, attr-defined]
    params = [(param, _parameter(param, ctx)) for param in command.get_params(ctx)]  # type: ignore[attr-defined]
    subcommands = []
    if hasattr(command, "list_commands"):
        for sub_name in command.list_commands(ctx):
            subcommands.append(collect(command.get_command(ctx, sub_name), sub_name, ctx))
    usage = command.get_usage(ctx).removeprefix("Usage: ")  # type: ignore[attr-defined]
    epilog = inspect.cleandoc(getattr(command, "epilog", None) or "")
    return Command(
        path=ctx.command_path,
        usage=usage,
        help=_help_text(command),
        epilog=epilog.replace(str(_installed_man_page()), MAN_PATH_STAND_IN),
        arguments=[found for param, found in params if found and param.param_type_name == "argument"],
        options=[found for param, found in params if found and param.param_type_name == "option"],
        subcommands=subcommands,
    )


def root() -> Command:
    """The whole command tree, from chatstream's own Click objects."""
    import typer

    from chatstream_cli.cli import app

    return collect(typer.main.get_command(app), "chatstream")


def walk(command: Command) -> Iterator[Command]:
    yield command
    for sub in command.subcommands:
        yield from walk(sub)


# -- Markdown -------------------------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [part.strip("\n") for part in re.split(r"\n\s*\n", text) if part.strip()]


def markdown_text(text: str) -> str:
    """Help text as Markdown: Click's ``\\b`` blocks as code, the rest as paragraphs, Markdown characters kept."""
    out = []
    for paragraph in _paragraphs(text):
        if paragraph.startswith("\b"):
            lines = paragraph.removeprefix("\b").strip("\n").splitlines()
            title = lines[0] if lines and lines[0].endswith(":") else None
            body = lines[1:] if title else lines
            if title:
                out.append(_escape(title))
            out.append("```text\n" + inspect.cleandoc("\n".join(body)) + "\n```")
        else:
            out.append(_escape(" ".join(line.strip() for line in paragraph.splitlines())))
    return "\n\n".join(out)


def _escape(text: str) -> str:
    """Help prose with what Markdown would take as markup made literal (code-like words stay as typed)."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def _parameter_markdown(found: Parameter) -> str:
    line = f"- `{found.names}`"
    if found.help:
        line += f": {_escape(found.help)}"
    extras = [f"default: `{found.default}`"] if found.default else []
    extras += [f"environment: `{found.envvar}`"] if found.envvar else []
    extras += [f"`{note}`" for note in found.notes]
    if extras:
        line += f" ({'; '.join(extras)})"
    return line


def _command_markdown(command: Command, level: int) -> str:
    parts = [f"{'#' * level} `{command.path}`", f"```text\n{command.usage}\n```"]
    if command.help:
        parts.append(markdown_text(command.help))
    if command.arguments:
        parts.append("**Arguments**\n\n" + "\n".join(_parameter_markdown(found) for found in command.arguments))
    if command.options:
        parts.append("**Options**\n\n" + "\n".join(_parameter_markdown(found) for found in command.options))
    if command.epilog:
        parts.append(markdown_text(command.epilog))
    if command.subcommands:
        parts.append(
            "**Commands**: " + ", ".join(f"[`{sub.path.split()[-1]}`](#{_anchor(sub)})" for sub in command.subcommands)
        )
    return "\n\n".join(parts)


def _anchor(command: Command) -> str:
    return command.path.replace(" ", "-")


def page(command: Command) -> str:
    """A top-level command's reference page: it, then each subcommand below it."""
    header = (
        "<!-- Generated by scripts/reference.py from the commands' own help: do not edit; "
        "run `PYTHONPATH=. python scripts/reference.py` -->\n\n"
    )
    sections = [
        _command_markdown(command, 1).replace(f"# `{command.path}`", f"# `{command.path}` {{ #{_anchor(command)} }}", 1)
    ]
    for sub in list(walk(command))[1:]:
        level = 1 + sub.path.count(" ") - command.path.count(" ")
        body = _command_markdown(sub, 1 + level)
        sections.append(
            body.replace(
                f"{'#' * (1 + level)} `{sub.path}`", f"{'#' * (1 + level)} `{sub.path}` {{ #{_anchor(sub)} }}", 1
            )
        )
    return header + "\n\n".join(sections) + "\n"


def index_page(tree: Command) -> str:
    lines = [
        "<!-- Generated by scripts/reference.py: do not edit -->",
        "",
        "# Command reference",
        "",
        "Every command, option, metavar, default and environment variable, generated from the commands' own",
        "`--help` (a test fails when they differ). The same text is the man page: `man chatstream`.",
        "",
        f"- [`chatstream`](chatstream.md): {_escape(tree.help.splitlines()[0])}",
    ]
    for sub in tree.subcommands:
        lines.append(f"- [`{sub.path}`]({sub.path.split()[-1]}.md): {_escape(sub.help.splitlines()[0])}")
    return "\n".join(lines) + "\n"


def pages(tree: Command) -> dict[Path, str]:
    """Every reference page by its path: the root's own options, one page per subcommand, an index."""
    root_only = Command(tree.path, tree.usage, tree.help, tree.epilog, tree.arguments, tree.options, [])
    found = {DOCS / "index.md": index_page(tree), DOCS / "chatstream.md": page(root_only)}
    for sub in tree.subcommands:
        found[DOCS / f"{sub.path.split()[-1]}.md"] = page(sub)
    return found


# -- roff ------------------------------------------------------------------------------------------------


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(f"\\&{line}" if line[:1] in (".", "'") else line for line in text.splitlines())


def _roff_text(text: str) -> str:
    out = []
    for paragraph in _paragraphs(text):
        if paragraph.startswith("\b"):
            out.append(".PP\n.nf\n" + _roff(inspect.cleandoc(paragraph.removeprefix("\b"))) + "\n.fi")
        else:
            out.append(".PP\n" + _roff(" ".join(line.strip() for line in paragraph.splitlines())))
    return "\n".join(out)


def _roff_parameter(found: Parameter) -> str:
    extras = [f"default: {found.default}"] if found.default else []
    extras += [f"environment: {found.envvar}"] if found.envvar else []
    extras += found.notes
    text = found.help + (f" [{'; '.join(extras)}]" if extras else "")
    return f".TP\n.B {_roff(found.names)}\n{_roff(text)}"


def man_page(tree: Command, version: str) -> str:
    """chatstream(1): the same help as the reference pages, as a man page."""
    parts = [
        f'.TH CHATSTREAM 1 "" "chatstream {version}" "User Commands"',
        ".\\\" Generated by scripts/reference.py from the commands' own help: do not edit.",
        ".SH NAME",
        f"chatstream \\- {_roff(tree.help.splitlines()[0].rstrip('.').lower())}",
        ".SH SYNOPSIS",
        ".nf",
        f".B {_roff('chatstream [OPTIONS] PROMPT...')}",
        *(f".B {_roff(command.usage)}" for command in tree.subcommands),
        ".fi",
        ".SH DESCRIPTION",
        _roff_text("\n".join(tree.help.splitlines()[1:]).strip() or tree.help),
        *[_roff_parameter(found) for found in tree.options],
        ".SH COMMANDS",
    ]
    for command in list(walk(tree))[1:]:
        parts.append(f".SS {_roff(command.path)}")
        parts.append(f".B {_roff(command.usage)}")
        if command.help:
            parts.append(_roff_text(command.help))
        for found in [*command.arguments, *command.options]:
            parts.append(_roff_parameter(found))
        if command.epilog:
            parts.append(_roff_text(command.epilog))
    parts += [".SH ENVIRONMENT"]
    envvars = sorted({found.envvar for command in walk(tree) for found in command.options if found.envvar})
    for name in envvars:
        users = [c.path for c in walk(tree) if any(found.envvar == name for found in c.options)]
        parts.append(f".TP\n.B {name}\n{_roff('the default of the option it names, for ' + ', '.join(users))}")
    parts += [".SH EXIT STATUS"]
    parts += [f".TP\n.B {code}\n{_roff(meaning)}" for code, meaning in EXIT_STATUS]
    parts += [
        ".SH SEE ALSO",
        _roff("The documentation site (docs/ in the source), chatstream completions --help, chatstream config path."),
    ]
    return "\n".join(parts) + "\n"


def generated() -> dict[Path, str]:
    """Every generated file by its path, and what it should hold."""
    from chatstream_cli import __version__

    tree = root()
    return {**pages(tree), MAN_PAGE: man_page(tree, __version__)}


def main() -> None:
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
