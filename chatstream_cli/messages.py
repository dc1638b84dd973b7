"""Chat messages with LangChain's field set and order, as plain dataclasses.

``AIMessageChunk + AIMessageChunk`` follows langchain-core's merge rules: string
content concatenates, list blocks merge by their ``index``, ``response_metadata``
merges in first-seen key order, ``usage_metadata`` adds up and ``chunk_position``
"last" wins. ``to_dict()`` gives what pydantic's ``model_dump()`` would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Content = str | list[dict[str, Any]]

# String keys whose equal values are kept once instead of concatenated (langchain-core).
_IDENTITY_KEYS = ("id", "output_version", "model_provider")


@dataclass(slots=True)
class BaseMessage:
    """Fields shared by every message; subclasses fix ``type``."""

    content: Content = ""
    additional_kwargs: dict[str, Any] = field(default_factory=dict)
    response_metadata: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    id: str | None = None

    type = "base"

    @property
    def text(self) -> str:
        """The text of the message: string content, or its text blocks joined."""
        return content_text(self.content)

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "additional_kwargs": self.additional_kwargs,
            "response_metadata": self.response_metadata,
            "type": self.type,
            "name": self.name,
            "id": self.id,
        }


@dataclass(slots=True)
class HumanMessage(BaseMessage):
    type = "human"


@dataclass(slots=True)
class SystemMessage(BaseMessage):
    type = "system"


@dataclass(slots=True)
class AIMessage(BaseMessage):
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    invalid_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage_metadata: dict[str, Any] | None = None

    type = "ai"

    def to_dict(self) -> dict[str, Any]:
        data = BaseMessage.to_dict(self)
        data["tool_calls"] = self.tool_calls
        data["invalid_tool_calls"] = self.invalid_tool_calls
        data["usage_metadata"] = self.usage_metadata
        return data


@dataclass(slots=True)
class AIMessageChunk(AIMessage):
    tool_call_chunks: list[dict[str, Any]] = field(default_factory=list)
    chunk_position: str | None = None

    type = "AIMessageChunk"

    def to_dict(self) -> dict[str, Any]:
        data = AIMessage.to_dict(self)
        data["tool_call_chunks"] = self.tool_call_chunks
        data["chunk_position"] = self.chunk_position
        return data

    def __add__(self, other: AIMessageChunk) -> AIMessageChunk:
        if not isinstance(other, AIMessageChunk):
            return NotImplemented
        tool_call_chunks = merge_lists(self.tool_call_chunks, other.tool_call_chunks)
        return AIMessageChunk(
            content=merge_content(self.content, other.content),
            additional_kwargs=merge_dicts(self.additional_kwargs, other.additional_kwargs),
            response_metadata=merge_dicts(self.response_metadata, other.response_metadata),
            name=self.name or other.name,
            id=self.id or other.id,
            tool_calls=tool_calls_from_chunks(tool_call_chunks)
            if tool_call_chunks
            else self.tool_calls + other.tool_calls,
            invalid_tool_calls=self.invalid_tool_calls + other.invalid_tool_calls,
            usage_metadata=add_usage(self.usage_metadata, other.usage_metadata),
            tool_call_chunks=tool_call_chunks,
            chunk_position="last" if "last" in (self.chunk_position, other.chunk_position) else None,
        )

    def to_message(self) -> AIMessage:
        """The finished message this chunk adds up to."""
        return AIMessage(
            content=self.content,
            additional_kwargs=self.additional_kwargs,
            response_metadata=self.response_metadata,
            name=self.name,
            id=self.id,
            tool_calls=self.tool_calls,
            invalid_tool_calls=self.invalid_tool_calls,
            usage_metadata=self.usage_metadata,
        )


def content_text(content: Content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


def content_thinking(content: Content) -> str:
    if isinstance(content, str):
        return ""
    return "".join(block.get("thinking", "") for block in content if block.get("type") == "thinking")


def thinking_text(message: BaseMessage) -> str:
    """A message's or chunk's thinking: its thinking blocks, or the reasoning an OpenAI-compatible server
    sent, which stays out of the content (as in ChatOpenAI) in ``additional_kwargs["reasoning_content"]``."""
    reasoning = message.additional_kwargs.get("reasoning_content")
    return content_thinking(message.content) + (reasoning if isinstance(reasoning, str) else "")


def merge_content(left: Content, right: Content) -> Content:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, str):
        return ([{"type": "text", "text": left}] if left else []) + list(right)
    if isinstance(right, str):
        return merge_lists(left, [{"type": "text", "text": right}] if right else [])
    return merge_lists(left, right)


def merge_lists(left: list[Any], right: list[Any]) -> list[Any]:
    """Append ``right`` to ``left``, merging dicts that share an integer ``index``."""
    merged = list(left)
    for item in right:
        index = item.get("index") if isinstance(item, dict) else None
        if isinstance(index, int):
            for position, existing in enumerate(merged):
                if isinstance(existing, dict) and existing.get("index") == index:
                    # The first block's type wins; later pieces only add fields.
                    rest = {k: v for k, v in item.items() if k != "type"}
                    merged[position] = merge_dicts(existing, rest)
                    break
            else:
                merged.append(item)
        else:
            merged.append(item)
    return merged


def merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    if not right:
        return dict(left)
    merged = dict(left)
    for key, value in right.items():
        current = merged.get(key)
        if key not in merged or (value is not None and current is None):
            merged[key] = value
        elif value is None or (current == value and (key in _IDENTITY_KEYS or not isinstance(value, str))):
            continue
        elif isinstance(current, str) and isinstance(value, str):
            merged[key] = current + value
        elif isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge_dicts(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = merge_lists(current, value)
        elif isinstance(current, int) and isinstance(value, int) and key != "index":
            merged[key] = current + value
    return merged


def add_usage(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any] | None:
    if left is None:
        return right
    if right is None:
        return left
    return _add_counts(left, right)


def _add_counts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    total = dict(left)
    for key, value in right.items():
        if isinstance(value, dict):
            total[key] = _add_counts(total.get(key) or {}, value)
        elif isinstance(value, int | float) and isinstance(total.get(key), int | float):
            total[key] = total[key] + value
        else:
            total[key] = value
    return total


def tool_calls_from_chunks(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete tool calls from merged tool-call chunks (arguments parsed as JSON)."""
    calls = []
    for chunk in chunks:
        raw = chunk.get("args") or ""
        try:
            args = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            continue
        if isinstance(args, dict):
            calls.append({"name": chunk.get("name") or "", "args": args, "id": chunk.get("id"), "type": "tool_call"})
    return calls


MessageInput = str | list[Any] | tuple[Any, ...]

_ROLES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "user": HumanMessage,
    "system": SystemMessage,
    "ai": AIMessage,
    "assistant": AIMessage,
}


def to_messages(value: MessageInput | BaseMessage) -> list[BaseMessage]:
    """Normalise a prompt: a string, a message, or a list of messages / (role, content) pairs."""
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    if isinstance(value, BaseMessage):
        return [value]
    messages: list[BaseMessage] = []
    for item in value:
        if isinstance(item, BaseMessage):
            messages.append(item)
        elif isinstance(item, str):
            messages.append(HumanMessage(content=item))
        elif isinstance(item, dict):
            messages.append(_from_role(item.get("role") or item.get("type", ""), item.get("content", "")))
        elif isinstance(item, tuple | list) and len(item) == 2:
            messages.append(_from_role(*item))
        else:
            raise TypeError(f"cannot make a message from {item!r}")
    return messages


def _from_role(role: str, content: Content) -> BaseMessage:
    try:
        cls = _ROLES[role]
    except KeyError:
        raise ValueError(f"unknown message role {role!r} (use one of: {', '.join(_ROLES)})") from None
    return cls(content=content)
