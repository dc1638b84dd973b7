"""``--schema`` on Claude: ``output_config.format`` (structured outputs) for the models that take it, or,
for older ones (Claude 3, Sonnet 4 and Opus 4 / 4.1) and ``-o schema_mode tool``, one forced tool whose
input is the answer. The tool's definition is made here and nowhere else."""

from __future__ import annotations

import re
from typing import Any

from ...errors import UsageError

SCHEMA_MODES = ("output_config", "tool")
# The models before structured outputs: claude-3*, claude-sonnet-4 and claude-opus-4 (dated, or -0), claude-opus-4-1.
_BEFORE_OUTPUT_CONFIG = re.compile(r"claude-3|claude-(?:sonnet|opus)-4(?:-[01])?(?:$|[-@:.](?:\d{8}|v\d))")
TOOL_DESCRIPTION = "Give the answer as this tool's input, which must satisfy its schema."


def schema_mode_for(model: str, given: Any) -> str:
    """How the schema goes to ``model``: as asked by ``-o schema_mode``, else by what the model takes."""
    if given is None:
        return "tool" if _BEFORE_OUTPUT_CONFIG.search(model) else "output_config"
    if given not in SCHEMA_MODES:
        raise UsageError(f"-o schema_mode {given!r} is not valid", "use output_config or tool")
    return str(given)


def schema_fields(schema: Any, mode: str, thinking: bool) -> dict[str, Any]:
    """The request fields that carry the schema."""
    from ...schema.convert import closed_objects

    if mode == "output_config":
        return {"output_config": {"format": {"type": "json_schema", "schema": closed_objects(schema.wire)}}}
    if thinking:
        raise UsageError(
            "--thinking cannot be used with -o schema_mode tool", "Claude cannot think when a tool is forced"
        )
    return {"tools": [forced_tool(schema.name, schema.wire)], "tool_choice": {"type": "tool", "name": schema.name}}


def forced_tool(name: str, input_schema: dict[str, Any]) -> dict[str, Any]:
    """A tool definition as the Messages API takes it."""
    return {"name": name, "description": TOOL_DESCRIPTION, "input_schema": input_schema}
