"""Chat messages with LangChain's field set and order, as plain dataclasses.

``AIMessageChunk + AIMessageChunk`` follows langchain-core's merge rules: string
content concatenates, list blocks merge by their ``index``, ``response_metadata``
merges in first-seen key order, ``usage_metadata`` adds up and ``chunk_position``
"last" wins. ``to_dict()`` gives what pydantic's ``model_dump()`` would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import UsageError
from .partial_json import parse_partial_json
from .usage import Report, added, in_declared_order, later_report

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


_AI_FIELDS = tuple(AIMessage.__dataclass_fields__)


@dataclass(slots=True)
class ToolMessage(BaseMessage):
    """A tool's result, answering the tool call ``tool_call_id``; ``status`` is "error" when it failed."""

    tool_call_id: str = ""
    artifact: Any = None
    status: str = "success"

    type = "tool"

    def to_dict(self) -> dict[str, Any]:
        data = BaseMessage.to_dict(self)
        data["tool_call_id"] = self.tool_call_id
        data["artifact"] = self.artifact
        data["status"] = self.status
        return data


@dataclass(slots=True)
class AIMessageChunk(AIMessage):
    tool_call_chunks: list[dict[str, Any]] = field(default_factory=list)
    chunk_position: str | None = None
    #: What the provider reported, counted once (chatstream's own; not part of LangChain's chunk).
    report: Report | None = None

    type = "AIMessageChunk"

    def __post_init__(self) -> None:
        """Tool calls follow the tool-call chunks, as langchain-core's ``init_tool_calls`` makes them."""
        if self.tool_call_chunks:
            self.tool_calls, self.invalid_tool_calls = tool_calls_from_chunks(self.tool_call_chunks)
        elif self.tool_calls or self.invalid_tool_calls:
            self.tool_call_chunks = [
                tool_call_chunk(call["name"], json.dumps(call["args"]), call["id"], None) for call in self.tool_calls
            ] + [tool_call_chunk(call["name"], call["args"], call["id"], None) for call in self.invalid_tool_calls]

    def to_dict(self) -> dict[str, Any]:
        data = AIMessage.to_dict(self)
        data["tool_call_chunks"] = self.tool_call_chunks
        data["chunk_position"] = self.chunk_position
        return data

    def __add__(self, other: AIMessageChunk) -> AIMessageChunk:
        if not isinstance(other, AIMessageChunk):
            return NotImplemented
        return self._merged(other, merge_content(self.content, other.content))

    def _merged(self, other: AIMessageChunk, content: Content) -> AIMessageChunk:
        """``self + other`` with the content already merged."""
        tool_call_chunks = merge_lists(self.tool_call_chunks, other.tool_call_chunks)
        return AIMessageChunk(
            content=content,
            additional_kwargs=merge_dicts(self.additional_kwargs, other.additional_kwargs),
            response_metadata=merge_dicts(self.response_metadata, other.response_metadata),
            name=self.name or other.name,
            id=self.id or other.id,
            usage_metadata=add_usage(self.usage_metadata, other.usage_metadata),
            tool_call_chunks=tool_call_chunks,
            chunk_position="last" if "last" in (self.chunk_position, other.chunk_position) else None,
            report=later_report(self.report, other.report),
        )

    def to_message(self) -> AIMessage:
        """The finished message this chunk adds up to."""
        return AIMessage(**ai_fields(self))


def ai_fields(message: AIMessage) -> dict[str, Any]:
    """The fields an AIMessage and an AIMessageChunk share, by name (not copied)."""
    return {name: getattr(message, name) for name in _AI_FIELDS}


class ChunkSum:
    """``chunk_1 + chunk_2 + ...`` in linear time; :meth:`total` equals the left-to-right sum.

    ``+`` copies the whole text so far at every step, which is quadratic over a long reply. Here the
    text that would be copied again and again (string content, and the ``text`` or ``thinking`` of a
    content block that a chunk extends) is kept as :class:`Pieces` and joined once in ``total``.
    While the content is a string, ``_sum.content`` stays ``""`` and the text is ``_text``; once it is
    a list, ``_pieces[position][key]`` holds what still has to be appended to that block's field.
    """

    __slots__ = ("_merged_once", "_pieces", "_sum", "_text")

    def __init__(self) -> None:
        self._sum: AIMessageChunk | None = None  # the first chunk starts the sum, as in LangChain (no "" before it)
        self._text = Pieces()
        self._pieces: dict[int, dict[str, Pieces]] = {}
        self._merged_once = False  # after a merge, the sum is this object's own and its usage in declared order

    def add(self, chunk: AIMessageChunk) -> None:
        current = self._sum
        if current is None:
            if isinstance(chunk.content, str):
                self._text.append(chunk.content)
                chunk = replace(chunk, content="")
            self._sum = chunk
            return
        if isinstance(current.content, str):
            if isinstance(chunk.content, str):
                if chunk.content:
                    self._text.append(chunk.content)
                if self._merged_once and _adds_only_text(current, chunk):
                    # Most chunks of a reply: a new sum would equal this one, so none is made.
                    current.report = later_report(current.report, chunk.report)
                    return
                self._sum = current._merged(chunk, "")
                self._merged_once = True
                return
            current.content = self._text.join()  # blocks arrive: the text so far goes in front of them
            self._text = Pieces()
        elif self._defer(current.content, chunk.content):
            self._sum = current._merged(chunk, current.content)
            return
        self._apply_pieces()
        self._sum = self._sum + chunk
        self._merged_once = True

    def total(self) -> AIMessageChunk:
        """The sum of the chunks added so far (adding may go on)."""
        if self._sum is None:
            return AIMessageChunk()
        if isinstance(self._sum.content, str):
            return replace(self._sum, content=self._text.join())
        self._apply_pieces()
        return replace(self._sum)

    def _defer(self, blocks: list[dict[str, Any]], content: Content) -> bool:
        """Note the text of a chunk that only extends one field of an existing block; False otherwise."""
        if not (isinstance(content, list) and len(content) == 1 and isinstance(content[0], dict)):
            return False
        block = content[0]
        index = block.get("index")
        key = next((k for k in block if k not in ("type", "index")), None)
        if type(index) is not int or key not in ("text", "thinking") or block.keys() != {"type", "index", key}:
            return False
        piece = block[key]
        for position, existing in enumerate(blocks):
            if isinstance(existing, dict) and existing.get("index") == index:  # merge_lists merges into the first
                if not (isinstance(piece, str) and isinstance(existing.get(key), str)):
                    return False
                self._pieces.setdefault(position, {}).setdefault(key, Pieces()).append(piece)
                return True
        return False

    def _apply_pieces(self) -> None:
        if not self._pieces:
            return
        blocks = list(self._sum.content)
        for position, fields in self._pieces.items():
            block = dict(blocks[position])
            for key, pieces in fields.items():
                block[key] = block[key] + pieces.join()
            blocks[position] = block
        self._pieces = {}
        self._sum.content = blocks


def _adds_only_text(total: AIMessageChunk, chunk: AIMessageChunk) -> bool:
    """Whether ``total + chunk`` differs from ``total`` in nothing but its text (and the report it carries)."""
    return (
        chunk.usage_metadata is None
        and not chunk.tool_call_chunks
        and chunk.chunk_position is None
        and (chunk.name is None or bool(total.name))
        and (chunk.id is None or bool(total.id))
        and _merges_into(total.additional_kwargs, chunk.additional_kwargs)
        and _merges_into(total.response_metadata, chunk.response_metadata)
    )


def _merges_into(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """Whether ``merge_dicts(left, right) == left`` for sure: ``right`` repeats items of ``left``, and none
    is a string that merging would append (as it does for any key but the identity ones)."""
    return not right or (
        right.items() <= left.items()
        and all(key in _IDENTITY_KEYS or not isinstance(value, str) for key, value in right.items())
    )


class Pieces:
    """Text appended piece by piece and read once: linear time, and memory close to the text's size
    (every batch of pieces is joined into one string, instead of keeping a small object per piece)."""

    __slots__ = ("_batches", "_recent")
    BATCH = 512

    def __init__(self) -> None:
        self._batches: list[str] = []
        self._recent: list[str] = []

    def append(self, text: str) -> None:
        recent = self._recent
        recent.append(text)
        if len(recent) >= self.BATCH:
            self._batches.append("".join(recent))
            recent.clear()

    def join(self) -> str:
        return "".join(self._batches) + "".join(self._recent)


def sum_chunks(chunks: Iterable[AIMessageChunk]) -> AIMessageChunk:
    """The sum of ``chunks`` (an empty chunk for none), in linear time."""
    total = ChunkSum()
    for chunk in chunks:
        total.add(chunk)
    return total.total()


def content_text(content: Content) -> str:
    """The text of string content, or of a list's strings and text blocks."""
    if isinstance(content, str):
        return content
    return "".join(item if isinstance(item, str) else _blocks_text([item], "text") for item in content)


def content_thinking(content: Content) -> str:
    return "" if isinstance(content, str) else _blocks_text(content, "thinking")


def _blocks_text(blocks: list[Any], kind: str) -> str:
    """The ``kind`` field of every ``kind`` block, joined: text blocks carry ``text``, thinking blocks ``thinking``
    (a string, or, from Mistral's reasoning models, a list of text parts)."""
    return "".join(
        _field_text(block.get(kind)) for block in blocks if isinstance(block, dict) and block.get("type") == kind
    )


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return content_text(value)
    return ""


def thinking_text(message: BaseMessage) -> str:
    """A message's or chunk's thinking: its thinking blocks, or the reasoning an OpenAI-compatible server
    sent, which stays out of the content (as in ChatOpenAI) in ``additional_kwargs["reasoning_content"]``."""
    reasoning = message.additional_kwargs.get("reasoning_content")
    return content_thinking(message.content) + (reasoning if isinstance(reasoning, str) else "")


def merge_content(left: Content, right: Content) -> Content:
    """langchain-core's ``merge_content``, quirks included: text before blocks stays a string item (even
    ``""``), text after them extends a trailing string item or is appended, and is lost on an empty list."""
    if isinstance(left, str):
        return left + right if isinstance(right, str) else [left, *right]
    if isinstance(right, list):
        return merge_lists(left, right)
    if left and isinstance(left[-1], str):
        return [*left[:-1], left[-1] + right]
    return [*left, right] if left and right else list(left)


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
    """The usage of a sum of chunks: added up, in the key order LangChain's validation gives a built chunk."""
    if left is None or right is None:
        usage = right if left is None else left
        return None if usage is None else in_declared_order(usage)
    return in_declared_order(added(left, right))


def tool_call_chunk(name: str | None, args: str | None, ident: str | None, index: int | None) -> dict[str, Any]:
    return {"name": name, "args": args, "id": ident, "index": index, "type": "tool_call_chunk"}


def tool_calls_from_chunks(chunks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tool calls and invalid tool calls that tool-call chunks make so far (partial JSON arguments
    completed, as LangChain parses them while they stream)."""
    calls, invalid = [], []
    for chunk in chunks:
        raw = chunk.get("args")
        try:
            args = parse_partial_json(raw) if raw else {}
        except (ValueError, TypeError):
            args = None
        if isinstance(args, dict):
            calls.append({"name": chunk.get("name") or "", "args": args, "id": chunk.get("id"), "type": "tool_call"})
        else:
            name, ident = chunk.get("name"), chunk.get("id")
            invalid.append({"name": name, "args": raw, "id": ident, "error": None, "type": "invalid_tool_call"})
    return calls, invalid


MessageInput = str | list[Any] | tuple[Any, ...]

_ROLES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "user": HumanMessage,
    "system": SystemMessage,
    "ai": AIMessage,
    "assistant": AIMessage,
    "tool": ToolMessage,
}


def to_messages(value: MessageInput | BaseMessage) -> list[BaseMessage]:
    """Normalise a prompt: a string, a message, or a list of messages / (role, content) pairs."""
    messages: list[BaseMessage] = []
    for item in [value] if isinstance(value, str | BaseMessage) else value:
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
    for message in messages:
        _check_utf8(message)
    return messages


def _check_utf8(message: BaseMessage) -> None:
    """Refuse text no request body can carry: lone surrogates, which is how Python keeps undecodable bytes."""
    try:
        json.dumps(message.content, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"the {message.type} message is not valid UTF-8 text (it holds undecodable bytes)",
            "decode the input as UTF-8 first",
        ) from None


def _from_role(role: str, content: Content) -> BaseMessage:
    try:
        cls = _ROLES[role]
    except KeyError:
        raise ValueError(f"unknown message role {role!r} (use one of: {', '.join(_ROLES)})") from None
    return cls(content=content)


def message_from_dict(data: dict[str, Any]) -> BaseMessage:
    """A message from its ``to_dict()`` (as the history keeps it): the inverse, for the fields that matter."""
    kind = _ROLES.get(data.get("type", ""), AIMessage if data.get("type") == "AIMessageChunk" else None)
    if kind is None:
        raise ValueError(f"unknown message type {data.get('type')!r}")
    known = {name: data[name] for name in kind.__dataclass_fields__ if name in data}
    if kind is AIMessage:
        known.pop("tool_call_chunks", None)
    return kind(**known)
