"""``--functions FILE.py`` or ``--functions 'def f(...): ...'``: each public top-level function is a tool.

The code runs in this process because the user named it; code that does not compile or fails while it
is loaded is a usage error with its line (exit 2).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..toolspec import ToolDefinitionError
from . import Tool, function_tools


def load_functions(source: str, number: int = 0) -> list[Tool]:
    """The tools of one ``--functions`` value: a file's path, or the code itself."""
    path = Path(source)
    is_file = ("\n" not in source and len(source) < 4096 and path.suffix == ".py") or path.is_file()
    if is_file:
        try:
            code = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UsageError(f"--functions {source}: cannot read it ({reason})", "give a Python file or code") from None
        filename, label = str(path.resolve()), source
    elif "def " in source or "import " in source:
        code, filename, label = source, f"<--functions {number + 1}>", "code"
    else:
        raise UsageError(f"--functions {source}: no such file", "give a Python file, or code that defines functions")
    namespace = _executed(code, filename, label, number)
    functions = [
        value
        for name, value in namespace.items()
        if not name.startswith("_")
        and callable(value)
        and getattr(getattr(value, "__code__", None), "co_filename", None) == filename
    ]
    if not functions:
        raise UsageError(f"--functions {label}: it defines no function", "define one, e.g. def add(a: int, b: int)")
    try:
        return function_tools(functions, f"--functions {label}")
    except ToolDefinitionError as exc:
        raise UsageError(f"--functions {label}: {exc}", "change the function's signature") from None


def _executed(code: str, filename: str, label: str, number: int) -> dict[str, Any]:
    """The namespace the code leaves; its own directory is importable while it runs (for its helpers)."""
    module = f"chatstream_functions_{number}"
    namespace: dict[str, Any] = {"__name__": module, "__file__": filename}
    folder = str(Path(filename).parent) if not filename.startswith("<") else None
    if folder:
        sys.path.insert(0, folder)
    try:
        exec(compile(code, filename, "exec"), namespace)
    except SyntaxError as exc:
        raise UsageError(f"--functions {label}: line {exc.lineno}: {exc.msg}", "fix the code") from None
    except Exception as exc:
        line = next(
            (frame.lineno for frame in reversed(traceback.extract_tb(exc.__traceback__)) if frame.filename == filename),
            None,
        )
        where = f"line {line}: " if line else ""
        raise UsageError(f"--functions {label}: {where}{type(exc).__name__}: {exc}", "fix the code") from None
    finally:
        if folder:
            sys.path.remove(folder)
    return namespace
