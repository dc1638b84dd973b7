"""The end of a reply with a schema: its JSON parsed and validated with ``jsonschema``.

``jsonschema`` (the reference implementation in Python, from the python-jsonschema project) rather than
``fastjsonschema``: every draft up to 2020-12 (fastjsonschema stops at draft 7, and the schemas providers
document use ``$defs`` and 2020-12's keywords), ``$ref`` resolved by ``referencing``, a schema itself
checked against its metaschema, and errors with a JSON path, from which ``best_match`` picks the most
telling. fastjsonschema's speed (it compiles a schema to Python) does not matter here: one document is
checked once, after the model took seconds to write it. Importing it costs about 70 ms, paid only with
``--schema``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import ProviderError
from ..messages import AIMessageChunk
from . import OutputSchema, document_text


class SchemaMismatch(ProviderError):
    """The reply is not JSON, or not JSON the schema allows: exit 4, the text kept."""

    error_type = "schema_mismatch"

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(message, "the reply is kept as it came, on stdout and in the history")
        self.path = path


def parsed_document(text: str) -> Any:
    """The reply's JSON value (inside a code fence, where a model without a JSON mode put it); a SchemaMismatch
    saying where it stops being JSON otherwise."""
    try:
        return json.loads(_unfenced(text))
    except ValueError as exc:
        detail = "it is empty" if not text.strip() else str(exc)
        raise SchemaMismatch(f"the reply is not JSON: {detail}") from None


def _unfenced(text: str) -> str:
    stripped = text.strip()
    if not (stripped.startswith("```") and stripped.endswith("```") and "\n" in stripped):
        return text
    return stripped[stripped.index("\n") + 1 : -3]


def validated(schema: dict[str, Any], document: Any) -> Any:
    """``document``, if the schema allows it; else a SchemaMismatch with the first error's path and message."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    error = best_match(validator_for(schema)(schema).iter_errors(document))
    if error is not None:
        where = error.json_path
        raise SchemaMismatch(f"the reply does not match the schema at {where}: {error.message}", path=where)
    return document


def checked_document(schema: dict[str, Any], text: str) -> Any:
    """The reply's JSON, parsed and validated."""
    return validated(schema, parsed_document(text))


@dataclass(slots=True)
class Verdict:
    """What a complete reply with a schema came to: its text, and its data or why there is none."""

    text: str
    document: Any = None
    error: SchemaMismatch | None = None

    @property
    def valid(self) -> bool:
        return self.error is None


class ReplyCheck:
    """Checks a complete reply against the schema once, for the renderer, the exit code and the history."""

    def __init__(self, schema: OutputSchema) -> None:
        self.schema = schema
        self.verdict: Verdict | None = None

    def of(self, reply: AIMessageChunk) -> Verdict:
        if self.verdict is None:
            self.verdict = self.of_text(document_text(reply))
        return self.verdict

    def of_text(self, text: str) -> Verdict:
        from .convert import without_emulated_nulls

        try:
            document = parsed_document(text)
            document = validated(self.schema.wire, without_emulated_nulls(document, self.schema.wire))
        except SchemaMismatch as error:
            return Verdict(text, error=error)
        return Verdict(text, document=self.schema.data(document))


def document_json(data: Any, *, pretty: bool) -> str:
    """The data as stdout gets it: compact JSON, or indented with ``--pretty``."""
    if pretty:
        return json.dumps(data, ensure_ascii=False, indent=2)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
