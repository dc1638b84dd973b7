"""Tools the model may call: where they come from (Python functions, built-in tools), how a call runs
(checked, approved, timed, its result cut to size) and the loop that answers tool calls until the model
is done (:mod:`.loop`). The definitions themselves are :mod:`chatstream_cli.toolspec`'s.

Nothing here is imported by a reply without tools.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..toolspec import ToolSpec

DEFAULT_RESULT_LIMIT = 100_000
"""Bytes of a tool's result sent to the model; the rest is cut, with a note (``--tool-limit``)."""
DEFAULT_CHAIN_LIMIT = 5


class ToolError(Exception):
    """A tool's failure in its own words: the model gets the message alone (other exceptions: with their type)."""


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool chatstream can run: what the model is told, and what runs it."""

    spec: ToolSpec
    run: Callable[[dict[str, Any]], Any]
    #: Where it came from, for ``/tools`` and errors: ``functions FILE``, ``builtin``, ``mcp NAME``.
    source: str
    #: Asked about on a terminal before every call, whatever --approve says (the shell).
    always_ask: bool = False

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(slots=True)
class Toolbox:
    """The tools of one run, by name."""

    tools: dict[str, Tool] = field(default_factory=dict)
    #: What ``close`` stops: the MCP servers that were started.
    closers: list[Callable[[], None]] = field(default_factory=list)

    def add(self, tools: Iterable[Tool]) -> None:
        for tool in tools:
            existing = self.tools.get(tool.name)
            if existing is not None:
                raise UsageError(
                    f"two tools are named {tool.name!r} ({existing.source} and {tool.source})",
                    "rename one of them or leave one out",
                )
            self.tools[tool.name] = tool

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(tool.spec for tool in self.tools.values())

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def __bool__(self) -> bool:
        return bool(self.tools)

    @property
    def asks(self) -> bool:
        """Whether some tool asks before it runs."""
        return any(tool.always_ask for tool in self.tools.values())


def function_tools(functions: Iterable[Any], source: str = "Python") -> list[Tool]:
    """Tools from Python functions (or schema dicts with a ``function``), run in this process."""
    from ..toolspec import as_spec

    tools = []
    for item in functions:
        spec = as_spec(item)
        function = spec.function
        if function is None:
            raise UsageError(f"the tool {spec.name!r} has nothing to run it", "give a Python function")
        tools.append(Tool(spec, lambda args, function=function: function(**args), source))
    return tools
