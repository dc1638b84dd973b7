"""A schema as a provider's strict mode takes it.

OpenAI's strict mode (``"strict": true``) wants every object closed (``additionalProperties: false``) and
every property required; an optional property is sent as required and nullable (OpenAI's own advice), and
the null the model then writes for it is dropped again before the document is checked against the
schema as given (:func:`without_emulated_nulls`). What strict mode cannot express (an open object,
``patternProperties``, ``oneOf``, ``allOf``, ``not``, conditionals) is sent non-strict, with a notice.
Anthropic's ``output_config`` wants closed objects too, and takes optional properties as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_UNSUPPORTED = ("patternProperties", "oneOf", "allOf", "not", "if", "dependentRequired", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")


class NotStrict(Exception):
    """The schema cannot be made strict; the message says what stands in the way and where."""


def openai_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as OpenAI's strict mode takes it; NotStrict when it cannot be converted."""
    return _walk(schema, "$", _strict_object)


def closed_objects(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with ``additionalProperties: false`` on every object that does not say (Anthropic's rule)."""
    try:
        return _walk(schema, "$", _closed_object)
    except NotStrict:
        return schema  # an open object stays open: the API says whether it takes it


def _walk(node: Any, path: str, on_object: Callable[[dict[str, Any], str], dict[str, Any]]) -> Any:
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for name in _SUBSCHEMA_MAPS:
        if isinstance(node.get(name), dict):
            node[name] = {key: _walk(value, f"{path}.{key}", on_object) for key, value in node[name].items()}
    for name in _SUBSCHEMA_LISTS:
        if isinstance(node.get(name), list):
            node[name] = [_walk(value, f"{path}[{index}]", on_object) for index, value in enumerate(node[name])]
    if isinstance(node.get("items"), dict):
        node["items"] = _walk(node["items"], f"{path}[*]", on_object)
    if node.get("type") == "object" or "properties" in node:
        node = on_object(node, path)
    return node


def _closed_object(node: dict[str, Any], path: str) -> dict[str, Any]:
    extra = node.get("additionalProperties", False)
    if extra is not False:
        raise NotStrict(f"the object at {path} allows other keys (additionalProperties)")
    return {**node, "additionalProperties": False}


def _strict_object(node: dict[str, Any], path: str) -> dict[str, Any]:
    used = [name for name in _UNSUPPORTED if name in node]
    if used:
        raise NotStrict(f"strict mode has no {used[0]} (at {path})")
    node = _closed_object(node, path)
    properties = node.get("properties") or {}
    required = set(node.get("required") or ())
    node["properties"] = {name: value if name in required else _nullable(value) for name, value in properties.items()}
    node["required"] = list(properties)
    return node


def _nullable(schema: Any) -> Any:
    if not isinstance(schema, dict) or allows_null(schema):
        return schema
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema:
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def allows_null(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind) or None in schema.get("enum", [0]):
        return True
    return any(allows_null(option) for option in schema.get("anyOf", ()))


def without_emulated_nulls(document: Any, schema: dict[str, Any]) -> Any:
    """The document without the nulls strict mode made the model write for optional properties."""
    return _drop_nulls(document, schema, schema)


def _drop_nulls(value: Any, schema: Any, root: dict[str, Any]) -> Any:
    schema = resolved_ref(schema, root)
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties, required = schema["properties"], set(schema.get("required") or ())
        return {
            key: _drop_nulls(item, properties.get(key), root)
            for key, item in value.items()
            if not (item is None and key in properties and key not in required and not allows_null(properties[key]))
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_drop_nulls(item, schema["items"], root) for item in value]
    return value


def resolved_ref(schema: Any, root: dict[str, Any]) -> Any:
    """A local ``$ref`` (``#/$defs/NAME``) followed; anything else as it is."""
    reference = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(reference, str) or not reference.startswith("#/"):
        return schema
    target: Any = root
    for part in reference[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else schema
