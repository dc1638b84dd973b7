"""MCP servers as tools, through the official ``mcp`` SDK (the ``chatstream[mcp]`` extra).

A server starts on first use and stays up for the rest of the process (its start is paid once): each one
is a task on an event loop in a worker thread, which holds the SDK's transport and session open until
:meth:`McpServers.close`. A stdio server gets the environment its config gives plus the SDK's few
harmless defaults (PATH, HOME, USER, SHELL, TERM, LOGNAME), never chatstream's API keys unless the
config names them; its stderr goes to ``mcp-NAME.log`` in the data directory, never to the terminal.
The SDK starts it in its own process group and, when the session closes, ends it and its children.

Failures: a server that cannot start, stops, or does not answer within its timeout is one error naming it
(exit 4); an error *result* of a tool goes back to the model, as any tool's error does.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ProviderError
from ..toolspec import ToolDefinitionError, spec_from_dict
from . import Tool, ToolError

if TYPE_CHECKING:
    from ..config import McpServerConfig

DEFAULT_TIMEOUT = 30.0
"""Seconds a server has to start, and a tool call to answer (``timeout`` in ``[mcp.NAME]``)."""
_STOP_WAIT = 5.0


def check_installed() -> None:
    """Exit 3 naming the extra when the SDK is missing."""
    try:
        import mcp  # noqa: F401  (what the servers need, imported now rather than on the loop's thread)
    except ImportError:
        raise ConfigError(
            "MCP servers need the mcp package", "install the extra: pip install 'chatstream[mcp]'"
        ) from None


class McpServers:
    """The MCP servers of one process, by name: started when first asked for, all stopped by ``close``."""

    def __init__(self, configs: dict[str, McpServerConfig], log_dir: Path) -> None:
        self.configs = configs
        self.log_dir = log_dir
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sessions: dict[str, Any] = {}
        self._stops: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, Any] = {}

    def tools(self, name: str) -> list[Tool]:
        """The tools the server offers (the server is started first if it is not running)."""
        session = self._session(name)
        listed = self._wait(name, session.list_tools(), "list its tools")
        tools = []
        for item in listed.tools:
            try:
                spec = spec_from_dict(
                    {"name": item.name, "description": item.description or "", "input_schema": item.input_schema}
                )
            except ToolDefinitionError as exc:
                raise ProviderError(f"the MCP server {name} offers a tool chatstream cannot use: {exc}") from None
            tools.append(Tool(spec, lambda args, tool=item.name: self.call(name, tool, args), f"mcp {name}"))
        return tools

    def call(self, name: str, tool: str, args: dict[str, Any]) -> str:
        """Run one tool; its text, or ToolError with it when the server says the call failed."""
        result = self._wait(name, self._session(name).call_tool(tool, args), f"answer a call of {tool}")
        text = result_text(result)
        if getattr(result, "is_error", False):
            raise ToolError(text)
        return text

    def close(self) -> None:
        """Stop every server that was started (the SDK ends each one's process group) and the loop."""
        loop = self._loop
        if loop is None:
            return
        for stop in self._stops.values():
            loop.call_soon_threadsafe(stop.set)
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):  # a server that fails to stop cleanly is stopped, or abandoned
                task.result(timeout=_STOP_WAIT)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=_STOP_WAIT)
        self._loop = None

    # -- the servers ---------------------------------------------------------------------------

    def _session(self, name: str) -> Any:
        if name in self._sessions:
            return self._sessions[name]
        config = self.configs[name]
        loop = self._running_loop()
        started = threading.Event()
        outcome: dict[str, Any] = {}

        async def serve() -> None:
            stop = asyncio.Event()
            self._stops[name] = stop
            try:
                async with self._connection(config) as session:
                    outcome["session"] = session
                    started.set()
                    await stop.wait()
            except BaseException as exc:
                outcome.setdefault("error", exc)
                started.set()
                if not isinstance(exc, Exception):
                    raise

        self._tasks[name] = asyncio.run_coroutine_threadsafe(serve(), loop)
        timeout = self._timeout(config)
        if not started.wait(timeout=timeout + 1):
            raise ProviderError(f"the MCP server {name} did not start within {timeout:g} s", _log_hint(self, name))
        if "error" in outcome:
            reason = describe(outcome["error"])
            raise ProviderError(f"the MCP server {name} did not start: {reason}", _log_hint(self, name))
        self._sessions[name] = outcome["session"]
        return outcome["session"]

    def _connection(self, config: McpServerConfig) -> Any:
        from contextlib import asynccontextmanager

        from mcp import ClientSession

        timeout = self._timeout(config)

        @asynccontextmanager
        async def connected() -> Any:
            async with self._transport(config) as streams, ClientSession(streams[0], streams[1]) as session:
                await asyncio.wait_for(session.initialize(), timeout)
                yield session

        return connected()

    def _transport(self, config: McpServerConfig) -> Any:
        if config.url:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            client = httpx2.AsyncClient(headers=config.headers, timeout=self._timeout(config))
            return _with_client(client, streamable_http_client(config.url, http_client=client))
        from mcp.client.stdio import StdioServerParameters, stdio_client

        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"mcp-{config.name}.log").open("a", encoding="utf-8")
        command = config.command or ""
        params = StdioServerParameters(command=command, args=list(config.args), env=config.env, cwd=config.cwd)
        return _closing_log(log, stdio_client(params, errlog=log))

    def _wait(self, name: str, work: Coroutine[Any, Any, Any], what: str) -> Any:
        config = self.configs[name]
        timeout = self._timeout(config)
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(work, timeout), self._running_loop())
        try:
            return future.result(timeout=timeout + 1)
        except (FutureTimeout, TimeoutError):
            future.cancel()
            hint = _log_hint(self, name)
            raise ProviderError(f"the MCP server {name} did not {what} within {timeout:g} s", hint) from None
        except Exception as exc:
            if _is_tool_error(exc):
                raise ToolError(describe(exc)) from None
            hint = _log_hint(self, name)
            raise ProviderError(f"the MCP server {name} failed to {what}: {describe(exc)}", hint) from None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="chatstream-mcp", daemon=True)
            self._thread.start()
        return self._loop

    @staticmethod
    def _timeout(config: McpServerConfig) -> float:
        return config.timeout or DEFAULT_TIMEOUT


def _log_hint(servers: McpServers, name: str) -> str:
    config = servers.configs[name]
    if config.url:
        return f"check that {config.url} is an MCP server (Streamable HTTP) and is up"
    return f"its messages are in {servers.log_dir / f'mcp-{name}.log'}"


def _is_tool_error(exc: Exception) -> bool:
    """A JSON-RPC error answering the call (an unknown tool, bad arguments), not a broken connection."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    return isinstance(exc, MCPError) and exc.code not in (CONNECTION_CLOSED, REQUEST_TIMEOUT)


def describe(exc: BaseException) -> str:
    """One line for an error, the first of a group's (anyio wraps a server's failure in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def result_text(result: Any) -> str:
    """A tool result's content as text: text parts as they are, other parts (images, resources) named."""
    parts = []
    for part in getattr(result, "content", None) or []:
        kind = getattr(part, "type", "")
        if kind == "text":
            parts.append(part.text)
        elif kind == "resource" and hasattr(getattr(part, "resource", None), "text"):
            parts.append(part.resource.text)
        else:
            parts.append(f"[{kind or 'content'} {getattr(part, 'mime_type', '') or ''}]".replace(" ]", "]"))
    if not parts and getattr(result, "structured_content", None) is not None:
        import json

        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def _with_client(client: Any, transport: Any) -> Any:
    """The HTTP transport, with the client it was given closed after it."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def managed() -> Any:
        async with client, transport as streams:
            yield streams

    return managed()


def _closing_log(log: Any, transport: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def managed() -> Any:
        try:
            async with transport as streams:
                yield streams
        finally:
            log.close()

    return managed()


def mcp_tools(names: Iterable[str], servers: McpServers) -> list[Tool]:
    """The tools of the servers named by ``--mcp`` (or a role), each server started once."""
    tools: list[Tool] = []
    for name in dict.fromkeys(names):
        if name not in servers.configs:
            known = ", ".join(servers.configs) or "none yet"
            raise ConfigError(
                f"no MCP server named {name!r} in the config (configured: {known})",
                f"add it: chatstream mcp add {name} -- COMMAND ARGS...",
            )
        tools.extend(servers.tools(name))
    return tools
