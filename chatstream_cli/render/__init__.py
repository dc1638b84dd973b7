"""Renderers: each output mode consumes AIMessageChunks and writes the bytes for one destination.

A renderer never opens a connection and never decides an exit code; the CLI picks one with
``choose`` and the driver feeds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the package is imported for render.tty by every command, --help included
    from ..messages import AIMessageChunk


class Renderer(Protocol):
    def start(self) -> None:
        """Called just before the request is sent."""

    def chunk(self, chunk: AIMessageChunk) -> None:
        """Show one chunk as soon as it arrives."""

    def finish(self, reply: AIMessageChunk) -> None:
        """The reply completed; ``reply`` is the sum of its chunks."""

    def abort(self, error: BaseException) -> None:
        """The reply stopped early: keep what was shown and leave the terminal tidy."""
