"""Saved schemas: a JSON Schema kept under a name, ``<chatstream home>/schemas/NAME.json``, and used with
``--schema NAME``; ``chatstream schemas`` lists them beside the schemas the history recorded by hash."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError

if TYPE_CHECKING:
    from ..schema import OutputSchema

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def schemas_folder() -> Path:
    from ..config import home

    return home() / "schemas"


def schema_path(name: str) -> Path:
    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a schema name", "use letters, digits, '-', '_' and '.'")
    return schemas_folder() / f"{name}.json"


def saved_schema(name: str) -> dict[str, Any] | None:
    """The schema saved as ``name``, or None when there is none of that name."""
    if not _NAME.match(name):
        return None
    path = schemas_folder() / f"{name}.json"
    if not path.is_file():
        return None
    try:
        schema = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read the saved schema {path}: {exc}", "fix the file or remove it") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"the saved schema {path} is not a JSON object", "fix the file or remove it")
    return schema


def resolve_schema(text: str, *, multi: bool = False, flag: str = "--schema") -> OutputSchema:
    """What ``--schema TEXT`` names: a saved schema, else a file, inline JSON or the concise form."""
    from dataclasses import replace

    from ..schema import parse_schema

    saved = saved_schema(text.strip())
    if saved is not None:
        schema = parse_schema(json.dumps(saved), multi=multi, flag=f"{flag} {text.strip()}")
        return replace(schema, source=f"the saved schema {text.strip()}")
    return parse_schema(text, multi=multi, flag=flag)


def save_schema(name: str, text: str) -> Path:
    """Save the schema ``text`` gives (any form but a saved name) as ``name``; the file's path."""
    from ..schema import parse_schema

    path = schema_path(name)
    schema = parse_schema(text, flag="SCHEMA").schema
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path


def saved_names() -> list[str]:
    return sorted(path.stem for path in schemas_folder().glob("*.json"))


def remove_schema(name: str) -> Path:
    path = schema_path(name)
    if not path.is_file():
        raise UsageError(f"no saved schema named {name!r}", "`chatstream schemas list` shows them")
    path.unlink()
    return path
