"""Typer groups: one with a default subcommand, one whose subcommands are imported only when they run.

A default subcommand: an unknown first word starts it (``chatstream "hi"``, ``batch FILE``). Lazy
subcommands: ``chatstream --help`` and ``chatstream "hi"`` import no module of a subcommand they do not
run (``batch``, ``chat``, ``logs`` ... cost 20 ms or more to import and to turn into Click commands);
each such module holds a small Typer app of its own, made by :func:`subcommand_app`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from .reporting import FLAGS

GROUP_FLAGS = frozenset({"--help", "-h", "--version", "--install-completion", "--show-completion"})
#: The flags every subcommand takes, which may also come before its name: ``chatstream --debug models``.
REPORTING_FLAGS = frozenset({"--debug", "-q", "--quiet"})


class Subcommand(NamedTuple):
    """A subcommand that lives in ``module`` (its ``app``); ``summary`` stands for it in the group's --help."""

    module: str
    summary: str


class LazyGroup(TyperGroup):
    """A group whose ``subcommands`` are imported when they are run (or completed), not before."""

    subcommands: ClassVar[Mapping[str, Subcommand]] = {}
    _summaries_only = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in self.subcommands if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.subcommands:
            return command
        where = self.subcommands[cmd_name]
        if self._summaries_only:
            return TyperCommand(cmd_name, help=where.summary)
        # The import statement's machinery, not importlib.import_module: python -X importtime reports it.
        module = __import__(where.module, fromlist=["app"])
        command = self.commands[cmd_name] = typer.main.get_command(module.app)
        add_reporting_flags(command)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """List the subcommands by their summaries, importing none of them."""
        self._summaries_only = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._summaries_only = False


class DefaultCommandGroup(LazyGroup):
    """A group whose unknown first argument starts ``default_command``."""

    default_command: ClassVar[str]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Shell completion of the first word parses no words: leave them so subcommand names complete.
        completing_first_word = ctx.resilient_parsing and not args
        args = self.name_first(ctx, args)
        named = bool(args) and (args[0] in GROUP_FLAGS or args[0] in self.list_commands(ctx))
        if not completing_first_word and not named:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def name_first(self, ctx: Any, args: list[str]) -> list[str]:
        """``--debug models`` as ``models --debug``: reporting flags before a subcommand's name are its own
        (``-q`` as ``--quiet``, which every subcommand takes: ``logs -q`` is its query)."""
        leading = 0
        while leading < len(args) and args[leading] in REPORTING_FLAGS:
            leading += 1
        if 0 < leading < len(args) and args[leading] in self.list_commands(ctx):
            flags = ["--quiet" if flag == "-q" else flag for flag in args[:leading]]
            return [args[leading], *flags, *args[leading + 1 :]]
        return args


def subcommand_app(name: str, command: Callable[..., Any] | None = None, **settings: Any) -> typer.Typer:
    """The Typer app of a module that LazyGroup loads: a group of commands, or one ``command`` (with its
    ``cls`` and ``context_settings`` among ``settings``). It offers no shell completion of its own: the
    root app does."""
    if command is None:
        return typer.Typer(name=name, rich_markup_mode=None, add_completion=False, **settings)
    app = typer.Typer(rich_markup_mode=None, add_completion=False)
    app.command(name=name, **settings)(command)
    return app


def add_reporting_flags(command: Any) -> None:
    """Give a command, and each of its subcommands, ``--debug`` and ``-q/--quiet`` where it declares none of its
    own (``logs -q`` is its query, so there ``--quiet`` alone): they set :data:`reporting.FLAGS`."""
    taken = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    if "--debug" not in taken:
        command.params.append(
            TyperOption(
                param_decls=["--debug"],
                is_flag=True,
                expose_value=False,
                callback=_set_debug,
                help="Tracebacks and a request trace on stderr.",
            )
        )
    if "--quiet" not in taken:
        names = ["--quiet"] if "-q" in taken else ["-q", "--quiet"]
        command.params.append(
            TyperOption(
                param_decls=names, is_flag=True, expose_value=False, callback=_set_quiet, help="No notices on stderr."
            )
        )
    for subcommand in getattr(command, "commands", {}).values():
        add_reporting_flags(subcommand)


def _set_debug(ctx: Any, param: Any, value: bool) -> None:
    if value:
        from ..retry import show_http_trace

        FLAGS.debug = True
        show_http_trace()


def _set_quiet(ctx: Any, param: Any, value: bool) -> None:
    if value:
        FLAGS.quiet = True
