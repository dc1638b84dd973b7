"""A deterministic document that satisfies a schema: what ``builtin:echo`` and ``builtin:poet`` answer with
``--schema``, so structured output works offline. Strings come from ``words`` (the prompt's for echo, the
verse's lines for poet) in turn; numbers and booleans from a hash of the field's name."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from itertools import cycle
from typing import Any

from .convert import resolved_ref

_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "poet@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_LIST_LENGTH = 2


def example_document(schema: dict[str, Any], words: list[str]) -> Any:
    """A value of ``schema``, its strings taken from ``words`` in turn."""
    return _Example(schema, cycle([word for word in words if word] or ["text"])).value(schema, "output")


class _Example:
    def __init__(self, root: dict[str, Any], words: Iterator[str]) -> None:
        self.root = root
        self.words = words

    def value(self, schema: Any, name: str) -> Any:
        schema = resolved_ref(schema, self.root)
        if not isinstance(schema, dict):
            return next(self.words)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][_hash(name) % len(schema["enum"])]
        for key in ("anyOf", "oneOf", "allOf"):
            options = [item for item in schema.get(key) or () if resolved_ref(item, self.root).get("type") != "null"]
            if options:
                return self.value(options[0], name)
        return self.typed(schema, _kind(schema), name)

    def typed(self, schema: dict[str, Any], kind: str, name: str) -> Any:
        if kind == "object":
            properties = schema.get("properties") or {}
            return {key: self.value(item, key) for key, item in properties.items()}
        if kind == "array":
            low, high = schema.get("minItems", _LIST_LENGTH), schema.get("maxItems", _LIST_LENGTH)
            count = max(low, min(_LIST_LENGTH, high))
            return [self.value(schema.get("items"), f"{name}{index}") for index in range(count)]
        if kind in ("integer", "number"):
            return _number(schema, name, kind)
        if kind == "boolean":
            return _hash(name) % 2 == 0
        if kind == "null":
            return None
        return _string(schema, next(self.words))


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if isinstance(kind, str):
        return kind
    return "object" if "properties" in schema else "array" if "items" in schema else "string"


def _number(schema: dict[str, Any], name: str, kind: str) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
    high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100) - 1)
    span = max(int(high) - int(low), 0)
    value = int(low) + (_hash(name) % (span + 1) if span else 0)
    return value if kind == "integer" else float(value)


def _string(schema: dict[str, Any], word: str) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    text = word if len(word) >= low else (word + " " + word * low)[:low]
    return text[:high] if high is not None else text


def _hash(name: str) -> int:
    return zlib.crc32(name.encode())
