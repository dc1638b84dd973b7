"""``chatstream roles list | show NAME | save NAME [options] | remove NAME | path``: saved roles."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .groups import subcommand_app
from .options import (
    Functions,
    MaxTokens,
    McpServers,
    Model,
    Option,
    Param,
    PlainHelpCommand,
    PromptCommand,
    SchemaMulti,
    SchemaOption,
    System,
    Temperature,
    Tools,
    parse_options,
    parse_params,
)

app = subcommand_app(
    "roles", help="Saved roles: a model, system prompt, settings and prompt template, applied with --role NAME."
)

RoleArgument = Annotated[str, typer.Argument(metavar="NAME", help="The role's name.")]
Template = Annotated[
    str | None,
    typer.Option("--template", metavar="TEXT", help="The prompt template: {input} is the words or stdin, {NAME} a -p."),
]
Description = Annotated[
    str | None, typer.Option("--description", metavar="TEXT", help="One line that says what the role is for.")
]


@app.command("path")
def path_command() -> None:
    """Print the folder that holds the saved roles (one NAME.toml each; it may not exist yet)."""
    from ..prompting.roles import roles_folder

    print(roles_folder())


@app.command("list")
def list_command() -> None:
    """List the roles: name, where it comes from, what it is for."""
    from ..prompting.roles import all_roles

    roles = all_roles()
    width = max(len(role.name) for role in roles)
    for role in roles:
        origin = "built-in" if role.builtin else "saved"
        print(f"{role.name:<{width}}  {origin:<8}  {role.description or role.model or ''}".rstrip())


@app.command("show", cls=PlainHelpCommand)
def show_command(name: RoleArgument) -> None:
    """Print a role as its TOML file holds it."""
    from ..prompting.roles import find_role

    print(find_role(name).to_toml(), end="")


@app.command("save", cls=PromptCommand)
def save_command(
    name: RoleArgument,
    model: Model = None,
    system: System = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    option: Option = None,
    template: Template = None,
    param: Param = None,
    description: Description = None,
    schema: SchemaOption = None,
    schema_multi: SchemaMulti = None,
    functions: Functions = None,
    tool: Tools = None,
    mcp: McpServers = None,
) -> None:
    """Save (or replace) role NAME; -p NAME VALUE gives a template variable its default; --functions, -T and
    --mcp give it tools (a --functions file is kept by its absolute path)."""
    from ..errors import UsageError
    from ..prompting.roles import Role, save_role

    role = Role(
        name=name,
        description=description,
        model=model,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        options=parse_options(option or []),
        template=template,
        params=parse_params(param or []),
        schema=schema,
        schema_multi=schema_multi,
        functions=tuple(_kept(source) for source in functions or ()),
        tools=tuple(tool or ()),
        mcp=tuple(mcp or ()),
    )
    check_role_schema(role)
    if not role.table():
        raise UsageError(f"role {name} would hold nothing", "give it settings, e.g. -m MODEL -s TEXT --template TEXT")
    print(f"saved role {name} in {save_role(role)}")


@app.command("remove", cls=PlainHelpCommand)
def remove_command(name: RoleArgument) -> None:
    """Remove the saved role NAME."""
    from ..prompting.roles import remove_role

    print(f"removed role {name} ({remove_role(name)})")


def check_role_schema(role: Any) -> None:
    """A role's schema must be one the prompt command could use: checked when it is saved, not at its first use."""
    from ..errors import UsageError

    if role.schema is not None and role.schema_multi is not None:
        raise UsageError("--schema and --schema-multi cannot be used together", "choose one of them")
    given = role.schema if role.schema is not None else role.schema_multi
    if given is not None:
        from ..prompting.schemas import resolve_schema

        resolve_schema(given, flag="--schema" if role.schema is not None else "--schema-multi")


def _kept(source: str) -> str:
    """A --functions file by its absolute path (a role is used from anywhere); code as it is."""
    from pathlib import Path

    path = Path(source)
    return str(path.resolve()) if "\n" not in source and path.is_file() else source
