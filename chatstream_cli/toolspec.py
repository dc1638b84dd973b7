"""Tool definitions: what a model is told about a tool (name, description, JSON Schema of its arguments),
made from a Python function's signature or taken from a schema dict, and the check of a call's arguments.

This is the one place that knows what a tool *is*; providers turn a :class:`ToolSpec` into their wire's
form (Anthropic ``tools[].input_schema``, OpenAI ``tools[].function.parameters``), ``tools/`` runs them.
Imported only when tools are used: a reply without tools loads neither this nor ``inspect``.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SCALARS: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "array": (list,),
    "object": (dict,),
}


class ToolDefinitionError(ValueError):
    """A function or schema that cannot be a tool, with what to change."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool as a model sees it; ``function`` runs it when the tool is chatstream's to run."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    function: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """LangChain's ``convert_to_openai_tool`` form, which ``--events`` metadata and ``/tools`` show."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


def as_spec(tool: Any) -> ToolSpec:
    """A ToolSpec from a ToolSpec, a Python function, or a schema dict (OpenAI's, Anthropic's or a bare one)."""
    if isinstance(tool, ToolSpec):
        return tool
    if isinstance(tool, Mapping):
        return spec_from_dict(tool)
    if callable(tool):
        return spec_from_function(tool)
    raise ToolDefinitionError(f"cannot make a tool from {tool!r}: give a function or a schema dict")


def spec_from_dict(data: Mapping[str, Any]) -> ToolSpec:
    """``{"type": "function", "function": {...}}``, ``{"name", "description", "input_schema"}`` or
    ``{"name", "description", "parameters"}``."""
    inner = data.get("function") if data.get("type") == "function" else data
    if not isinstance(inner, Mapping) or not isinstance(inner.get("name"), str):
        raise ToolDefinitionError("a tool schema needs a name (and a description and parameters)")
    parameters = inner.get("parameters", inner.get("input_schema")) or {"type": "object", "properties": {}}
    return ToolSpec(_checked_name(inner["name"]), str(inner.get("description") or ""), dict(parameters))


def spec_from_function(function: Callable[..., Any]) -> ToolSpec:
    """The tool a function makes: its name, its docstring, a JSON Schema from its type hints."""
    name = _checked_name(getattr(function, "__name__", ""))
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:  # a hint naming something undefined
        raise ToolDefinitionError(f"{name}: its type hints cannot be read ({exc})") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.POSITIONAL_ONLY):
            raise ToolDefinitionError(f"{name}: a tool takes named arguments, not {parameter}")
        schema = schema_for(hints.get(parameter.name, Any), f"{name}({parameter.name})")
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif parameter.default is None or isinstance(parameter.default, str | int | float | bool):
            schema["default"] = parameter.default
        properties[parameter.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return ToolSpec(name, inspect.getdoc(function) or "", parameters, function)


def schema_for(hint: Any, where: str) -> dict[str, Any]:
    """The JSON Schema of one type hint: int, float, str, bool, None, lists, dicts, Optional/unions,
    Literal, Annotated (its first string is the description), Any."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return {}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is typing.Annotated:
        schema = schema_for(args[0], where)
        description = next((item for item in args[1:] if isinstance(item, str)), None)
        return {**schema, "description": description} if description else schema
    if origin is typing.Literal:
        kinds = sorted({_SCALARS[type(value)] for value in args if type(value) in _SCALARS})
        return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [schema_for(arg, where) for arg in args]}
    if hint in (list, tuple, set) or origin in (list, tuple, set, frozenset):
        return {"type": "array", "items": schema_for(args[0], where)} if args else {"type": "array"}
    if hint is dict or origin is dict:
        return {"type": "object", "additionalProperties": schema_for(args[1], where)} if args else {"type": "object"}
    raise ToolDefinitionError(
        f"{where}: the type {hint!r} has no JSON Schema here (use int, float, str, bool, list, dict)"
    )


def argument_error(spec: ToolSpec, args: Any) -> str | None:
    """Why ``args`` do not fit the tool's schema (the first reason), or None when they do."""
    return _mismatch(spec.parameters, args, "arguments")


def _mismatch(schema: Mapping[str, Any], value: Any, where: str) -> str | None:
    if "anyOf" in schema:
        reasons = [_mismatch(option, value, where) for option in schema["anyOf"]]
        return None if None in reasons else reasons[0]
    if "enum" in schema and value not in schema["enum"]:
        return f"{where} must be one of {schema['enum']!r}, not {value!r}"
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is_kind(value, kind) for kind in allowed):
            return f"{where} must be {' or '.join(allowed)}, not {type(value).__name__} {value!r}"[:200]
    if isinstance(value, dict):
        return _object_mismatch(schema, value, where)
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for position, item in enumerate(value):
            reason = _mismatch(schema["items"], item, f"{where}[{position}]")
            if reason:
                return reason
    return None


def _object_mismatch(schema: Mapping[str, Any], value: dict[str, Any], where: str) -> str | None:
    properties = schema.get("properties") or {}
    missing = [name for name in schema.get("required", ()) if name not in value]
    if missing:
        return f"{where} lack the required {', '.join(map(repr, missing))}"
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        inner = properties.get(name, extra if isinstance(extra, Mapping) else None)
        if inner is None and extra is False:
            return f"{where} have an unknown {name!r} (known: {', '.join(properties) or 'none'})"
        reason = _mismatch(inner, item, f"{name!r}") if isinstance(inner, Mapping) else None
        if reason:
            return reason
    return None


def _is_kind(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ToolDefinitionError(f"{name!r} is not a tool name: use 1 to 64 letters, digits, _ or -")
    return name
