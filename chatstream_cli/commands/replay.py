"""``chatstream replay FILE``: show an ``--events`` recording again as a live reply.

The recording's stream events become AIMessageChunks again and go to the renderer a live reply
would get (terminal or pipe, ``--delimiter``, ``--markdown/--raw``), so the text printed is the
text the original run printed. Events carry no timestamps, so the original pacing is not known:
chunks that carry text come at the built-in models' reading pace (40 a second) times ``--speed``,
and ``--speed 0`` replays at once. Reading is lazy, so ``chatstream --events ... | chatstream
replay -`` renders while the reply is still streaming.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from ..errors import ChatstreamError, UsageError
from ..events import END, ERROR, START, STREAM, chunk_from_dict
from ..messages import ChunkSum, content_text, thinking_text
from ..render import Renderer
from ..render.choose import choose_renderer
from .groups import subcommand_app
from .options import Delimiter, PlainHelpCommand
from .reporting import reporting

PACE_S = 0.025  # the built-in models' default pause between chunks
_WHAT_TO_DO = "replay reads the JSON lines written by chatstream --events"


def replay_command(
    source: Annotated[str, typer.Argument(metavar="FILE", help="An --events recording; '-' reads stdin.")],
    speed: Annotated[
        float,
        typer.Option(
            "--speed", min=0, metavar="N", help="Pace: 1 = 40 chunks a second, 2 = twice as fast, 0 = at once."
        ),
    ] = 1.0,
    delimiter: Delimiter = None,
    markdown: Annotated[
        bool, typer.Option("--markdown/--raw", help="On a terminal, render Markdown live or print raw text.")
    ] = True,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on stderr.")] = False,
) -> None:
    """Show an --events recording again as a live reply."""
    with reporting(debug), open_recording(source) as lines:
        replayer = Replayer(lambda: choose_renderer(delimiter, markdown), PACE_S / speed if speed else 0.0)
        replayer.play(lines, "stdin" if source == "-" else source)
        if replayer.recorded_error is not None:
            print(describe_recorded_error(replayer.recorded_error), file=sys.stderr)


@contextmanager
def open_recording(source: str) -> Iterator[Iterable[bytes]]:
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        recording = open(source, "rb")  # noqa: SIM115  (closed below; opening is what may fail)
    except OSError as exc:
        raise UsageError(
            f"cannot read {source}: {exc.strerror}", "give an --events recording, or - for stdin"
        ) from None
    with recording:
        yield recording


class Replayer:
    """Feeds each run of a recording to a fresh renderer, the way the driver feeds a live reply."""

    def __init__(self, new_renderer: Callable[[], Renderer], pause: float) -> None:
        self.new_renderer = new_renderer
        self.pause = pause
        self.renderer: Renderer | None = None
        self.reply = ChunkSum()
        self.streamed = False
        #: ``data.error`` of the last run that ended in an ``on_chat_model_error``.
        self.recorded_error: dict[str, Any] | None = None

    def play(self, lines: Iterable[bytes], name: str) -> None:
        try:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    self.handle(*parse_line(line, number, name))
            if self.renderer is not None:  # a recording cut short: show what it has
                self.renderer.finish(self.reply.total())
        except BaseException as exc:
            if self.renderer is not None:
                self.renderer.abort(exc)
            raise

    def handle(self, kind: str, payload: Any) -> None:
        if kind == START:
            self.begin()
        elif kind == STREAM:
            renderer = self.renderer or self.begin()
            if self.pause and (content_text(payload.content) or thinking_text(payload)):
                time.sleep(self.pause)
            renderer.chunk(payload)
            self.reply.add(payload)
            self.streamed = True
        elif kind == END:
            renderer = self.renderer or self.begin()
            if not self.streamed:  # a --no-stream recording: the whole reply at once
                renderer.chunk(payload)
            renderer.finish(payload)
            self.renderer = None
        elif kind == ERROR:
            renderer = self.renderer or self.begin()
            self.recorded_error = payload
            renderer.abort(ChatstreamError(str(payload.get("message", "")), error_type=str(payload.get("type"))))
            self.renderer = None
        # Events of other kinds carry nothing to show.

    def begin(self) -> Renderer:
        if self.renderer is not None:  # the previous run has no end event
            self.renderer.finish(self.reply.total())
        self.renderer = self.new_renderer()
        self.renderer.start()
        self.reply = ChunkSum()
        self.streamed = False
        return self.renderer


def parse_line(line: bytes, number: int, name: str) -> tuple[str, Any]:
    """The event kind of one recorded line and what it carries: a chunk, the output, or the error."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _bad_line(name, number, f"not JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError:
        raise _bad_line(name, number, "not UTF-8 text") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("event"), str)
        or not isinstance(event.get("data"), dict)
    ):
        raise _bad_line(name, number, 'not an event (a JSON object with "event" and "data")')
    kind, data = event["event"], event["data"]
    try:
        if kind == STREAM:
            return kind, chunk_from_dict(data.get("chunk"))
        if kind == END:
            return kind, chunk_from_dict(data.get("output"))
    except ValueError as exc:
        raise _bad_line(name, number, f"{kind} has no valid message: {exc}") from None
    if kind == ERROR and not isinstance(data.get("error"), dict):
        raise _bad_line(name, number, f"{kind} has no error object")
    return kind, data.get("error")


def _bad_line(name: str, number: int, reason: str) -> UsageError:
    return UsageError(f"{name} line {number} is {reason}", _WHAT_TO_DO)


def describe_recorded_error(error: dict[str, Any]) -> str:
    return (
        f"chatstream: the recorded reply ended early: {error.get('message')} "
        f"({error.get('type')}; the original run exited with {error.get('exit_code')})"
    )


app = subcommand_app("replay", replay_command, cls=PlainHelpCommand)
