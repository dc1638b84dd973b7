"""``chatstream keys set NAME | list | remove NAME | path``: stored API keys. No key value is ever printed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from .groups import subcommand_app
from .options import PlainHelpCommand
from .reporting import FLAGS

if TYPE_CHECKING:
    from ..providers import ProviderSpec

app = subcommand_app("keys", help="Stored API keys (keys.toml, mode 0600); environment variables win.")

ProviderName = Annotated[str, typer.Argument(metavar="NAME", help="The provider, e.g. openai, anthropic, openrouter.")]


@app.command("path")
def path_command() -> None:
    """Print where the keys are stored (the file may not exist yet)."""
    from ..keys import keys_path

    print(keys_path())


@app.command("set", cls=PlainHelpCommand)
def set_command(name: ProviderName) -> None:
    """Store the key for NAME: typed without echo on a terminal, or read from stdin when piped."""
    from ..keys import key_source, store_key

    spec = _provider(name)
    key = read_secret(f"API key for {name}: ")
    path = store_key(name, key)
    print(f"stored the key for {name} in {path}")
    source = key_source(spec)
    if source is not None and source.kind == "env" and not FLAGS.quiet:
        print(f"note: {spec.key_env} is set and wins over the stored key", file=sys.stderr)


@app.command("remove", cls=PlainHelpCommand)
def remove_command(name: ProviderName) -> None:
    """Forget the stored key for NAME."""
    from ..errors import UsageError
    from ..keys import remove_key

    if not remove_key(name):
        raise UsageError(f"no stored key for {name}", "`chatstream keys list` shows the stored keys")
    print(f"removed the key for {name}")


@app.command("list")
def list_command() -> None:
    """List the providers that take a key and where each key comes from (env or file), never the key."""
    from ..keys import key_source, stored_keys
    from ..providers import PROVIDERS, active_config

    active_config()
    stored = stored_keys()
    rows = []
    for spec in PROVIDERS.values():
        if spec.key_env or spec.needs_key or spec.name in stored:
            source = key_source(spec)
            rows.append((spec.name, str(source) if source else _no_key(spec)))
    rows += [(name, "file (no such provider)") for name in stored if name not in PROVIDERS]
    width = max(len(name) for name, _ in rows)
    for name, where in rows:
        print(f"{name.ljust(width)}  {where}")


def read_secret(prompt: str) -> str:
    """A secret from the terminal without echo, or all of stdin when it is not a terminal."""
    from ..errors import UsageError
    from ..keys import key_problem

    if sys.stdin.isatty():
        value = typed_secret(prompt)
    else:
        from .inputs import read_stdin

        value = read_stdin()
    value = value.strip()
    if not value:
        raise UsageError(
            "no key given", "type it at the prompt, or pipe it in: printenv KEY | chatstream keys set NAME"
        )
    problem = key_problem(value)
    if problem:
        raise UsageError(f"the key {problem}", "give only the key")
    return value


def typed_secret(prompt: str) -> str:
    """The line typed without echo ('' for Ctrl-D); after Ctrl-D or Ctrl-C the prompt's line is ended."""
    import getpass

    try:
        return getpass.getpass(prompt)
    except EOFError:
        print(file=sys.stderr)
        return ""
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise


def _provider(name: str) -> ProviderSpec:
    from ..errors import UnknownModelError
    from ..providers import active_config, provider_named

    active_config()
    spec = provider_named(name)
    if spec.name == "builtin":
        raise UnknownModelError("the builtin provider needs no key", "name a network provider, e.g. openai")
    return spec


def _no_key(spec: ProviderSpec) -> str:
    where = f"set {spec.key_env} or " if spec.key_env else ""
    return f"none ({where}chatstream keys set {spec.name})" if spec.needs_key else "none (not needed)"
