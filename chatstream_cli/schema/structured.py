"""``model.with_structured_output(schema)``, as LangChain's: ``invoke`` returns the checked data (a dict, or
a list for ``multi``), ``stream`` yields it as it grows (each a new value, parsed from the text so far),
the last one checked. A reply the schema rejects raises :class:`~.check.SchemaMismatch`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..messages import AIMessage, AIMessageChunk, Pieces, ai_fields
from ..partial_json import parse_partial_json
from . import OutputSchema, document_text, parse_schema
from .check import ReplyCheck


def output_schema_of(schema: OutputSchema | dict[str, Any] | str, *, multi: bool = False) -> OutputSchema:
    """What ``with_structured_output`` takes: a JSON Schema dict, or any form ``--schema`` takes but a name."""
    if isinstance(schema, OutputSchema):
        return schema
    import json

    return parse_schema(schema if isinstance(schema, str) else json.dumps(schema), multi=multi)


class StructuredOutput:
    """A chat model whose replies are data that satisfies a schema."""

    def __init__(self, model: Any, schema: OutputSchema) -> None:
        self.model = model
        self.schema = schema

    def __repr__(self) -> str:
        return f"StructuredOutput({self.model!r}, schema={self.schema.id[:12]})"

    def invoke(self, input: Any) -> Any:
        return self._checked(self.model.invoke(input))

    async def ainvoke(self, input: Any) -> Any:
        return self._checked(await self.model.ainvoke(input))

    def stream(self, input: Any) -> Iterator[Any]:
        growing = _Growing(self.schema)
        for chunk in self.model.stream(input):
            value = growing.add(chunk)
            if value is not _SAME:
                yield value
        growing.check()

    async def astream(self, input: Any) -> AsyncIterator[Any]:
        growing = _Growing(self.schema)
        async for chunk in self.model.astream(input):
            value = growing.add(chunk)
            if value is not _SAME:
                yield value
        growing.check()

    def batch(self, inputs: list[Any], **options: Any) -> list[Any]:
        """``invoke`` on every input concurrently; with ``return_exceptions=True`` a mismatch is returned."""
        messages = self.model.batch(inputs, **options)
        return [item if isinstance(item, BaseException) else self._checked_or_error(item, options) for item in messages]

    def _checked_or_error(self, message: AIMessage, options: dict[str, Any]) -> Any:
        try:
            return self._checked(message)
        except Exception as error:
            if options.get("return_exceptions"):
                return error
            raise

    def _checked(self, message: AIMessage) -> Any:
        verdict = ReplyCheck(self.schema).of(AIMessageChunk(**ai_fields(message)))
        if verdict.error is not None:
            raise verdict.error
        return verdict.document


_SAME = object()


class _Growing:
    """The data of a streaming reply so far: re-parsed at each chunk that adds to it, as LangChain's parser."""

    def __init__(self, schema: OutputSchema) -> None:
        self.schema = schema
        self.text = Pieces()
        self.last: Any = _SAME

    def add(self, chunk: AIMessageChunk) -> Any:
        piece = document_text(chunk)
        if not piece:
            return _SAME
        self.text.append(piece)
        try:
            value = self.schema.data(parse_partial_json(self.text.join()))
        except ValueError:
            return _SAME
        if value is None or value == self.last:
            return _SAME
        self.last = value
        return value

    def check(self) -> None:
        verdict = ReplyCheck(self.schema).of_text(self.text.join())
        if verdict.error is not None:
            raise verdict.error
