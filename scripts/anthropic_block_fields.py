"""Regenerate chatstream_cli/providers/anthropic/blocks.py from the installed anthropic SDK.

    python scripts/anthropic_block_fields.py > chatstream_cli/providers/anthropic/blocks.py

langchain-anthropic dumps every streamed content block through the SDK's pydantic models: known
fields in the model's order, absent optional ones filled with their defaults, unknown keys after
them. chatstream reads the stream without the SDK, so it keeps that order in a table, made here by
walking the models a ``RawMessageStreamEvent`` can contain.
"""

from __future__ import annotations

import typing

import anthropic
from anthropic.types import RawMessageStreamEvent
from pydantic import BaseModel

DOCSTRING = """The anthropic SDK's field order for each streamed block type, from anthropic {version}
(generated: scripts/anthropic_block_fields.py). Each field: (name, default, required, holds blocks); an
absent required field stays absent, an optional one gets its default, as the SDK's ``construct()`` and
``model_dump()`` give them."""


def models_in(annotation: typing.Any, seen: set[type]) -> typing.Iterator[type[BaseModel]]:
    """Every pydantic model an annotation can hold, depth first, each once."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        yield annotation
        for field in annotation.model_fields.values():
            yield from models_in(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        yield from models_in(argument, seen)


def type_literals(model: type[BaseModel]) -> tuple[str, ...]:
    field = model.model_fields.get("type")
    return tuple(arg for arg in typing.get_args(field.annotation) if isinstance(arg, str)) if field else ()


def default_of(field: typing.Any) -> typing.Any:
    if field.is_required():
        return None
    value = field.get_default(call_default_factory=True)
    return value.model_dump() if isinstance(value, BaseModel) else value


def main() -> None:
    table: dict[str, list[tuple[str, typing.Any, bool, bool]]] = {}
    for model in models_in(RawMessageStreamEvent, set()):
        for literal in type_literals(model):
            fields = [
                (name, default_of(field), field.is_required(), any(models_in(field.annotation, set())))
                for name, field in model.model_fields.items()
            ]
            table.setdefault(literal, fields)  # the first model found for a literal: the response block
    print(f'"""{DOCSTRING.format(version=anthropic.__version__)}"""')
    print()
    print("from typing import Any")
    print()
    print("FIELDS: dict[str, tuple[tuple[str, Any, bool, bool], ...]] = {")
    for literal in sorted(table):
        fields = ", ".join(
            f"({name!r}, {default!r}, {required}, {nested})" for name, default, required, nested in table[literal]
        )
        print(f"    {literal!r}: ({fields},),")
    print("}")


if __name__ == "__main__":
    main()
