"""LangChain ``astream_events(version="v2")`` events for one chat-model run, as plain dicts.

Every event has LangChain's keys in LangChain's order (protocols.md §3.1), so ``json.dumps`` of
it (messages serialised by ``to_dict()``, i.e. pydantic's ``model_dump()``) is the line LangChain
would print. chatstream adds one event LangChain lacks, ``on_chat_model_error``, written by the
CLI after the events that stood when a run failed (events.md); ``astream_events`` itself raises,
as LangChain's does. A tool run's events (:class:`ToolEventRun`) are those of LangChain's tools.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any, Protocol

from .errors import ChatstreamError, ExitCode, Interrupted
from .messages import AIMessage, AIMessageChunk, BaseMessage, ChunkSum, HumanMessage
from .runs import closing_chunk, uuid7


class ChatModel(Protocol):
    """What a run's events need of a model (runnable.ChatModel has it; events know no class of its)."""

    event_name: str

    def ls_params(self) -> dict[str, Any]: ...

    def stream(self, input: Any, *, run_id: str | None = None) -> Iterator[AIMessageChunk]: ...

    def astream(self, input: Any, *, run_id: str | None = None) -> AsyncIterator[AIMessageChunk]: ...


START = "on_chat_model_start"
STREAM = "on_chat_model_stream"
END = "on_chat_model_end"
ERROR = "on_chat_model_error"
TOOL_START = "on_tool_start"
TOOL_END = "on_tool_end"
TOOL_ERROR = "on_tool_error"

Event = dict[str, Any]

_CHUNK_MARK = "<chunk>"


class EventRun:
    """The events of one run. What every event shares (run id, name, metadata) is fixed once, and
    the JSON around a stream event's chunk is serialised once, so a line costs one chunk dump."""

    def __init__(self, model: ChatModel, input: Any, run_id: str | None = None, *, streaming: bool = True) -> None:
        self.run_id = run_id or uuid7()
        self.name = model.event_name
        self.metadata = model.ls_params()
        self.input = input
        #: False for a run without streaming (``--no-stream``): start and end events only.
        self.streaming = streaming
        #: Whether the stream ended with the closing chunk langchain-core appends (see end_output).
        self.closed_by_core = False
        template = to_json(self._stream_event(_CHUNK_MARK))
        # The chunk comes after everything variable (name, metadata) in a stream event, so its
        # placeholder is the last occurrence of the mark.
        self._stream_head, _, self._stream_tail = template.rpartition(json.dumps(_CHUNK_MARK))

    # -- events as dicts (the Python API) --------------------------------------------------

    def start(self) -> Event:
        return {
            "event": START,
            "data": {"input": self.input},
            "name": self.name,
            "tags": [],
            "run_id": self.run_id,
            "metadata": dict(self.metadata),
            "parent_ids": [],
        }

    def stream(self, chunk: AIMessageChunk) -> Event:
        self._note(chunk)
        return self._stream_event(chunk)

    def end(self, output: AIMessage) -> Event:
        return {
            "event": END,
            "data": {"output": output},
            "run_id": self.run_id,
            "name": self.name,
            "tags": [],
            "metadata": dict(self.metadata),
            "parent_ids": [],
        }

    def error(self, exc: BaseException) -> Event:
        return {
            "event": ERROR,
            "run_id": self.run_id,
            "name": self.name,
            "tags": [],
            "metadata": dict(self.metadata),
            "data": {"error": error_info(exc)},
            "parent_ids": [],
        }

    def end_output(self, total: AIMessageChunk) -> AIMessageChunk:
        """LangChain's end output: the sum of the provider's chunks, which leaves out the closing
        chunk langchain-core appends (so ``chunk_position`` stays null when it had to append one)."""
        return replace(total, chunk_position=None) if self.closed_by_core else total

    # -- events as JSON lines (the CLI) ----------------------------------------------------

    def start_line(self) -> str:
        return to_json(self.start())

    def stream_line(self, chunk: AIMessageChunk) -> str:
        self._note(chunk)
        return self._stream_head + json.dumps(chunk.to_dict()) + self._stream_tail

    def end_line(self, output: AIMessage) -> str:
        return to_json(self.end(output))

    def error_line(self, exc: BaseException) -> str:
        return to_json(self.error(exc))

    def _stream_event(self, chunk: Any) -> Event:
        return {
            "event": STREAM,
            "run_id": self.run_id,
            "name": self.name,
            "tags": [],
            "metadata": dict(self.metadata),
            "data": {"chunk": chunk},
            "parent_ids": [],
        }

    def _note(self, chunk: AIMessageChunk) -> None:
        if chunk.chunk_position != "last" or chunk.id is None:
            return
        if chunk == closing_chunk(chunk.id, isinstance(chunk.content, list)):
            self.closed_by_core = True


class ToolEventRun:
    """The events of one tool run, as ``StructuredTool.astream_events(tool_call, version="v2")`` gives them:
    ``on_tool_start`` with the call, then ``on_tool_end`` with the ToolMessage, or ``on_tool_error`` when
    the tool raised (the error as ``{"type", "message"}``, where LangChain has the exception object)."""

    def __init__(self, call: dict[str, Any], run_id: str | None = None) -> None:
        self.call = call
        self.name = call.get("name") or ""
        self.run_id = run_id or uuid7()

    def start(self) -> Event:
        return {
            "event": TOOL_START,
            "data": {"input": self.call},
            "name": self.name,
            "tags": [],
            "run_id": self.run_id,
            "metadata": {},
            "parent_ids": [],
        }

    def end(self, message: BaseMessage) -> Event:
        return {"event": TOOL_END, "data": {"output": message}, **self._common()}

    def error(self, exc: BaseException) -> Event:
        data = {
            "error": {"type": type(exc).__name__, "message": str(exc)},
            "input": self.call.get("args"),
            "tool_call_id": self.call.get("id"),
        }
        return {"event": TOOL_ERROR, "data": data, **self._common()}

    def _common(self) -> Event:
        return {"run_id": self.run_id, "name": self.name, "tags": [], "metadata": {}, "parent_ids": []}

    def start_line(self) -> str:
        return to_json(self.start())

    def end_line(self, message: BaseMessage) -> str:
        return to_json(self.end(message))

    def error_line(self, exc: BaseException) -> str:
        return to_json(self.error(exc))


def to_json(event: Event) -> str:
    """The line ``json.dumps`` prints for a LangChain event, messages as ``model_dump()``."""
    return json.dumps(event, default=_message_dict)


def _message_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseMessage):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def error_info(exc: BaseException) -> dict[str, Any]:
    """``data.error`` of ``on_chat_model_error``: type, message, HTTP status and exit code."""
    if isinstance(exc, KeyboardInterrupt):
        exc = Interrupted.of(exc)
    if isinstance(exc, ChatstreamError):
        message = exc.api_message or exc.message
        return {"type": exc.error_type, "message": message, "status": exc.status, "exit_code": int(exc.exit_code)}
    return {
        "type": "internal_error",
        "message": f"unexpected {type(exc).__name__}: {exc}",
        "status": None,
        "exit_code": int(ExitCode.BUG),
    }


def event_input(messages: list[BaseMessage]) -> str | list[BaseMessage]:
    """``data.input`` for the CLI's messages: the prompt string alone, else the whole list
    (a system prompt or history), as LangChain echoes whichever input it was given."""
    if len(messages) == 1 and isinstance(messages[0], HumanMessage) and isinstance(messages[0].content, str):
        return messages[0].content
    return messages


_NONE = type(None)
# The fields an AIMessageChunk is rebuilt from, with the JSON types each may have.
_CHUNK_FIELDS: dict[str, tuple[type, ...]] = {
    "content": (str, list),
    "additional_kwargs": (dict,),
    "response_metadata": (dict,),
    "name": (str, _NONE),
    "id": (str, _NONE),
    "tool_calls": (list,),
    "invalid_tool_calls": (list,),
    "usage_metadata": (dict, _NONE),
    "tool_call_chunks": (list,),
    "chunk_position": (str, _NONE),
}


def chunk_from_dict(data: Any) -> AIMessageChunk:
    """The AIMessageChunk of a ``model_dump()`` dict (an event's chunk or output); ValueError if it is none."""
    if not isinstance(data, dict) or "content" not in data:
        raise ValueError("a message must be a JSON object with a content")
    fields = {name: data[name] for name in _CHUNK_FIELDS if name in data}
    for name, value in fields.items():
        if not isinstance(value, _CHUNK_FIELDS[name]):
            raise ValueError(f"a message's {name} cannot be {json.dumps(value)[:40]}")
    return AIMessageChunk(**fields)


def check_version(version: str) -> None:
    if version != "v2":
        raise ValueError(f'astream_events supports version="v2" only, not {version!r}')


def astream_events(model: ChatModel, input: Any, *, version: str = "v2") -> AsyncIterator[Event]:
    """LangChain's ``astream_events`` for a model called directly: start, a stream event per chunk
    of ``model.astream``, end. On failure the events so far stand and the error propagates."""
    check_version(version)
    return _astream_events(EventRun(model, input), model)


async def _astream_events(run: EventRun, model: ChatModel) -> AsyncIterator[Event]:
    yield run.start()
    total = ChunkSum()
    # aclosing: a consumer that stops early closes the model's stream (and its connection) at once.
    async with aclosing(model.astream(run.input, run_id=run.run_id)) as chunks:
        async for chunk in chunks:
            yield run.stream(chunk)
            total.add(chunk)
    yield run.end(run.end_output(total.total()))


def stream_events(model: ChatModel, input: Any, *, version: str = "v2") -> Iterator[Event]:
    """The synchronous counterpart of :func:`astream_events`, driven by ``model.stream``."""
    check_version(version)
    return _stream_events(EventRun(model, input), model)


def _stream_events(run: EventRun, model: ChatModel) -> Iterator[Event]:
    yield run.start()
    total = ChunkSum()
    for chunk in model.stream(run.input, run_id=run.run_id):
        yield run.stream(chunk)
        total.add(chunk)
    yield run.end(run.end_output(total.total()))
