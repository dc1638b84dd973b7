"""Stored API keys (``keys.toml`` beside config.toml, mode 0600) and the one key lookup every provider uses.

An environment variable always wins over a stored key. A key's value never appears in any message:
errors about keys.toml name the file and the line, never what is on it. Like config.py this module
knows no provider: a lookup takes anything with a ``name`` and a ``key_env`` (a ``ProviderSpec``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .errors import ConfigError

if TYPE_CHECKING:
    from tomlkit import TOMLDocument


class KeyOwner(Protocol):
    """What a key lookup needs of a provider: its name (in keys.toml) and its key variable."""

    @property
    def name(self) -> str: ...

    @property
    def key_env(self) -> str | None: ...


KEYS_NAME = "keys.toml"
KEYS_MODE = 0o600


def keys_path() -> Path:
    from .config import home  # config (tomllib, platformdirs) loads only when a key is looked up

    return home() / KEYS_NAME


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where a provider's key comes from: ``env`` (``detail`` is the variable) or ``file`` (the path)."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"env {self.detail}" if self.kind == "env" else f"file {self.detail}"


def stored_keys(path: Path | None = None) -> dict[str, str]:
    """The keys in keys.toml by provider name; none when the file does not exist."""
    from .config import config_error, line_of, read_file, read_toml

    path = path or keys_path()
    text = read_file(path, "keys file")
    if text is None:
        return {}
    data = read_toml(text, path)
    for name, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise config_error(path, line_of(text, (name,)), f"the key for {name} must be a string")
    return data


def store_key(name: str, value: str, path: Path | None = None) -> Path:
    """Save ``value`` as the key for ``name`` (the file is created with mode 0600; its comments stay)."""
    path = path or keys_path()
    from .config import put_value

    document = _document(path)
    put_value(document, (name,), value)
    _write(document, path)
    return path


def remove_key(name: str, path: Path | None = None) -> bool:
    """Forget the stored key for ``name``; whether there was one."""
    path = path or keys_path()
    document = _document(path)
    if name not in document:
        return False
    del document[name]
    _write(document, path)
    return True


def _document(path: Path) -> TOMLDocument:
    """keys.toml as a tomlkit document, after the checks of ``stored_keys``."""
    import tomlkit

    from .config import read_file

    stored_keys(path)
    return tomlkit.parse(read_file(path, "keys file") or "")


def _write(document: TOMLDocument, path: Path) -> None:
    import tomlkit

    from .config import atomic_write

    atomic_write(path, tomlkit.dumps(document).encode(), mode=KEYS_MODE, at_most=True)


def key_source(spec: KeyOwner, env: Mapping[str, str] | None = None) -> KeySource | None:
    """Where the key for ``spec`` would come from, or None when there is none."""
    variable = _key_variable(spec, env)
    if variable is not None:
        return KeySource("env", variable)
    if spec.name in stored_keys():
        return KeySource("file", str(keys_path()))
    return None


def key_for(spec: KeyOwner, env: Mapping[str, str] | None = None) -> str | None:
    """The API key for a provider: its environment variable, else the stored key, else None.

    A key that cannot be sent (it goes into an HTTP header) is a ConfigError naming where it came from.
    """
    variable = _key_variable(spec, env)
    if variable is not None:  # without the surrounding whitespace a .env file may leave
        key: str | None = (os.environ if env is None else env)[variable].strip()
        where = variable
    else:
        key = stored_keys().get(spec.name)
        where = f"{keys_path()} (for {spec.name})"
    problem = key_problem(key) if key is not None else None
    if problem:
        raise ConfigError(
            f"the API key in {where} {problem}",
            f"set it again to the key alone: {how_to_set_key(spec.name, spec.key_env)}",
        )
    return key


def _key_variable(spec: KeyOwner, env: Mapping[str, str] | None) -> str | None:
    """The first of the provider's key variables that is set (``key_env``, then any ``also_key_envs``)."""
    env = os.environ if env is None else env
    for name in (spec.key_env, *getattr(spec, "also_key_envs", ())):
        if name and env.get(name, "").strip():
            return name
    return None


def key_problem(key: str) -> str | None:
    """What makes ``key`` unusable as an API key, or None when it is fine."""
    if not key:
        return "is empty"
    if any(char.isspace() for char in key):
        return "contains spaces or line breaks"
    if not (key.isascii() and key.isprintable()):
        return "contains characters that are not printable ASCII"
    return None


def require_key(spec: KeyOwner, env: Mapping[str, str] | None = None) -> str:
    """The key for a provider that needs one; a ConfigError (exit 3) saying how to give one otherwise."""
    key = key_for(spec, env)
    if key is None:
        raise missing_key_error(spec)
    return key


def missing_key_error(spec: KeyOwner) -> ConfigError:
    return ConfigError(f"no API key for {spec.name}", how_to_set_key(spec.name, spec.key_env))


def how_to_set_key(name: str, key_env: str | None) -> str:
    """The hint on giving provider ``name`` a key: its variable, or ``chatstream keys set``."""
    store = f"run `chatstream keys set {name}`"
    return f"set {key_env} or {store}" if key_env else store
