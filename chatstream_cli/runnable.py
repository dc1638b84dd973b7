"""The Runnable-style ChatModel base class.

A provider overrides whichever of ``_generate``, ``_stream``, ``_agenerate`` and ``_astream``
it can do natively; the base class derives every public method from them, as LangChain's
defaults do: a model with only a whole-reply call streams one chunk holding the whole reply,
and a model with only a sync stream is streamed asynchronously from a worker thread.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from .defaults import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from .messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChunkSum,
    MessageInput,
    ai_fields,
    sum_chunks,
    to_messages,
)
from .runs import chunk_id, closing_chunk, uuid7

if TYPE_CHECKING:
    from .schema import OutputSchema


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Everything a provider needs besides the messages, resolved once by the caller."""

    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    thinking: bool = False
    timeout: float | None = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    #: The JSON Schema the reply must satisfy (``--schema``), sent the provider's own way.
    schema: OutputSchema | None = None
    #: Headers added to every request (--header), beside config.toml's for the provider; they win.
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    #: Receives progress notices from a provider (retries, waits); the CLI shows them.
    on_notice: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    #: Called as each HTTP request goes out (the --stats clock starts there, not before an SDK loads).
    on_request: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: The tools the model may call (toolspec.ToolSpec), in the provider's form in each request.
    tools: tuple[Any, ...] = ()
    #: None: the model chooses; "any": it must call one; a tool's name: it must call that one.
    tool_choice: str | None = None


class ChatModel:
    """Base class of every chat model: invoke, ainvoke, stream, astream, batch, abatch."""

    provider: ClassVar[str] = "base"
    #: The LangChain class that would have produced the same events.
    event_name: ClassVar[str] = "ChatModel"
    #: Whether the events' ``ls_stop`` shows ``--stop``: ChatOpenAI's does, ChatAnthropic's leaves out a stop
    #: given to the model rather than to the call.
    ls_stop_shown: ClassVar[bool] = True

    def __init__(self, model: str, settings: ModelSettings | None = None, **overrides: Any) -> None:
        self.model = model
        base = settings or ModelSettings()
        if overrides:
            known = {name: overrides.pop(name) for name in list(overrides) if name in ModelSettings.__slots__}
            if "stop" in known and known["stop"] is not None:
                known["stop"] = tuple([known["stop"]] if isinstance(known["stop"], str) else known["stop"])
            known["options"] = {**base.options, **known.get("options", {}), **overrides}
            base = replace(base, **known)
        self.settings = base

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    # -- what providers override -------------------------------------------------------

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        if not self._overrides("_stream"):
            raise NotImplementedError(f"{type(self).__name__} implements neither _generate nor _stream")
        return sum_chunks(self._stream(messages)).to_message()

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        message = self._generate(messages)
        yield as_chunk(message)

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        if self._overrides("_astream"):
            return await _asum_chunks(self._astream(messages))
        import asyncio  # here, not at the top: it costs start-up time that sync replies and --help do not need

        return await asyncio.to_thread(self._generate, messages)

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        if self._overrides("_stream"):
            async for chunk in _iterate_in_thread(self._stream(messages)):
                yield chunk
        else:
            yield as_chunk(await self._agenerate(messages))

    # -- LangChain-style metadata --------------------------------------------------------

    def ls_params(self) -> dict[str, Any]:
        """LangSmith parameters, in LangChain's order, for event metadata."""
        params: dict[str, Any] = {
            "ls_provider": self.provider,
            "ls_model_name": self.model,
            "ls_model_type": "chat",
            "ls_temperature": self.settings.temperature,
        }
        if self.settings.max_tokens is not None:
            params["ls_max_tokens"] = self.settings.max_tokens
        if self.settings.stop and self.ls_stop_shown:
            params["ls_stop"] = list(self.settings.stop)
        return params

    # -- the public Runnable interface ---------------------------------------------------

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None) -> ChatModel:
        """This model with tools it may call (functions, schema dicts or ToolSpecs), as LangChain's
        ``bind_tools``: ``stream`` then yields ``tool_call_chunks`` and a reply's ``tool_calls``."""
        from .toolspec import as_spec

        bound = copy.copy(self)
        bound.settings = replace(self.settings, tools=tuple(as_spec(tool) for tool in tools), tool_choice=tool_choice)
        return bound

    def invoke(self, input: MessageInput | BaseMessage, *, run_id: str | None = None) -> AIMessage:
        return _with_run_id(self._generate(to_messages(input)), run_id)

    async def ainvoke(self, input: MessageInput | BaseMessage, *, run_id: str | None = None) -> AIMessage:
        return _with_run_id(await self._agenerate(to_messages(input)), run_id)

    def stream(self, input: MessageInput | BaseMessage, *, run_id: str | None = None) -> Iterator[AIMessageChunk]:
        run = _RunChunks(run_id)
        for chunk in self._stream(to_messages(input)):
            yield run.stamp(chunk)
        yield from run.closing()

    async def astream(
        self, input: MessageInput | BaseMessage, *, run_id: str | None = None
    ) -> AsyncIterator[AIMessageChunk]:
        run = _RunChunks(run_id)
        # aclosing: when our consumer stops, the provider's stream (and its connection) closes now, not at GC.
        async with aclosing(self._astream(to_messages(input))) as chunks:
            async for chunk in chunks:
                yield run.stamp(chunk)
        for chunk in run.closing():
            yield chunk

    def astream_events(
        self, input: MessageInput | BaseMessage, *, version: str = "v2"
    ) -> AsyncIterator[dict[str, Any]]:
        """LangChain's ``astream_events`` v2: a start event, one per chunk, an end event (events.md)."""
        from .events import astream_events

        return astream_events(self, input, version=version)

    def stream_events(self, input: MessageInput | BaseMessage, *, version: str = "v2") -> Iterator[dict[str, Any]]:
        """The synchronous counterpart of ``astream_events``, driven by ``stream``."""
        from .events import stream_events

        return stream_events(self, input, version=version)

    def batch(
        self,
        inputs: Sequence[MessageInput | BaseMessage],
        config: dict[str, Any] | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
    ) -> list[AIMessage | BaseException]:
        """Invoke on every input concurrently (threads); results come back in input order.

        As in LangChain, ``config={"max_concurrency": N}`` limits the threads too; the keyword wins.
        """
        if not inputs:
            return []
        limit = _max_concurrency(config, max_concurrency)
        workers = max(1, min(limit or len(inputs), len(inputs)))

        def run(item: MessageInput | BaseMessage) -> AIMessage | BaseException:
            try:
                return self.invoke(item)
            except Exception as exc:
                if return_exceptions:
                    return exc
                raise

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(run, inputs))

    async def abatch(
        self,
        inputs: Sequence[MessageInput | BaseMessage],
        config: dict[str, Any] | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
    ) -> list[AIMessage | BaseException]:
        """Await ainvoke on every input, at most ``max_concurrency`` (or ``config["max_concurrency"]``) at once,
        in input order, over one connection pool."""
        import asyncio

        limit = asyncio.Semaphore(_max_concurrency(config, max_concurrency) or max(len(inputs), 1))

        async def run(item: MessageInput | BaseMessage) -> AIMessage:
            async with limit:
                return await self.ainvoke(item)

        async with self.async_session():
            return await asyncio.gather(*(run(item) for item in inputs), return_exceptions=return_exceptions)

    def async_session(self) -> AbstractAsyncContextManager[None]:
        """While open, this model's async calls share one connection pool (``abatch`` and ``chatstream batch``
        open one); without it each call makes its own client."""
        return nullcontext()

    def with_structured_output(self, schema: Any, *, multi: bool = False) -> Any:
        """This model answering data that satisfies ``schema`` (a JSON Schema dict, or what ``--schema`` takes):
        ``invoke`` returns it, ``stream`` yields it as it grows, as LangChain's ``with_structured_output``."""
        from .schema.structured import StructuredOutput, output_schema_of

        output = output_schema_of(schema, multi=multi)
        return StructuredOutput(self.rebuilt(replace(self.settings, schema=output)), output)

    def rebuilt(self, settings: ModelSettings) -> ChatModel:
        """The same model with other settings."""
        return type(self)(self.model, settings)

    def _overrides(self, method: str) -> bool:
        return getattr(type(self), method) is not getattr(ChatModel, method)


class _RunChunks:
    """The chunks of one streamed run: each gets the run's id, and the closing chunk follows if none was last."""

    __slots__ = ("closed", "ident", "list_content")

    def __init__(self, run_id: str | None) -> None:
        self.ident = chunk_id(run_id or uuid7())
        self.closed = False
        self.list_content = False

    def stamp(self, chunk: AIMessageChunk) -> AIMessageChunk:
        chunk.id = self.ident
        self.closed = self.closed or chunk.chunk_position == "last"
        self.list_content = isinstance(chunk.content, list)  # the closing chunk's content is like the last one's
        return chunk

    def closing(self) -> tuple[AIMessageChunk, ...]:
        """LangChain's closing chunk when the provider marked none ``last``; nothing otherwise."""
        return () if self.closed else (closing_chunk(self.ident, self.list_content),)


def _max_concurrency(config: dict[str, Any] | None, given: int | None) -> int | None:
    """The keyword, else LangChain's ``config["max_concurrency"]``, else None (no limit)."""
    if given is not None:
        return given
    return (config or {}).get("max_concurrency")


def _with_run_id(message: AIMessage, run_id: str | None) -> AIMessage:
    """A whole reply gets the id of its run's single chunk, unless the provider gave it one."""
    message.id = message.id or chunk_id(run_id or uuid7()) + "-0"
    return message


def as_chunk(message: AIMessage) -> AIMessageChunk:
    """A whole reply as its one and last chunk."""
    return AIMessageChunk(**ai_fields(message), chunk_position="last")


async def _asum_chunks(chunks: AsyncIterator[AIMessageChunk]) -> AIMessage:
    total = ChunkSum()
    async for chunk in chunks:
        total.add(chunk)
    return total.total().to_message()


_DONE = object()


async def _iterate_in_thread(iterator: Iterator[AIMessageChunk]) -> AsyncIterator[AIMessageChunk]:
    """Drive a blocking iterator in a worker thread without blocking the event loop.

    Cancelling the consumer sets a flag the worker checks between items; it then closes the
    iterator in its own thread, so a provider's ``finally`` (closing its HTTP stream) runs.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody is listening any more
            stop.set()

    def pump() -> None:
        try:
            for item in iterator:
                if stop.is_set():
                    break
                put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            put(_DONE)

    worker = threading.Thread(target=pump, name="chatstream-stream", daemon=True)
    worker.start()
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()


@dataclass(slots=True)
class _Failure:
    error: BaseException
