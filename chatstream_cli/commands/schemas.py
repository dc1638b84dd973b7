"""``chatstream schemas list | show ID | save NAME SCHEMA | remove NAME | path``: saved and recorded schemas."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .groups import subcommand_app
from .options import PlainHelpCommand

app = subcommand_app(
    "schemas", help="JSON Schemas for --schema: saved ones by name, and those the history recorded by hash."
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The schema's name.")]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="A saved schema's name, or the start of a hash.")]
SchemaArgument = Annotated[
    str,
    typer.Argument(metavar="SCHEMA", help="A JSON Schema, its file, 'name, age int' fields, or a recorded hash."),
]


@app.command("list")
def list_command() -> None:
    """One line a schema: its hash, its name if saved, how often the history used it, its fields."""
    from .. import history
    from ..prompting.schemas import saved_names, saved_schema
    from ..schema import concise_form, schema_hash

    names: dict[str, list[str]] = {}
    schemas = {}
    for name in saved_names():
        schema = saved_schema(name) or {}
        names.setdefault(schema_hash(schema), []).append(name)
        schemas[schema_hash(schema)] = schema
    uses = {}
    for used in history.used_schemas():
        schemas.setdefault(used.id, used.schema)
        uses[used.id] = used.uses
    for schema_id, schema in schemas.items():
        name = ",".join(names.get(schema_id, [])) or "-"
        count = uses.get(schema_id, 0)
        print(f"{schema_id[:12]}  {name:<12}  {count:>4} use{'' if count == 1 else 's'}  {concise_form(schema)}")


@app.command("show", cls=PlainHelpCommand)
def show_command(schema_id: IdArgument) -> None:
    """Print a schema (saved under NAME, or recorded under a hash that ID starts) as indented JSON."""
    from ..errors import UsageError
    from ..prompting.schemas import recorded_schema, saved_schema

    schema = saved_schema(schema_id) or recorded_schema(schema_id.strip().lower())
    if schema is None:
        raise UsageError(
            f"no schema is named {schema_id!r} or has an id that starts so", "`chatstream schemas list` shows them"
        )
    print(json.dumps(schema, indent=2, ensure_ascii=False))


@app.command("save", cls=PlainHelpCommand)
def save_command(name: NameArgument, schema: SchemaArgument) -> None:
    """Save (or replace) SCHEMA as NAME, for --schema NAME."""
    from ..prompting.schemas import save_schema

    print(f"saved schema {name} in {save_schema(name, schema)}")


@app.command("remove", cls=PlainHelpCommand)
def remove_command(name: NameArgument) -> None:
    """Remove the saved schema NAME (the history keeps what it recorded)."""
    from ..prompting.schemas import remove_schema

    print(f"removed schema {name} ({remove_schema(name)})")


@app.command("path")
def path_command() -> None:
    """Print the folder that holds the saved schemas (one NAME.json each; it may not exist yet)."""
    from ..prompting.schemas import schemas_folder

    print(schemas_folder())
