"""Drives a model for one reply and feeds every chunk to a renderer: stream, astream or invoke."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from enum import StrEnum

from .messages import AIMessageChunk, BaseMessage
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
            reply = asyncio.run(_consume(model.astream(messages, run_id=run_id), renderer))
        elif mode is Mode.INVOKE:
            reply = as_chunk(model.invoke(messages, run_id=run_id))
            renderer.chunk(reply)
        else:
            reply = AIMessageChunk()
            for chunk in model.stream(messages, run_id=run_id):
                renderer.chunk(chunk)
                reply = reply + chunk
    except BaseException as exc:
        renderer.abort(exc)
        raise
    renderer.finish(reply)
    return reply


async def _consume(chunks: AsyncIterator[AIMessageChunk], renderer: Renderer) -> AIMessageChunk:
    reply = AIMessageChunk()
    async for chunk in chunks:
        renderer.chunk(chunk)
        reply = reply + chunk
    return reply
