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
from typer.core import TyperCommand, TyperGroup

GROUP_FLAGS = frozenset({"--help", "-h", "--version", "--install-completion", "--show-completion"})


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
        named = bool(args) and (args[0] in GROUP_FLAGS or args[0] in self.list_commands(ctx))
        if not completing_first_word and not named:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def subcommand_app(name: str, command: Callable[..., Any] | None = None, **settings: Any) -> typer.Typer:
    """The Typer app of a module that LazyGroup loads: a group of commands, or one ``command`` (with its
    ``cls`` and ``context_settings`` among ``settings``). It offers no shell completion of its own: the
    root app does."""
    if command is None:
        return typer.Typer(name=name, rich_markup_mode=None, add_completion=False, **settings)
    app = typer.Typer(rich_markup_mode=None, add_completion=False)
    app.command(name=name, **settings)(command)
    return app
