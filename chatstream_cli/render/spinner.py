"""The spinner on stderr while waiting for the first token: the model, the seconds waited, and the
provider's notices (retries, waits). Nothing at all when stderr is not a terminal. No Rich here:
the spinner also runs in front of the plain view, which must stay light."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from ..messages import AIMessageChunk, content_text, thinking_text
from . import Renderer

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
_CLEAR_LINE = "\r\x1b[2K"


def stderr_is_terminal() -> bool:
    """Whether stderr can show a spinner: a terminal that understands cursor control."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _frames_for(out: TextIO) -> str:
    try:
        FRAMES.encode(out.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return ASCII_FRAMES
    return FRAMES


def _width_of(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns or 80  # a pty may not know its size
    except (AttributeError, ValueError, OSError):
        return 80


class Spinner:
    """``⠹ anthropic:claude-haiku-4-5 · 1.4 s · rate limited; retrying in 2 s``, redrawn in place.

    The first frame waits ``delay`` seconds, so a fast reply never flashes a spinner.
    """

    def __init__(self, label: str, out: TextIO | None = None, interval: float = 0.08, delay: float = 0.1) -> None:
        self.label = label
        self.out = out or sys.stderr
        self.interval = interval
        self.delay = delay
        self.frames = _frames_for(self.out)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._notice = ""
        self._drawn = False

    @property
    def spinning(self) -> bool:
        return self._thread is not None and not self._stopped.is_set()

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="chatstream-spinner", daemon=True)
        self._thread.start()

    def notice(self, text: str) -> None:
        """A provider notice: shown in the spinner while it spins, else as a line of its own."""
        with self._lock:
            if self.spinning:
                self._notice = text
                return
        self._write(f"chatstream: {text}\n")

    def stop(self) -> None:
        """Stop and leave the line empty for what comes next."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._drawn:
                self._write(_CLEAR_LINE)
                self._drawn = False

    def _run(self) -> None:
        frame = 0
        while not self._stopped.wait(self.delay if frame == 0 else self.interval):
            with self._lock:
                if self._stopped.is_set():
                    return
                self._drawn = self._write(_CLEAR_LINE + self._line(frame))
            frame += 1

    def _line(self, frame: int) -> str:
        elapsed = time.monotonic() - self._started
        parts = [self.label, f"{elapsed:.1f} s", self._notice] if self._notice else [self.label, f"{elapsed:.1f} s"]
        line = self.frames[frame % len(self.frames)] + " " + " · ".join(parts)
        return line[: max(_width_of(self.out) - 1, 1)]  # one row, or \r could not reach its start

    def _write(self, text: str) -> bool:
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):  # stderr went away: the spinner is not worth an error
            self._stopped.set()
            return False
        return True


class SpinnerRenderer:
    """Wraps the stdout renderer: the spinner from the request until the first token."""

    def __init__(self, inner: Renderer, spinner: Spinner) -> None:
        self.inner = inner
        self.spinner = spinner

    def start(self) -> None:
        self.inner.start()
        self.spinner.start()

    def chunk(self, chunk: AIMessageChunk) -> None:
        if self.spinner.spinning and (content_text(chunk.content) or thinking_text(chunk)):
            self.spinner.stop()
        self.inner.chunk(chunk)

    def finish(self, reply: AIMessageChunk) -> None:
        self.spinner.stop()
        self.inner.finish(reply)

    def abort(self, error: BaseException) -> None:
        self.spinner.stop()
        self.inner.abort(error)
