"""Drives a model for one reply and feeds every chunk to a renderer: stream, astream or invoke."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from enum import StrEnum

from .errors import Terminated
from .messages import AIMessageChunk, BaseMessage, ChunkSum
from .render import Renderer
from .runnable import ChatModel, as_chunk


class Mode(StrEnum):
    STREAM = "stream"
    ASYNC = "async"
    INVOKE = "invoke"


def run_reply(
    model: ChatModel, messages: list[BaseMessage], renderer: Renderer, mode: Mode, run_id: str | None = None
) -> AIMessageChunk:
    """Show one reply; on any failure the renderer keeps what was shown and the error propagates."""
    try:
        renderer.start()
        if mode is Mode.ASYNC:
            import asyncio  # only here: importing it costs start-up time that sync replies do not need

            reply = asyncio.run(_consume(model.astream(messages, run_id=run_id), renderer))
        elif mode is Mode.INVOKE:
            reply = as_chunk(model.invoke(messages, run_id=run_id))
            renderer.chunk(reply)
        else:
            total = ChunkSum()
            for chunk in model.stream(messages, run_id=run_id):
                renderer.chunk(chunk)
                total.add(chunk)
            reply = total.total()
    except BaseException as exc:
        try:
            renderer.abort(exc)
        except OSError:
            if not isinstance(exc, Terminated):
                raise
            # the terminal went away (SIGHUP): the reply still ends as interrupted, to be recorded
        raise
    renderer.finish(reply)
    return reply


async def _consume(chunks: AsyncGenerator[AIMessageChunk, None], renderer: Renderer) -> AIMessageChunk:
    total = ChunkSum()
    # Close the stream here when the renderer fails (a Ctrl-C lands there too): left open, its nested
    # generators would be closed all at once by asyncio's shutdown, which fails and prints tracebacks.
    async with aclosing(chunks):
        async for chunk in chunks:
            renderer.chunk(chunk)
            total.add(chunk)
    return total.total()
