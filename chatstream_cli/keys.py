"""Stored API keys (``keys.toml`` beside config.toml, mode 0600) and the one key lookup every provider uses.

An environment variable always wins over a stored key. A key's value never appears in any message:
errors about keys.toml name the file and the line, never what is on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .providers import ProviderSpec

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
    path = path or keys_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the keys file {path}: {type(exc).__name__}", "fix or remove it") from None
    from .config import config_error, line_of, read_toml

    data = read_toml(text, path)
    for name, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise config_error(path, line_of(text, (name,)), f"the key for {name} must be a string")
    return data


def store_key(name: str, value: str, path: Path | None = None) -> Path:
    """Save ``value`` as the key for ``name`` (the file is created with mode 0600)."""
    path = path or keys_path()
    keys = {**stored_keys(path), name: value}
    _write(keys, path)
    return path


def remove_key(name: str, path: Path | None = None) -> bool:
    """Forget the stored key for ``name``; whether there was one."""
    path = path or keys_path()
    keys = stored_keys(path)
    if keys.pop(name, None) is None:
        return False
    _write(keys, path)
    return True


def _write(keys: dict[str, str], path: Path) -> None:
    import tomli_w

    from .config import atomic_write

    atomic_write(path, tomli_w.dumps(keys).encode(), mode=KEYS_MODE)


def key_source(spec: ProviderSpec, env: Mapping[str, str] | None = None) -> KeySource | None:
    """Where the key for ``spec`` would come from, or None when there is none."""
    env = os.environ if env is None else env
    if spec.key_env and env.get(spec.key_env):
        return KeySource("env", spec.key_env)
    if spec.name in stored_keys():
        return KeySource("file", str(keys_path()))
    return None


def key_for(spec: ProviderSpec, env: Mapping[str, str] | None = None) -> str | None:
    """The API key for a provider: its environment variable, else the stored key, else None."""
    env = os.environ if env is None else env
    if spec.key_env and env.get(spec.key_env):
        return env[spec.key_env]
    return stored_keys().get(spec.name)


def require_key(spec: ProviderSpec, env: Mapping[str, str] | None = None) -> str:
    """The key for a provider that needs one; a ConfigError (exit 3) saying how to give one otherwise."""
    key = key_for(spec, env)
    if key is None:
        raise missing_key_error(spec)
    return key


def missing_key_error(spec: ProviderSpec) -> ConfigError:
    how = f"set {spec.key_env} or run `chatstream keys set {spec.name}`" if spec.key_env else ""
    return ConfigError(f"no API key for {spec.name}", how or f"run `chatstream keys set {spec.name}`")
