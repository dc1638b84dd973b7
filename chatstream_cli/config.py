"""The config file: where chatstream keeps its files, what ``config.toml`` may say, and how it is changed.

``config.toml`` lives in platformdirs' user config dir for ``chatstream`` (or ``$CHATSTREAM_HOME``)::

    default_model = "ollama:llama3.2"
    timeout = 30          # defaults for --timeout, --retries, --markdown/--raw and the history
    retries = 2
    markdown = true
    log = true

    [aliases]
    fast = "openai:gpt-4o-mini"

    [providers.work]      # a new OpenAI-compatible endpoint
    kind = "openai"
    base_url = "https://llm.example.com/v1"
    api_key_env = "WORK_LLM_KEY"

    [providers.ollama]    # or an adjustment of a built-in one
    base_url = "http://gpu-box:11434/v1"

    [mcp.files]           # an MCP server the model may use with --mcp files: a command (stdio) ...
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
    [mcp.search]          # ... or a Streamable HTTP URL
    url = "https://mcp.example.com/mcp"

It is read with tomllib and changed with tomlkit, which keeps the comments, order and layout of a
hand-edited file. A broken file is never overwritten: every problem is a ConfigError naming the file,
the line and what is wrong. Values are never echoed in messages, in case a secret was pasted into the
wrong file.

This module knows no provider: what depends on the provider registry (which names exist, whether a
model name resolves) is checked by the registry (``chatstream_cli.providers``), which reads this file's
``Config`` and hands its checks to ``set_value`` as ``known_providers`` and ``review``.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Collection, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, UsageError, did_you_mean

if TYPE_CHECKING:
    from tomlkit import TOMLDocument

CONFIG_NAME = "config.toml"
OPENAI_KIND = "openai"


def home() -> Path:
    """The directory of chatstream's files: ``$CHATSTREAM_HOME`` or the user config dir."""
    explicit = os.environ.get("CHATSTREAM_HOME")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("chatstream"))


def data_dir() -> Path:
    """The directory of chatstream's data (the history, MCP servers' logs): ``$CHATSTREAM_HOME`` or the user
    data dir."""
    explicit = os.environ.get("CHATSTREAM_HOME")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("chatstream"))


def config_path() -> Path:
    return home() / CONFIG_NAME


# -- what the file may contain ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: what it must be (for messages), a check for TOML values, a parser for `config set`."""

    description: str
    check: Callable[[Any], bool]
    parse: Callable[[str], Any]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError(text)


def _parse_words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_tokens(value: Any) -> bool:
    return _is_count(value) and value >= 1


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def _parse_size(text: str) -> int:
    """``1048576``, ``512KiB``, ``4 MiB`` or ``2MB`` as bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(text)
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def is_header_value(value: Any) -> bool:
    return isinstance(value, str) and not any(char in value for char in "\r\n\0")


def _are_headers(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and HEADER_NAME.fullmatch(name) and is_header_value(text) for name, text in value.items()
    )


def parse_header(text: str) -> tuple[str, str] | None:
    """``Name: value`` as a pair (the value stripped); None when it is not a header."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not HEADER_NAME.fullmatch(name) or not is_header_value(value):
        return None
    return name, value


def _parse_headers(text: str) -> dict[str, str]:
    headers = {}
    for line in text.splitlines():
        pair = parse_header(line) if line.strip() else None
        if pair is None:
            raise ValueError(line)
        headers[pair[0]] = pair[1]
    return headers


TEXT = Field("a non-empty string", _is_text, str)
BOOL = Field("true or false", lambda value: isinstance(value, bool), _parse_bool)
SECONDS = Field("a number of seconds >= 0 (0 = no limit)", _is_number, float)
COUNT = Field("a whole number >= 0", _is_count, int)
URL = Field("an http:// or https:// URL", _is_url, str)
WORDS = Field("a list of strings", lambda v: isinstance(v, list) and all(map(_is_text, v)), _parse_words)
KIND = Field(f'"{OPENAI_KIND}" (an OpenAI-compatible endpoint)', lambda value: value == OPENAI_KIND, str)
TOKENS = Field("a whole number of tokens >= 1", _is_tokens, int)
BYTES = Field("a whole number of bytes >= 1 (config set takes 512KiB, 4MiB ...)", _is_tokens, _parse_size)
TRANSPORT = Field('"httpx" (the API directly) or "sdk" (the anthropic SDK)', lambda v: v in ("httpx", "sdk"), str)
HEADERS = Field(
    'a table of header names and string values, e.g. { "X-Title" = "chatstream", "x-portkey-api-key" = "$KEY" }',
    _are_headers,
    _parse_headers,
)
ENV_NAME = Field(
    "the name of an environment variable", lambda v: isinstance(v, str) and bool(re.fullmatch(r"\w+", v)), str
)

TOP_LEVEL: dict[str, Field] = {
    "default_model": TEXT,
    "timeout": SECONDS,
    "retries": COUNT,
    "markdown": BOOL,
    "log": BOOL,
    "max_tokens": TOKENS,
    "max_files_size": BYTES,
}
PROVIDER_KEYS: dict[str, Field] = {
    "kind": KIND,
    "base_url": URL,
    "api_key_env": ENV_NAME,
    "default_model": TEXT,
    "models": WORDS,
    "stream_usage": BOOL,
    "max_tokens": TOKENS,
    "transport": TRANSPORT,
    "region": TEXT,
    "project": TEXT,
    "aws_profile": TEXT,
    "api_version": TEXT,
    "auth": TEXT,
    "headers": HEADERS,
}
#: Settings only some providers take; they reach the model class through its spec's defaults.
MODEL_OPTION_KEYS: dict[str, tuple[str, ...]] = {
    "transport": ("anthropic",),
    "region": ("bedrock", "vertex"),
    "project": ("vertex",),
    "aws_profile": ("bedrock",),
    "api_version": ("azure",),
    "auth": ("azure",),
}
#: An alias may be a table: NAME = { model = "provider:model", max_tokens = N }.
ALIAS_KEYS: dict[str, Field] = {"model": TEXT, "max_tokens": TOKENS}
TABLES = ("aliases", "providers", "mcp")
STRINGS = Field(
    "a table of strings", lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), str
)
ARGS = Field("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), _parse_words)
MCP_KEYS: dict[str, Field] = {
    "command": TEXT,
    "args": WORDS,
    "env": STRINGS,
    "cwd": TEXT,
    "url": URL,
    "headers": STRINGS,
    "timeout": SECONDS,
}
_PROVIDER_NAME = re.compile(r"[A-Za-z0-9_-]+")  # it is written before the ":" of provider:model


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """A ``[providers.NAME]`` table: a new OpenAI-compatible endpoint (``kind``) or changes to a known one."""

    name: str
    kind: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    default_model: str | None = None
    models: tuple[str, ...] = ()
    stream_usage: bool | None = None
    max_tokens: int | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    #: Sent with every request (a gateway's key, OpenRouter's HTTP-Referer); "$NAME" values name a variable.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """An ``[mcp.NAME]`` table: a server started with ``command`` (stdio), or reached at ``url``."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float | None = None

    def as_table(self) -> dict[str, Any]:
        """The table config.toml keeps (what ``mcp add`` and ``mcp import`` write)."""
        table: dict[str, Any] = {}
        for key in MCP_KEYS:
            value = getattr(self, key)
            if value not in (None, (), {}):
                table[key] = list(value) if isinstance(value, tuple) else value
        return table


@dataclass(frozen=True, slots=True)
class Config:
    """The settings from config.toml; None means "not set here" (the next source decides)."""

    path: Path | None = None
    default_model: str | None = None
    timeout: float | None = None
    retries: int | None = None
    markdown: bool | None = None
    log: bool | None = None
    max_tokens: int | None = None
    max_files_size: int | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    #: max_tokens of the aliases written as tables.
    alias_max_tokens: dict[str, int] = field(default_factory=dict)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    mcp: dict[str, McpServerConfig] = field(default_factory=dict)
    #: The file as parsed, for `config show` and `config set`.
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The file's text, to name the line behind a value in messages.
    text: str = field(default="", repr=False)

    def where(self, location: tuple[str, ...]) -> str:
        """Where the setting at ``location`` is written: "PATH, line N" (or just the path)."""
        line = line_of(self.text, location)
        return f"{self.path}, line {line}" if line else str(self.path)

    def error_at(self, location: tuple[str, ...], what: str) -> ConfigError:
        """The ConfigError for a setting of this file that cannot be used."""
        return config_error(self.path or config_path(), line_of(self.text, location), what)


#: What is wrong with config data: (the key path of the setting, what is wrong), or None.
Problem = tuple[tuple[str, ...], str] | None
#: The registry's checks of a changed config (the key path that was set is the second argument).
Review = Callable[[Config, tuple[str, ...]], Problem]


# -- reading ------------------------------------------------------------------------------


def load_config(path: Path | None = None) -> Config:
    """The config from ``path`` (default: config.toml in the home); an absent file is an empty config."""
    path = path or config_path()
    text = read_file(path, "config file")
    return Config(path=path) if text is None else parse_config(text, path)


def read_file(path: Path, what: str) -> str | None:
    """The text of one of chatstream's files (a UTF-8 BOM dropped); None when it does not exist."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} {path}: {_reason(exc)}", "fix or remove the file") from None


def parse_config(text: str, path: Path) -> Config:
    data = read_toml(text, path)
    problem = find_problem(data)
    if problem is not None:
        location, what = problem
        raise config_error(path, line_of(text, location), what)
    return _to_config(data, path, text)


def read_toml(text: str, path: Path) -> dict[str, Any]:
    """Parse TOML text, turning a syntax error into a ConfigError with the file and line."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        what, line = _split_toml_error(str(exc))
        raise config_error(path, line, what) from None


def config_error(path: Path, line: int | None, what: str) -> ConfigError:
    where = f"{path}, line {line}" if line else str(path)
    return ConfigError(f"broken config file {where}: {what}", "fix that line; nothing was changed")


def find_problem(data: Mapping[str, Any]) -> Problem:
    """The first thing wrong with parsed config data, as (key path, what is wrong), or None."""
    for key, value in data.items():
        if key in TOP_LEVEL:
            if not TOP_LEVEL[key].check(value):
                return (key,), f"{key} must be {TOP_LEVEL[key].description}"
        elif key == "aliases":
            problem = _aliases_problem(value)
            if problem:
                return problem
        elif key == "providers":
            problem = _providers_problem(value)
            if problem:
                return problem
        elif key == "mcp":
            problem = _mcp_problem(value)
            if problem:
                return problem
        else:
            return (key,), f"unknown setting {key!r} ({did_you_mean(key, [*TOP_LEVEL, *TABLES])})"
    return None


def _aliases_problem(aliases: Any) -> Problem:
    if not isinstance(aliases, dict):
        return ("aliases",), 'aliases must be a table: [aliases] then NAME = "provider:model" lines'
    for name, target in aliases.items():
        if isinstance(target, dict):
            problem = _alias_table_problem(name, target)
            if problem:
                return ("aliases", name), problem
        elif not _is_text(target):
            return ("aliases", name), f'alias {name!r} must name a model, e.g. "openai:gpt-4o-mini"'
    return None


def _alias_table_problem(name: str, table: dict[str, Any]) -> str | None:
    for key, value in table.items():
        if key not in ALIAS_KEYS:
            return f"unknown setting {key!r} in alias {name!r} ({did_you_mean(key, ALIAS_KEYS)})"
        if not ALIAS_KEYS[key].check(value):
            return f"aliases.{name}.{key} must be {ALIAS_KEYS[key].description}"
    return None if "model" in table else f'alias {name!r} needs a model, e.g. {{ model = "openai:gpt-4o-mini" }}'


def _providers_problem(providers: Any) -> Problem:
    if not isinstance(providers, dict):
        return ("providers",), "providers must be tables: [providers.NAME]"
    for name, table in providers.items():
        if not _PROVIDER_NAME.fullmatch(name):
            return ("providers", name), f"provider name {name!r} may hold only letters, digits, - and _"
        if not isinstance(table, dict):
            return ("providers", name), f"providers.{name} must be a table: [providers.{name}]"
        if name == "builtin":
            return ("providers", name), "the builtin provider cannot be configured"
        for key, value in table.items():
            known = PROVIDER_KEYS.get(key)
            if known is None:
                hint = did_you_mean(key, PROVIDER_KEYS)
                return ("providers", name, key), f"unknown setting {key!r} in [providers.{name}] ({hint})"
            if not known.check(value):
                return ("providers", name, key), f"providers.{name}.{key} must be {known.description}"
            takers = MODEL_OPTION_KEYS.get(key)
            if takers and name not in takers:
                return ("providers", name, key), f"{key} is a setting of [providers.{'] or ['.join(takers)}] only"
        if table.get("kind") == OPENAI_KIND and "base_url" not in table:
            return ("providers", name), f'[providers.{name}] has kind = "openai" but no base_url'
    return None


def _mcp_problem(servers: Any) -> Problem:
    if not isinstance(servers, dict):
        return ("mcp",), "mcp must be tables: [mcp.NAME]"
    for name, table in servers.items():
        if not _PROVIDER_NAME.fullmatch(name):
            return ("mcp", name), f"MCP server name {name!r} may hold only letters, digits, - and _"
        if not isinstance(table, dict):
            return ("mcp", name), f"mcp.{name} must be a table: [mcp.{name}]"
        for key, value in table.items():
            known = MCP_KEYS.get(key)
            if known is None:
                return ("mcp", name, key), f"unknown setting {key!r} in [mcp.{name}] ({did_you_mean(key, MCP_KEYS)})"
            if not known.check(value):
                return ("mcp", name, key), f"mcp.{name}.{key} must be {known.description}"
        if ("command" in table) == ("url" in table):
            return ("mcp", name), f"[mcp.{name}] needs a command (a stdio server) or a url (Streamable HTTP), not both"
    return None


def mcp_server(name: str, table: Mapping[str, Any]) -> McpServerConfig:
    """An ``[mcp.NAME]`` table (already checked) as its dataclass."""
    timeout = table.get("timeout")
    return McpServerConfig(
        name=name,
        command=table.get("command"),
        args=tuple(table.get("args", ())),
        env=dict(table.get("env", {})),
        cwd=table.get("cwd"),
        url=table.get("url"),
        headers=dict(table.get("headers", {})),
        timeout=float(timeout) if timeout is not None else None,
    )


def set_mcp_server(server: McpServerConfig, path: Path | None = None) -> Config:
    """Write ``[mcp.NAME]`` (replacing a table of that name), keeping the rest of the file as it is."""
    import tomlkit

    path = path or config_path()
    document = _document(path)
    if "mcp" not in document:
        document["mcp"] = tomlkit.table(is_super_table=True)
    table = tomlkit.table()
    for key, value in server.as_table().items():
        table[key] = value
    document["mcp"][server.name] = table
    return _write_checked(document, path, f"add the MCP server {server.name}", ("mcp", server.name), None)


def _to_config(data: dict[str, Any], path: Path, text: str) -> Config:
    providers = {
        name: ProviderConfig(
            name=name,
            kind=table.get("kind"),
            base_url=table.get("base_url"),
            api_key_env=table.get("api_key_env"),
            default_model=table.get("default_model"),
            models=tuple(table.get("models", ())),
            stream_usage=table.get("stream_usage"),
            max_tokens=table.get("max_tokens"),
            model_options={key: table[key] for key in MODEL_OPTION_KEYS if key in table},
            headers=dict(table.get("headers", {})),
        )
        for name, table in data.get("providers", {}).items()
    }
    timeout = data.get("timeout")
    return Config(
        path=path,
        default_model=data.get("default_model"),
        timeout=float(timeout) if timeout is not None else None,
        retries=data.get("retries"),
        markdown=data.get("markdown"),
        log=data.get("log"),
        max_tokens=data.get("max_tokens"),
        max_files_size=data.get("max_files_size"),
        aliases={name: _alias_target(value) for name, value in data.get("aliases", {}).items()},
        alias_max_tokens={
            name: value["max_tokens"]
            for name, value in data.get("aliases", {}).items()
            if isinstance(value, dict) and "max_tokens" in value
        },
        providers=providers,
        mcp={name: mcp_server(name, table) for name, table in data.get("mcp", {}).items()},
        data=data,
        text=text,
    )


def _alias_target(value: str | dict[str, Any]) -> str:
    return value["model"] if isinstance(value, dict) else value


_TOML_POSITION = re.compile(r"^(?P<what>.*?)\s*\((?:at line (?P<line>\d+), column \d+|at end of document)\)$")


def _split_toml_error(message: str) -> tuple[str, int | None]:
    """tomllib's "Invalid value (at line 2, column 5)" as ("invalid value", 2)."""
    match = _TOML_POSITION.match(message)
    what, line = (match["what"], match["line"]) if match else (message, None)
    if what[:1].isupper() and not what[:2].isupper():
        what = what[0].lower() + what[1:]
    return (what or "invalid TOML"), (int(line) if line else None)


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")


def line_of(text: str, location: tuple[str, ...]) -> int | None:
    """The line where ``location`` (a key path) is set, or its table header; None when not found."""
    *table, key = location
    current: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            current = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            if current == list(location):
                return number
        elif current == table and re.match(rf"""^\s*["']?{re.escape(key)}["']?\s*=""", line):
            return number
    return None


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return exc.strerror or type(exc).__name__


# -- changing -----------------------------------------------------------------------------


def set_value(
    key: str,
    value: str,
    path: Path | None = None,
    *,
    known_providers: Collection[str],
    review: Review | None,
) -> Config:
    """``config set KEY VALUE``: read VALUE for KEY, check the result, write the file (its comments stay).

    ``known_providers`` are the names a ``[providers.NAME]`` table may change; another name declares a new
    OpenAI-compatible endpoint. ``review`` is the registry's check of what depends on the providers.
    """
    path = path or config_path()
    document = _document(path)
    location, setting = _setting_for(key)
    put_value(document, location, _read_value(key, value, setting))
    table = location[:2]
    if table[0] == "providers" and table[1] not in known_providers and "kind" not in _at(document, table):
        # A new name can only be an OpenAI-compatible endpoint: say so, so that its base_url alone suffices.
        put_value(document, (*table, "kind"), OPENAI_KIND)
    return _write_checked(document, path, f"set {key}", location, review)


def unset_value(key: str, path: Path | None = None) -> bool:
    """``config unset KEY``: remove KEY from the file; whether it was there."""
    path = path or config_path()
    document = _document(path)
    if not _remove(document, tuple(key.split("."))):
        return False
    _write_checked(document, path, f"unset {key}", (), None)
    return True


def _document(path: Path) -> TOMLDocument:
    """The file as a tomlkit document, after the same checks as ``load_config`` (a broken file stays as it is)."""
    import tomlkit

    text = read_file(path, "config file") or ""
    parse_config(text, path)
    return tomlkit.parse(text)


def _write_checked(
    document: TOMLDocument, path: Path, change: str, location: tuple[str, ...], review: Review | None
) -> Config:
    """Write the changed file when it passes every check; a UsageError saying why it cannot ``change``."""
    import tomlkit

    text = tomlkit.dumps(document)
    data = document.unwrap()
    problem = find_problem(data)
    config = _to_config(data, path, text)
    if problem is None and review is not None:
        problem = review(config, location)
    if problem is not None:
        raise UsageError(f"cannot {change}: {problem[1]}")
    atomic_write(path, text.encode(), mode=0o644)
    return config


def write_toml(data: Mapping[str, Any]) -> str:
    """TOML text for plain data (the keys file, `config show`)."""
    import tomlkit

    return tomlkit.dumps(data)


def atomic_write(path: Path, content: bytes, mode: int, *, at_most: bool = False) -> None:
    """Replace the file ``path`` names with ``content``: through a symlink to its target (a config kept in
    a dotfiles repository stays linked), by a new file beside the target moved over it, so that a reader
    never sees half a file.

    A new file gets ``mode``; an existing one keeps its own (``at_most``: never looser than ``mode``, for
    the keys), and the new file never exists with looser permissions than the one it replaces.
    """
    target = Path(os.path.realpath(path))
    try:
        _replace(target, content, mode, at_most)
    except OSError as exc:
        shown = str(path) if target == path else f"{path} (a link to {target})"
        raise ConfigError(
            f"cannot write {shown}: {exc.strerror or exc}", "check the file, its directory and their permissions"
        ) from None


def _replace(target: Path, content: bytes, mode: int, at_most: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        kept = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        pass
    else:
        mode = kept & mode if at_most else kept
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # a leftover of a crash; O_EXCL then refuses anything planted there
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not land before the bytes do
            os.fchmod(handle.fileno(), mode)  # exactly `mode`: the umask may have narrowed it
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _setting_for(key: str) -> tuple[tuple[str, ...], Field]:
    parts = tuple(key.split("."))
    if len(parts) == 1 and key in TOP_LEVEL:
        return parts, TOP_LEVEL[key]
    if len(parts) == 2 and parts[0] == "aliases" and parts[1]:
        return parts, TEXT
    if len(parts) == 3 and parts[0] == "providers" and parts[2] in PROVIDER_KEYS:
        return parts, PROVIDER_KEYS[parts[2]]
    known = [*TOP_LEVEL, "aliases.NAME", *(f"providers.NAME.{k}" for k in PROVIDER_KEYS)]
    raise UsageError(f"unknown config key {key!r}", did_you_mean(key, known).replace("choose one of", "keys are"))


def _read_value(key: str, text: str, setting: Field) -> Any:
    """VALUE as the first of its readings that the setting accepts."""
    for value in _readings(text, setting):
        if setting.check(value):
            return value
    raise UsageError(f"cannot set {key}: {key} must be {setting.description}", f"e.g. {_example(key, setting)}")


def _readings(text: str, setting: Field) -> Iterator[Any]:
    """VALUE read as TOML (``["a", "b"]``, ``30``, ``true``), then as JSON, then as the setting's shorthand."""
    import tomllib

    readers: tuple[Callable[[], Any], ...] = (
        lambda: tomllib.loads(f"value = {text}")["value"],
        lambda: json.loads(text),
        lambda: setting.parse(text),
    )
    for read in readers:
        try:
            value = read()
        except ValueError:  # TOMLDecodeError and JSONDecodeError are ValueErrors too
            continue
        yield value


def _example(key: str, setting: Field) -> str:
    samples = {SECONDS: "30", COUNT: "3", BOOL: "false", URL: "http://localhost:8000/v1", WORDS: '\'["a", "b"]\''}
    samples |= {BYTES: "4MiB"}
    return f"chatstream config set {key} {samples.get(setting, 'VALUE')}"


def put_value(document: MutableMapping[str, Any], location: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``location``, making the tables on the way; a replaced value keeps its comment."""
    import tomlkit

    *tables, key = location
    container = document
    for depth, name in enumerate(tables):
        if name not in container:
            # [providers] itself stays unwritten: its tables appear as [providers.NAME].
            container[name] = tomlkit.table(is_super_table=depth == 0 and name == "providers")
        container = container[name]
    item = tomlkit.item(value)
    old = container.get(key)
    if old is not None and hasattr(old, "trivia"):
        item.trivia.comment_ws, item.trivia.comment = old.trivia.comment_ws, old.trivia.comment
    container[key] = item


def _at(data: Mapping[str, Any], location: tuple[str, ...]) -> Any:
    for key in location:
        data = data[key]
    return data


def _remove(container: MutableMapping[str, Any], location: tuple[str, ...]) -> bool:
    """Remove the setting at ``location``; a table it leaves empty goes too. Whether it was there."""
    head, *rest = location
    if head not in container:
        return False
    if not rest:
        del container[head]
        return True
    inner = container[head]
    if not isinstance(inner, MutableMapping) or not _remove(inner, tuple(rest)):
        return False
    if not inner:
        del container[head]
    return True
