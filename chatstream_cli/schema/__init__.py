"""Structured output: the JSON Schema a reply must satisfy (``--schema``), read from a file, inline JSON or
the concise form (``'name, age int, bio: a short bio'``), and the document a reply carries.

The validator (``jsonschema``, see :mod:`.check` for why that one) is imported when a schema is checked:
only a command with ``--schema`` pays for it.
A schema is known by the hash of its canonical JSON (:attr:`OutputSchema.id`), which the history records.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..messages import AIMessageChunk, content_text

MULTI_KEY = "items"
"""``--schema-multi`` asks for ``{"items": [...]}``: every provider wants an object at the root."""
CONCISE_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
}
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LONGEST_PATH = 4096


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """A schema the reply must satisfy; with ``multi`` the reply is a list of objects that each satisfy it."""

    schema: dict[str, Any]
    multi: bool = False
    name: str = "output"
    #: What the schema was given as, for messages: a file's path, ``inline JSON``, ``the concise form``, a name.
    source: str = field(default="--schema", compare=False)

    @property
    def wire(self) -> dict[str, Any]:
        """The schema sent to the model and checked: the schema itself, or the object holding the list."""
        if not self.multi:
            return self.schema
        return {
            "type": "object",
            "properties": {MULTI_KEY: {"type": "array", "items": self.schema}},
            "required": [MULTI_KEY],
            "additionalProperties": False,
        }

    @property
    def id(self) -> str:
        """The hash of the schema sent, in canonical JSON: how the history and ``logs --schema`` know it."""
        return schema_hash(self.wire)

    def data(self, document: Any) -> Any:
        """What the user asked for in a valid document: the object, or the list of ``--schema-multi``."""
        if self.multi and isinstance(document, dict):
            return document.get(MULTI_KEY)
        return document


def schema_hash(schema: dict[str, Any]) -> str:
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_schema(text: str, *, multi: bool = False, flag: str = "--schema") -> OutputSchema:
    """The schema ``text`` gives: inline JSON (it starts with ``{``), a JSON file, or the concise form."""
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{flag} is empty", "give a JSON Schema, a file holding one, or fields: 'name, age int'")
    if stripped.startswith("{"):
        schema, source = _json_schema(stripped, f"{flag} (inline JSON)"), "inline JSON"
    elif _is_file(stripped):
        path = Path(stripped).expanduser()
        try:
            content = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the schema file {path}: {exc}", "check the path") from None
        schema, source = _json_schema(content, f"the schema file {path}"), str(path)
    else:
        schema, source = concise_schema(stripped, flag), "the concise form"
    checked_schema(schema, flag)
    return OutputSchema(schema, multi=multi, name=_name_of(schema), source=source)


def _is_file(text: str) -> bool:
    if "\n" in text or "," in text or len(text) > _LONGEST_PATH:
        return False
    try:
        return Path(text).expanduser().is_file()
    except OSError:
        return False


def _json_schema(text: str, where: str) -> dict[str, Any]:
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}", "fix the JSON, or use the concise form") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{where} is not a JSON Schema object", 'a schema is an object, e.g. {"type": "object"}')
    return schema


def concise_schema(text: str, flag: str = "--schema") -> dict[str, Any]:
    """``'name, age int, bio: a short bio'`` (or one field a line) as an object schema, every field required."""
    properties: dict[str, Any] = {}
    for part in text.split("\n") if "\n" in text else text.split(","):
        declaration, colon, description = part.partition(":")
        words = declaration.split()
        if not words:
            if colon or description.strip():
                raise UsageError(f"{flag}: a field has no name in {part.strip()!r}", "write NAME [TYPE][: description]")
            continue
        if len(words) > 2 or not _FIELD_NAME.match(words[0]):
            raise UsageError(
                f"{flag}: {declaration.strip()!r} is not a field", "write NAME [TYPE][: description], e.g. 'age int'"
            )
        kind = words[1].lower() if len(words) == 2 else "str"
        if kind not in CONCISE_TYPES:
            raise UsageError(
                f"{flag}: unknown type {words[1]!r} of field {words[0]}", "types are str, int, float, bool"
            )
        item: dict[str, Any] = {"type": CONCISE_TYPES[kind]}
        if description.strip():
            item["description"] = description.strip()
        properties[words[0]] = item
    if not properties:
        raise UsageError(f"{flag} names no field", "e.g. --schema 'name, age int, bio: a short bio'")
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def concise_form(schema: dict[str, Any]) -> str:
    """A schema's fields in the concise form, to tell schemas apart in a list (``name, age int, tags array``)."""
    items = multi_items(schema) or schema
    short = {"integer": "int", "number": "float", "boolean": "bool"}
    fields = []
    for name, item in ((items or {}).get("properties") or {}).items():
        kind = item.get("type") if isinstance(item, dict) else None
        kind = short.get(kind, kind) if isinstance(kind, str) else None
        fields.append(name if kind in (None, "string") else f"{name} {kind}")
    return ("list of: " if multi_items(schema) else "") + (", ".join(fields) or "(no fields)")


def multi_items(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The item schema, when ``schema`` is the object ``--schema-multi`` sends around a list; else None."""
    properties = schema.get("properties")
    if not (isinstance(properties, dict) and list(properties) == [MULTI_KEY]):
        return None
    wrapped = properties[MULTI_KEY]
    is_list = isinstance(wrapped, dict) and wrapped.get("type") == "array" and isinstance(wrapped.get("items"), dict)
    return wrapped["items"] if is_list else None


def checked_schema(schema: dict[str, Any], flag: str = "--schema") -> dict[str, Any]:
    """The schema, if it is a valid JSON Schema whose root is an object (what every provider needs)."""
    problem = schema_problem(schema)
    if problem:
        raise UsageError(f"{flag} is not a valid JSON Schema: {problem}", "see https://json-schema.org")
    if schema.get("type") != "object":
        raise UsageError(
            f'{flag} must describe an object (its "type" is "object")',
            "providers want an object at the root; --schema-multi asks for a list of objects",
        )
    return schema


def schema_problem(schema: dict[str, Any]) -> str | None:
    """What makes ``schema`` no valid JSON Schema (under the draft it declares, else 2020-12), or None."""
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as error:
        return f"{error.message} at {error.json_path}"
    return None


def _name_of(schema: dict[str, Any]) -> str:
    """A name for the schema where a provider wants one (OpenAI's json_schema.name, the forced tool's)."""
    title = schema.get("title")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", title).strip("_")[:64] if isinstance(title, str) else ""
    return name or "output"


def document_text(chunk: AIMessageChunk) -> str:
    """The JSON a chunk (or a whole reply) carries: its text, or the arguments of a forced tool's call."""
    text = content_text(chunk.content)
    if text:
        return text
    return "".join(str(call.get("args") or "") for call in chunk.tool_call_chunks)
