"""``chatstream config show|path|set KEY VALUE|unset KEY``: the config file."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from .groups import subcommand_app
from .options import PlainHelpCommand

app = subcommand_app("config", help="Show or change the config file (config.toml).")


@app.command("path")
def path_command() -> None:
    """Print where the config file is (it may not exist yet)."""
    from ..config import config_path

    print(config_path())


@app.command("show")
def show_command() -> None:
    """Print the config file's settings, then the defaults it does not override (as comments)."""
    from ..config import load_config

    config = load_config()
    data = {**config.data, "mcp": hidden_mcp_secrets(config.data["mcp"])} if "mcp" in config.data else config.data
    print(render_config(data, str(config.path), exists=config.path is not None and config.path.exists()))


def hidden_mcp_secrets(servers: dict[str, Any]) -> dict[str, Any]:
    """The MCP servers' tables with their ``env`` and ``headers`` values hidden: they carry tokens."""
    return {
        name: {
            key: {item: "<hidden>" for item in value} if key in ("env", "headers") else value
            for key, value in table.items()
        }
        for name, table in servers.items()
    }


# A VALUE such as -1 is a value to check, not an unknown option.
@app.command("set", cls=PlainHelpCommand, context_settings={"ignore_unknown_options": True})
def set_command(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="e.g. timeout, default_model, aliases.NAME, providers.NAME.base_url")
    ],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help='The new value, read as TOML when it is TOML: 30, true, ["a", "b"].')
    ],
) -> None:
    """Set KEY to VALUE in the config file (checked before it is written)."""
    set_setting(key, value)


def set_setting(key: str, value: str) -> None:
    """Write one setting to config.toml, checked against the providers chatstream knows."""
    from ..config import set_value
    from ..providers import known_provider_names, review_config

    set_value(key, value, known_providers=known_provider_names(), review=review_config)


@app.command("unset", cls=PlainHelpCommand)
def unset_command(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The setting to remove, e.g. aliases.NAME.")],
) -> None:
    """Remove KEY from the config file."""
    from ..config import unset_value
    from ..errors import UsageError

    if not unset_value(key):
        raise UsageError(f"{key} is not set in the config file", "see `chatstream config show`")


def render_config(data: dict[str, Any], path: str, *, exists: bool) -> str:
    """The TOML of ``data`` under a header naming the file, with the defaults it leaves alone as comments."""
    from ..config import write_toml
    from ..defaults import DEFAULT_MAX_FILES_SIZE, DEFAULT_RETRIES, DEFAULT_TIMEOUT

    defaults = {"timeout": DEFAULT_TIMEOUT, "retries": DEFAULT_RETRIES, "markdown": True, "log": True}
    defaults["max_files_size"] = DEFAULT_MAX_FILES_SIZE
    lines = [f"# {path}" if exists else f"# {path} (not created yet: defaults apply)"]
    if data:
        lines.append(write_toml(data).rstrip())
    # json.dumps writes these scalars exactly as TOML does (true, 60.0, 2).
    lines += [f"# {key} = {json.dumps(value)}  (default)" for key, value in defaults.items() if key not in data]
    return "\n".join(lines)
