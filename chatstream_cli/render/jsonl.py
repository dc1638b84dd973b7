"""``--events``: LangChain ``astream_events`` v2 events, one JSON line each, on a binary stream.

Each line goes out in one ``write`` of the whole line and its newline, then a flush, so a reader
sees every event as it happens and no line is ever cut in half: an interruption leaves a line
either unwritten or still in the buffer, and the error line that follows flushes it first.
"""

from __future__ import annotations

from typing import BinaryIO

from ..events import EventRun
from ..messages import AIMessageChunk


class JsonlRenderer:
    """Writes start, one stream event per chunk, then end, or an ``on_chat_model_error`` line."""

    def __init__(self, out: BinaryIO, run: EventRun) -> None:
        self.out = out
        self.run = run

    def start(self) -> None:
        self.write(self.run.start_line())

    def chunk(self, chunk: AIMessageChunk) -> None:
        if self.run.streaming:
            self.write(self.run.stream_line(chunk))

    def finish(self, reply: AIMessageChunk) -> None:
        # Without streaming the reply is what invoke returned: an AIMessage, as LangChain reports it.
        output = self.run.end_output(reply) if self.run.streaming else reply.to_message()
        self.write(self.run.end_line(output))

    def abort(self, error: BaseException) -> None:
        if not isinstance(error, BrokenPipeError):  # nobody is reading any more
            self.write(self.run.error_line(error))

    def write(self, line: str) -> None:
        self.out.write((line + "\n").encode())
        self.out.flush()
