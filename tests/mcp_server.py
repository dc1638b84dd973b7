"""A real MCP server for the tests, built with the SDK's own MCPServer: stdio, or Streamable HTTP on
127.0.0.1 (``python tests/mcp_server.py http PORT``; it prints ``ready`` once it listens).

Its tools: ``add`` (two integers), ``shout`` (a text in capitals), ``broken`` (an error result),
``crash`` (the server exits), ``wait`` (sleeps), ``environment`` (whether a variable reached it)."""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("chatstream-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    print(f"shouting {text}", file=sys.stderr)  # a server's stderr goes to its log, never the terminal
    return text.upper()


@server.tool()
def broken() -> str:
    """Always fails."""
    raise ValueError("the broken tool broke")


@server.tool()
def crash() -> str:
    """Ends the server."""
    os._exit(3)


@server.tool()
def wait(seconds: float) -> str:
    """Sleeps, then says so (and writes its pid to the log first)."""
    print(f"pid {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(seconds)
    return "waited"


@server.tool()
def environment(name: str) -> str:
    """Whether the variable NAME is set for the server."""
    return "set" if name in os.environ else "unset"


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
