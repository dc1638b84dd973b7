"""``chatstream mcp add NAME -- CMD ARGS... | add NAME --url URL | list | remove NAME | import FILE``:
the MCP servers of config.toml (``[mcp.NAME]``), used with ``--mcp NAME``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ChatstreamError, UsageError
from .groups import subcommand_app
from .options import PlainHelpCommand

app = subcommand_app("mcp", help="MCP servers (config.toml's [mcp.NAME]) whose tools --mcp NAME gives the model.")

ServerName = Annotated[str, typer.Argument(metavar="NAME", help="The server's name.")]
Command = Annotated[
    list[str] | None, typer.Argument(metavar="-- COMMAND [ARGS]...", help="The command that starts it (stdio).")
]
Url = Annotated[str | None, typer.Option("--url", metavar="URL", help="Its Streamable HTTP endpoint instead.")]
Headers = Annotated[
    list[str] | None, typer.Option("--header", "-H", metavar="NAME:VALUE", help="An HTTP header for --url; repeatable.")
]
Env = Annotated[
    list[str] | None, typer.Option("--env", "-e", metavar="NAME=VALUE", help="An environment variable; repeatable.")
]
Cwd = Annotated[str | None, typer.Option("--cwd", metavar="DIR", help="The directory it starts in.")]
ImportFile = Annotated[Path, typer.Argument(metavar="FILE", help="A JSON file with mcpServers (Claude, Cursor).")]


@app.command("add", cls=PlainHelpCommand)
def add_command(
    name: ServerName,
    command: Command = None,
    url: Url = None,
    header: Headers = None,
    env: Env = None,
    cwd: Cwd = None,
) -> None:
    """Add (or replace) server NAME: a command after --, or --url."""
    from ..config import McpServerConfig

    if bool(command) == bool(url):
        raise UsageError("give the server's command after -- or its --url, not both", "e.g. mcp add files -- npx srv")
    server = McpServerConfig(
        name=name,
        command=command[0] if command else None,
        args=tuple(command[1:]) if command else (),
        env=_pairs(env, "=", "--env"),
        cwd=cwd,
        url=url,
        headers=_pairs(header, ":", "--header"),
    )
    _save([server])


@app.command("list")
def list_command() -> None:
    """Each server, how it starts, and its tools (each server is started to ask it)."""
    from ..config import data_dir
    from ..providers import active_config
    from ..tools.mcp import McpServers, check_installed

    config = active_config()
    if not config.mcp:
        print("no MCP servers yet: chatstream mcp add NAME -- COMMAND ARGS...")
        return
    check_installed()
    servers = McpServers(config.mcp, data_dir())
    try:
        for name, server in config.mcp.items():
            print(f"{name}  {server.url or ' '.join([server.command or '', *server.args])}")
            try:
                for tool in servers.tools(name):
                    first = tool.spec.description.strip().splitlines()[0] if tool.spec.description.strip() else ""
                    print(f"  {tool.name}  {first}".rstrip())
            except ChatstreamError as exc:
                print(f"  (not available: {exc.message})")
    finally:
        servers.close()


@app.command("remove", cls=PlainHelpCommand)
def remove_command(name: ServerName) -> None:
    """Remove server NAME from config.toml."""
    from ..config import config_path, unset_value

    if not unset_value(f"mcp.{name}"):
        raise UsageError(f"there is no MCP server named {name!r}", "see chatstream mcp list")
    print(f"removed the MCP server {name} from {config_path()}")


@app.command("import", cls=PlainHelpCommand)
def import_command(file: ImportFile) -> None:
    """Add the servers of an mcpServers JSON file (Claude Desktop, Claude Code's .mcp.json, Cursor)."""
    _save(servers_in(file))


def servers_in(file: Path) -> list[Any]:
    """The servers of an ``{"mcpServers": {NAME: {command, args, env, cwd} | {url, headers}}}`` file."""
    from ..config import McpServerConfig

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {file}: {exc}", "give a JSON file with an mcpServers object") from None
    listed = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(listed, dict) or not listed:
        raise UsageError(f"{file} has no mcpServers object", "give Claude's, Claude Code's or Cursor's MCP file")
    servers = []
    for name, entry in listed.items():
        if not isinstance(entry, dict) or not (entry.get("command") or entry.get("url")):
            raise UsageError(f"{file}: the server {name!r} has neither a command nor a url", "fix or remove it")
        servers.append(
            McpServerConfig(
                name=name,
                command=entry.get("command"),
                args=tuple(str(arg) for arg in entry.get("args") or ()),
                env={str(key): str(value) for key, value in (entry.get("env") or {}).items()},
                cwd=entry.get("cwd"),
                url=None if entry.get("command") else entry.get("url"),
                headers={str(key): str(value) for key, value in (entry.get("headers") or {}).items()},
            )
        )
    return servers


def _save(servers: list[Any]) -> None:
    from ..config import set_mcp_server

    for server in servers:
        config = set_mcp_server(server)
        print(f"added the MCP server {server.name} to {config.path}; use it with --mcp {server.name}")


def _pairs(items: list[str] | None, separator: str, flag: str) -> dict[str, str]:
    pairs = {}
    for item in items or ():
        key, found, value = item.partition(separator)
        if not found or not key.strip():
            raise UsageError(f"{flag} {item!r} is not NAME{separator}VALUE", f"e.g. {flag} NAME{separator}VALUE")
        pairs[key.strip()] = value.strip() if separator == ":" else value
    return pairs
