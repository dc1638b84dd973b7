"""The batch input: one prompt per line, or JSON lines with ``prompt`` (or ``messages``) and per-line settings.

The first non-blank line decides: a line starting with ``{`` makes the whole file JSON lines, else every
line is a prompt. Blank lines are skipped. The input is read as a stream, one line at a time; a bad line
is a :class:`~chatstream_cli.errors.UsageError` (exit 2) naming its line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import UsageError
from ..messages import BaseMessage, HumanMessage, SystemMessage, to_messages

ItemId = str | int

KNOWN_KEYS = frozenset({"id", "prompt", "messages", "system", "model", "max_tokens", "temperature", "options", "role"})
_ROLES = frozenset({"user", "human", "assistant", "ai", "system"})


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One prompt of the batch: where it was, what to send, and the settings that differ from the defaults."""

    index: int  # 0-based position among the prompts
    line: int  # 1-based line number in the input
    id: ItemId
    messages: list[BaseMessage]
    model: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def with_system(self, default: str | None) -> list[BaseMessage]:
        """The messages to send: the line's system prompt (else ``default``) in front, unless they have one."""
        system = self.system if self.system is not None else default
        if not system or any(isinstance(message, SystemMessage) for message in self.messages):
            return self.messages
        return [SystemMessage(content=system), *self.messages]


def id_key(value: ItemId) -> str:
    """The form in which ids are compared: ``7`` and ``"7"`` are different ids, as in the JSON."""
    return json.dumps(value)


def read_items(lines: Iterable[bytes | str]) -> Iterator[BatchItem]:
    """The prompts of ``lines`` in order; raises UsageError at the first bad line, or at a repeated id."""
    json_lines: bool | None = None
    seen: set[str] = set()
    index = 0
    for number, raw in enumerate(lines, start=1):
        text = _decoded(raw, number).strip()
        if not text:
            continue
        if json_lines is None:
            json_lines = text.startswith("{")
        item = _json_item(text, number, index) if json_lines else BatchItem(index, number, number, [HumanMessage(text)])
        key = id_key(item.id)
        if key in seen:
            raise UsageError(f"line {number}: the id {key} was used before", "give every line its own id")
        seen.add(key)
        yield item
        index += 1


def _decoded(raw: bytes | str, number: int) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"line {number} is not UTF-8", "save the input as UTF-8") from None


def _json_item(text: str, number: int, index: int) -> BatchItem:
    try:
        data = json.loads(text)
    except ValueError as exc:
        place = "" if exc.msg.endswith(" at") else " at"  # "Unterminated string starting at" needs no second
        raise _bad(number, f"is not JSON ({exc.msg}{place} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise _bad(number, "is not a JSON object")
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise _bad(number, f"has an unknown key {unknown[0]!r}", "known keys: " + ", ".join(sorted(KNOWN_KEYS)))
    item = BatchItem(
        index=index,
        line=number,
        id=_id(data.get("id", number), number),
        messages=_messages(data, number),
        model=_typed(data, "model", str, number),
        system=_typed(data, "system", str, number),
        max_tokens=_max_tokens(data, number),
        temperature=_temperature(data, number),
        options=_typed(data, "options", dict, number) or {},
    )
    role = _typed(data, "role", str, number)
    return item if role is None else _with_role(item, role, number)


def _with_role(item: BatchItem, name: str, number: int) -> BatchItem:
    """The line with a saved role's settings where the line gives none, and its prompt through the role's template."""
    from ..prompting.roles import find_role

    try:
        role = find_role(name)
        messages = list(item.messages)
        last = messages[-1]
        if isinstance(last, HumanMessage) and isinstance(last.content, str):
            messages[-1] = HumanMessage(role.fill(last.content, {}))
    except UsageError as exc:
        raise _bad(number, f"names a role that cannot be applied: {exc.message}", exc.hint or "fix the role") from None
    return replace(item, messages=messages, **role.beneath(item))


def _id(value: Any, number: int) -> ItemId:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise _bad(number, "has an id that is neither a string nor an integer")
    return value


def _messages(data: dict[str, Any], number: int) -> list[BaseMessage]:
    prompt = _typed(data, "prompt", str, number)
    turns = data.get("messages")
    if turns is None:
        if not prompt or not prompt.strip():
            raise _bad(number, "has no prompt", 'give "prompt": "..." or "messages": [...]')
        return [HumanMessage(prompt)]
    if not isinstance(turns, list) or not turns or not all(_is_turn(turn) for turn in turns):
        raise _bad(number, 'has "messages" that are not a list of {"role", "content"} objects')
    messages = to_messages(turns)
    return [*messages, HumanMessage(prompt)] if prompt else messages


def _is_turn(turn: Any) -> bool:
    return isinstance(turn, dict) and turn.get("role") in _ROLES and isinstance(turn.get("content"), str | list)


def _max_tokens(data: dict[str, Any], number: int) -> int | None:
    value = _typed(data, "max_tokens", int, number)
    if value is not None and (isinstance(value, bool) or value < 1):
        raise _bad(number, "has a max_tokens below 1")
    return value


def _temperature(data: dict[str, Any], number: int) -> float | None:
    value = _typed(data, "temperature", int | float, number)
    return None if value is None else float(value)


def _typed(data: dict[str, Any], key: str, kind: Any, number: int) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise _bad(number, f"has a {key} of the wrong type ({type(value).__name__})")
    return value


def _bad(number: int, what: str, hint: str = "fix that line; lines before it are fine") -> UsageError:
    return UsageError(f"line {number} of the batch input {what}", hint)
