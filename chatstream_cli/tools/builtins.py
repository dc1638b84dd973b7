"""The built-in tools (``-T NAME``): few and safe.

* ``now``: the date and time here, with the time zone;
* ``read_file``, ``list_dir``: read-only, inside the directory chatstream started in (symlinks resolved
  first, so none leads out), a file read up to the result limit;
* ``shell``: one command through ``/bin/sh`` in its own process group; asked about before every run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from ..errors import UsageError
from ..toolspec import spec_from_function
from . import DEFAULT_RESULT_LIMIT, Tool, ToolError

SHELL = "/bin/sh"


def now() -> str:
    """The current date and time here, with the time zone and the day of the week."""
    moment = datetime.now().astimezone()
    return f"{moment.isoformat(timespec='seconds')} ({moment.tzname()}, {moment:%A})"


def make_read_file(root: Path, limit: int) -> Callable[..., str]:
    def read_file(path: Annotated[str, "the file's path, relative to the working directory"]) -> str:
        """Read a text file in the working directory (or below it)."""
        target = _inside(root, path)
        if not target.is_file():
            raise ToolError(f"{path} is not a file")
        with target.open("rb") as handle:
            data = handle.read(limit + 1)
        if b"\0" in data[:8192]:
            raise ToolError(f"{path} is a binary file")
        text = data[:limit].decode("utf-8", "replace")
        return text + (f"\n[cut: the file is longer than {limit} bytes]" if len(data) > limit else "")

    return read_file


def make_list_dir(root: Path) -> Callable[..., str]:
    def list_dir(path: Annotated[str, "the directory, relative to the working directory"] = ".") -> str:
        """List a directory in the working directory (or below it): one entry a line, directories with a
        trailing /, files with their size in bytes."""
        target = _inside(root, path)
        if not target.is_dir():
            raise ToolError(f"{path} is not a directory")
        lines = []
        for entry in sorted(target.iterdir(), key=lambda item: item.name):
            if entry.is_dir():
                lines.append(f"{entry.name}/")
            else:
                lines.append(f"{entry.name}\t{entry.stat().st_size if entry.exists() else 0}")
        return "\n".join(lines) or "(empty)"

    return list_dir


def shell(command: Annotated[str, "one command line for /bin/sh"]) -> str:
    """Run a shell command in the working directory; gives its exit status and output (stdout, stderr)."""
    process = subprocess.Popen(
        [SHELL, "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: Ctrl-C here kills the whole of it
    )
    try:
        output, _ = process.communicate()
    except BaseException:
        _kill_group(process)
        raise
    text = output.decode("utf-8", "replace")
    return f"exit status {process.returncode}\n{text}"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _inside(root: Path, path: str) -> Path:
    """``path`` resolved (symlinks followed), refused unless it stays inside ``root``."""
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        raise ToolError(f"{path} is outside the working directory {root}")
    if not target.exists():
        raise ToolError(f"{path} does not exist")
    return target


BUILTIN_NAMES = ("now", "read_file", "list_dir", "shell")


def builtin_tools(names: tuple[str, ...], root: Path | None = None, limit: int = DEFAULT_RESULT_LIMIT) -> list[Tool]:
    """The built-in tools named by ``-T``, in the order given."""
    base = (root or Path.cwd()).resolve()
    makers: dict[str, Callable[[], Callable[..., Any]]] = {
        "now": lambda: now,
        "read_file": lambda: make_read_file(base, limit),
        "list_dir": lambda: make_list_dir(base),
        "shell": lambda: shell,
    }
    tools = []
    for name in dict.fromkeys(names):
        if name not in makers:
            raise UsageError(f"-T {name}: there is no such built-in tool", f"use one of: {', '.join(BUILTIN_NAMES)}")
        function = makers[name]()
        tools.append(Tool(spec_from_function(function), lambda args, f=function: f(**args), "builtin", name == "shell"))
    return tools
