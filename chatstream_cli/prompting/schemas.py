"""Saved schemas: a JSON Schema kept under a name, ``<chatstream home>/schemas/NAME.json``, and used with
``--schema NAME``; ``chatstream schemas`` lists them beside the schemas the history recorded by hash, which
``--schema ID`` (six hex digits of the hash or more) takes too. A recorded ``--schema-multi`` schema is the
object around the list, so ``--schema ID`` asks for that object again."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError

if TYPE_CHECKING:
    from ..schema import OutputSchema

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ID_PREFIX = re.compile(r"^[0-9a-f]{6,64}$")


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

    from ..schema import multi_items, parse_schema

    name = text.strip()
    saved = saved_schema(name)
    if saved is not None:
        schema = parse_schema(json.dumps(saved), multi=multi, flag=f"{flag} {name}")
        return replace(schema, source=f"the saved schema {name}")
    recorded = recorded_schema(name)
    if recorded is not None:  # a --schema-multi one asks for the same list again
        items = multi_items(recorded)
        schema = parse_schema(json.dumps(items or recorded), multi=multi or items is not None, flag=f"{flag} {name}")
        return replace(schema, source=f"the schema {name}")
    return parse_schema(text, multi=multi, flag=flag)


def recorded_schema(text: str) -> dict[str, Any] | None:
    """The schema the history recorded under a hash ``text`` starts (six hex digits at least), or None."""
    if not _ID_PREFIX.match(text):
        return None
    from .. import history

    found = history.used_schema(text)
    return found.schema if found is not None else None


def save_schema(name: str, text: str) -> Path:
    """Save the schema ``text`` gives (any form but a saved name) as ``name``; the file's path."""
    from ..schema import parse_schema

    path = schema_path(name)
    schema = recorded_schema(text.strip()) or parse_schema(text, flag="SCHEMA").schema
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
