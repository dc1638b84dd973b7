"""What identifies one run: its UUID v7, the chunk id made from it, and the chunk that closes a stream."""

from __future__ import annotations

import os
import time
import uuid

from .messages import AIMessageChunk


def uuid7() -> str:
    """A time-ordered UUID v7 string, as langchain-core uses for run ids."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76 | ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & (2**62 - 1))
    return str(uuid.UUID(int=value))


def chunk_id(run_id: str) -> str:
    return f"lc_run--{run_id}"


def closing_chunk(ident: str, list_content: bool) -> AIMessageChunk:
    """The empty ``chunk_position="last"`` chunk langchain-core appends when a provider did not."""
    return AIMessageChunk(content=[] if list_content else "", id=ident, chunk_position="last")
