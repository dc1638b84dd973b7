"""A Typer group with a default subcommand: an unknown first word starts it (``chatstream "hi"``, ``batch FILE``)."""

from __future__ import annotations

from typing import Any, ClassVar

from typer.core import TyperGroup

GROUP_FLAGS = frozenset({"--help", "-h", "--version", "--install-completion", "--show-completion"})


class DefaultCommandGroup(TyperGroup):
    """A group whose unknown first argument starts ``default_command``."""

    default_command: ClassVar[str]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Shell completion of the first word parses no words: leave them so subcommand names complete.
        completing_first_word = ctx.resilient_parsing and not args
        if not completing_first_word and (not args or (args[0] not in self.commands and args[0] not in GROUP_FLAGS)):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
