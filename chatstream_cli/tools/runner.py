"""One tool call, run: the tool found, the arguments checked, the user asked (where they must be), the
result timed and cut to size. Whatever fails becomes the result the model gets back, marked an error,
so that it can recover; only Ctrl-C stops the run."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ChatstreamError
from ..messages import ToolMessage
from ..toolspec import argument_error
from . import DEFAULT_RESULT_LIMIT, Tool, Toolbox, ToolError

DECLINED = "the user declined to run this tool call"

#: Asked before a call runs: the arguments to run it with (perhaps edited), or None when declined.
Approver = Callable[[Tool, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A call and what came of it."""

    call_id: str
    name: str
    args: Any
    content: str
    is_error: bool = False
    seconds: float = 0.0
    #: The size in bytes of the whole result, when it was cut to the limit.
    cut_from: int | None = None

    def message(self) -> ToolMessage:
        return ToolMessage(
            content=self.content,
            tool_call_id=self.call_id,
            name=self.name,
            status="error" if self.is_error else "success",
        )

    def record(self) -> dict[str, Any]:
        """For --json: the call's id, tool, result (or error) and time."""
        return {
            "id": self.call_id,
            "name": self.name,
            "content": self.content,
            "is_error": self.is_error,
            "ms": round(self.seconds * 1000, 1),
            "cut_from": self.cut_from,
        }


class Watcher(Protocol):
    def tool_start(self, call: dict[str, Any], tool: Tool | None) -> None: ...

    def tool_end(self, result: ToolResult, error: BaseException | None) -> None: ...


class ToolRunner:
    """Runs the calls of a reply with one toolbox, one approver and one size limit."""

    def __init__(
        self,
        toolbox: Toolbox,
        approve: Approver | None = None,
        *,
        limit: int = DEFAULT_RESULT_LIMIT,
        watcher: Watcher | None = None,
        stdout_to_stderr: bool = False,
    ) -> None:
        self.toolbox = toolbox
        self.approve = approve
        self.limit = limit
        self.watcher = watcher
        #: The command line's stdout carries only the model's text: what a Python tool prints goes to stderr.
        self.stdout_to_stderr = stdout_to_stderr

    def run(self, call: dict[str, Any]) -> ToolResult:
        """Run one call, ``tool_call`` or ``invalid_tool_call``."""
        tool = self.toolbox.get(call.get("name") or "")
        if self.watcher is not None:
            self.watcher.tool_start(call, tool)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            content, is_error = self._outcome(call, tool)
        except ChatstreamError:  # chatstream's own failure (an MCP server that stopped): the run ends
            raise
        except ToolError as exc:
            error = exc
            content, is_error = str(exc), True
        except Exception as exc:  # the tool raised: the model hears of it
            error = exc
            content, is_error = f"{type(exc).__name__}: {exc}", True
        result = self._sized(call, content, is_error, time.perf_counter() - started)
        if self.watcher is not None:
            self.watcher.tool_end(result, error)
        return result

    def _outcome(self, call: dict[str, Any], tool: Tool | None) -> tuple[str, bool]:
        name = call.get("name") or ""
        if tool is None:
            known = ", ".join(self.toolbox.tools) or "none"
            return f"there is no tool named {name!r} (the tools are: {known})", True
        if call.get("type") == "invalid_tool_call" or not isinstance(call.get("args"), dict):
            return f"the arguments are not a JSON object: {call.get('args')!r}", True
        args = call["args"]
        reason = argument_error(tool.spec, args)
        if reason:
            return f"the arguments do not fit the tool's schema: {reason}", True
        if self.approve is not None:
            approved = self.approve(tool, args)
            if approved is None:
                return DECLINED, True
            args = approved
        if not self.stdout_to_stderr:
            return as_text(tool.run(args)), False
        with contextlib.redirect_stdout(sys.stderr):
            return as_text(tool.run(args)), False

    def _sized(self, call: dict[str, Any], content: str, is_error: bool, seconds: float) -> ToolResult:
        data = content.encode("utf-8", "replace")
        cut_from = None
        if len(data) > self.limit:
            cut_from = len(data)
            kept = data[: self.limit].decode("utf-8", "ignore")
            content = f"{kept}\n[chatstream: the result was cut at {self.limit} of its {cut_from} bytes]"
        return ToolResult(
            call.get("id") or "", call.get("name") or "", call.get("args"), content, is_error, seconds, cut_from
        )


def as_text(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
