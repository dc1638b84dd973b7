"""Roles: a saved bundle of model, system prompt, temperature, max tokens, ``-o`` options and a prompt
template, applied with ``--role NAME`` (flags on the command line still win).

A role lives in its own TOML file, ``<chatstream home>/roles/NAME.toml`` (``chatstream roles path``
prints the folder), with the keys of :class:`Role`. The built-in roles (``BUILTIN_ROLES``) can be
shadowed by a saved role of the same name.

A template holds ``{input}`` (the prompt's words or stdin) and named ``{vars}``, filled by
``-p NAME VALUE`` or by the role's ``[params]`` defaults; ``{{`` and ``}}`` are literal braces, and
any other brace is left as it is, so code in a template needs no escaping.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError, did_you_mean

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TYPES: dict[str, tuple[type, ...]] = {
    "description": (str,),
    "model": (str,),
    "system": (str,),
    "temperature": (int, float),
    "max_tokens": (int,),
    "options": (dict,),
    "template": (str,),
    "params": (dict,),
    "schema": (str,),
    "schema_multi": (str,),
    "functions": (list,),
    "tools": (list,),
    "mcp": (list,),
}
#: The role's tools: ``--functions`` values, ``-T`` names, ``--mcp`` servers, added to the command line's.
TOOL_KEYS = ("functions", "tools", "mcp")


@dataclass(frozen=True, slots=True)
class Role:
    """A role's settings; None (or empty) where the role leaves the setting alone."""

    name: str
    description: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    template: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    #: What ``--schema`` (or ``--schema-multi``) takes: a saved schema's name, a file, JSON or fields.
    schema: str | None = None
    schema_multi: str | None = None
    functions: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    mcp: tuple[str, ...] = ()
    builtin: bool = False

    def table(self) -> dict[str, Any]:
        """The role as its TOML file holds it: the settings it sets, nothing else."""
        table = {name: getattr(self, name) for name in _TYPES if getattr(self, name) not in (None, {}, ())}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in table.items()}

    def tools_beneath(self, settings: Any) -> dict[str, Any]:
        """The role's tools (functions, built-in tools, MCP servers) and those ``settings`` name, together."""
        return {name: tuple(dict.fromkeys([*getattr(self, name), *getattr(settings, name)])) for name in TOOL_KEYS}

    def beneath(self, settings: Any) -> dict[str, Any]:
        """``settings``' model, system, temperature, max_tokens and options, with this role's where they give
        none (what was given wins; options key by key): the fields to ``dataclasses.replace`` with."""
        given = {name: getattr(settings, name) for name in ("model", "system", "temperature", "max_tokens")}
        taken = {name: getattr(self, name) if value is None else value for name, value in given.items()}
        return {**taken, "options": {**self.options, **settings.options}, **self._schema_beneath(settings)}

    def _schema_beneath(self, settings: Any) -> dict[str, Any]:
        """The role's schema, where the settings take one and give none."""
        if not hasattr(settings, "schema") or self.schema is self.schema_multi is None:
            return {}
        if settings.schema is not None or getattr(settings, "schema_multi", None) is not None:
            return {}
        return {"schema": self.schema, "schema_multi": self.schema_multi}

    def to_toml(self) -> str:
        import tomlkit

        document = tomlkit.document()
        for name, value in self.table().items():
            multiline = isinstance(value, str) and "\n" in value
            document[name] = tomlkit.string(value, multiline=True) if multiline else value
        return tomlkit.dumps(document)

    def fill(self, text: str, given: Mapping[str, str]) -> str:
        """The prompt text through the role's template: ``{input}`` is ``text``, ``{NAME}`` a ``-p`` value."""
        names = template_fields(self.template)
        unknown = sorted(set(given) - names - {"input"})
        if unknown:
            known = ", ".join(sorted(names - {"input"})) or "none"
            raise UsageError(f"-p {unknown[0]}: role {self.name} has no {{{unknown[0]}}}", f"its variables: {known}")
        if self.template is None:
            return text
        values = {**self.params, **given, "input": text}
        missing = sorted(names - set(values))
        if missing:
            raise UsageError(f"role {self.name} needs {{{missing[0]}}}", f"pass -p {missing[0]} VALUE")
        filled = _FIELD.sub(lambda match: values[match[1]] if match[1] else match[0][0], self.template)
        if "input" not in names and text:
            filled = f"{filled.rstrip()}\n\n{text}"
        return filled

    @property
    def needs_input(self) -> bool:
        """Whether the prompt needs words or stdin: unless the template fills itself without ``{input}``."""
        return self.template is None or "input" in template_fields(self.template)


def template_fields(template: str | None) -> set[str]:
    return {match[1] for match in _FIELD.finditer(template or "") if match[1]}


BUILTIN_ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            name="review",
            description="code review: bugs and risks first, each with a fix",
            system=(
                "You are a meticulous senior engineer reviewing code. List real problems only: bugs, "
                "security issues, races, unclear names, missing tests. Most serious first; for each, quote "
                "the line, say why it is wrong and show the fix. If the code is fine, say so in one line."
            ),
            template="Review this, focusing on {focus}:\n\n{input}",
            params={"focus": "correctness, security and readability"},
            builtin=True,
        ),
        Role(
            name="shell",
            description="one shell command, no talk (pairs with -x)",
            system="You answer with a single shell command in one fenced code block, and nothing else.",
            template="A {shell} command that does this: {input}",
            params={"shell": "bash"},
            temperature=0,
            builtin=True,
        ),
        Role(
            name="commit",
            description="a commit message for a diff on stdin",
            system=(
                "You write git commit messages: a summary line in the imperative under 72 characters, a "
                "blank line, then what changed and why, wrapped at 72. No preamble, no code fences."
            ),
            template="Write the commit message for this diff:\n\n{input}",
            builtin=True,
        ),
    )
}


def roles_folder() -> Path:
    from ..config import home

    return home() / "roles"


def role_path(name: str) -> Path:
    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a role name", "use letters, digits, '-', '_' and '.'")
    return roles_folder() / f"{name}.toml"


def find_role(name: str) -> Role:
    """The saved role ``name``, else the built-in one; a usage error naming the close ones otherwise."""
    path = role_path(name)
    if path.is_file():
        return load_role(path)
    if name in BUILTIN_ROLES:
        return BUILTIN_ROLES[name]
    known = [role.name for role in all_roles()]
    raise UsageError(f"no role named {name!r}", did_you_mean(name, known) + "; `chatstream roles list` shows them")


def all_roles() -> list[Role]:
    """Every role, saved ones in place of the built-in ones they shadow, by name."""
    saved = {path.stem: path for path in sorted(roles_folder().glob("*.toml"))}
    roles = {**BUILTIN_ROLES, **{name: load_role(path) for name, path in saved.items()}}
    return [roles[name] for name in sorted(roles)]


def load_role(path: Path) -> Role:
    """The role in ``path``; a config error naming the file when it is not a valid role."""
    try:
        table = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read role {path}: {exc}", "fix the file or remove it") from None
    for key, value in table.items():
        kinds = _TYPES.get(key)
        if kinds is None or not isinstance(value, kinds) or isinstance(value, bool):
            expected = f"keys are {', '.join(_TYPES)}" if kinds is None else f"{key} must be a {kinds[0].__name__}"
            raise ConfigError(f"role {path} has a bad {key!r}", expected)
    params = {str(key): str(value) for key, value in table.pop("params", {}).items()}
    if "schema" in table and "schema_multi" in table:
        raise ConfigError(f"role {path} has both schema and schema_multi", "keep one of them")
    for key in TOOL_KEYS:
        if key in table:
            if not all(isinstance(item, str) for item in table[key]):
                raise ConfigError(f"role {path} has a bad {key!r}", f"{key} must be a list of strings")
            table[key] = tuple(table[key])
    return Role(name=path.stem, **table, params=params)


def save_role(role: Role) -> Path:
    from ..config import atomic_write

    path = role_path(role.name)
    atomic_write(path, role.to_toml().encode("utf-8"), mode=0o644)
    return path


def remove_role(name: str) -> Path:
    path = role_path(name)
    if path.is_file():
        path.unlink()
        return path
    if name in BUILTIN_ROLES:
        raise UsageError(f"role {name!r} is built in", "it cannot be removed; a saved role of that name shadows it")
    raise UsageError(f"no saved role named {name!r}", "`chatstream roles list` shows them")
