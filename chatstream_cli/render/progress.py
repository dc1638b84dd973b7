"""The batch's progress line on stderr (a Rich Live), and its ``--stats`` totals line.

``batch builtin:echo 12/200 ━━━━━━━━━━━━━━ 1 failed · 4 running · 120 in · 3,400 out · 8.1/s · 0:00:02 · ETA 0:00:23``;
narrower, it drops the bar first, then the label, the tokens, ...: done/total and failures stay from 40 columns up.
Only on a terminal and without -q (the caller decides); ``counts`` is any object with ``total``, ``done``,
``failed``, ``running``, ``input_tokens``, ``output_tokens`` and ``started`` (a ``time.monotonic()`` value).
"""

from __future__ import annotations

import sys
from time import monotonic
from typing import Any


class BatchProgress:
    """A live progress line on stderr; ``update`` it with the counts, ``stop`` it at the end."""

    def __init__(self, label: str) -> None:
        from rich.console import Console

        self.console = Console(file=sys.stderr)
        self.line = ProgressLine(label)
        self.live: Any = None

    def start(self) -> None:
        from rich.live import Live

        # Redrawn a few times a second, so that the elapsed time and the ETA move between results too.
        self.live = Live(self.line, console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def update(self, counts: Any) -> None:
        self.line.counts = counts

    def notice(self, text: str) -> None:
        """A line above the bar (a rate limit slowing the batch down)."""
        self.console.print(f"chatstream: {text}", markup=False, highlight=False)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class ProgressLine:
    """The progress line as wide as the terminal lets it be (a Rich renderable, drawn from the latest counts)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.counts: Any = None

    def __rich_console__(self, console: Any, options: Any) -> Any:
        if self.counts is not None:
            yield progress_text(self.label, self.counts, options.max_width)


#: What the line drops, first to last, when it is too wide: done/total and failures always stay.
_DROPPED_FIRST = ("bar", "label", "tokens", "elapsed", "rate", "running", "eta")
BAR_MIN = 10
_SEPARATOR = " · "


def progress_text(label: str, counts: Any, width: int) -> Any:
    """``label done/total bar failed · running · in · out · rate · elapsed · ETA`` in ``width`` columns,
    dropping parts in ``_DROPPED_FIRST`` order until it fits; the bar takes what the words leave."""
    from rich.text import Text

    kept = set(_DROPPED_FIRST)
    for dropped in (None, *_DROPPED_FIRST):
        kept.discard(dropped)
        head, tail = _words(label, counts, kept)
        room = width - len(head) - len(tail) - 2
        if "bar" not in kept:
            if len(head) + len(tail) + len(_SEPARATOR) <= width:
                break
        elif room >= BAR_MIN:
            break
    if "bar" not in kept:
        return Text(head + _SEPARATOR + tail)
    return Text.assemble(head + " ", _bar(counts, room), " " + tail)


def _words(label: str, counts: Any, kept: set[str]) -> tuple[str, str]:
    """The words before the bar and after it."""
    finished = counts.done + counts.failed
    total = f"{counts.total:,}" if counts.total is not None else "?"
    head = f"{label} {finished:,}/{total}" if "label" in kept else f"{finished:,}/{total}"
    parts = [f"{counts.failed:,} failed"]
    if "running" in kept:
        parts.append(f"{counts.running:,} running")
    if "tokens" in kept:
        parts += [f"{counts.input_tokens:,} in", f"{counts.output_tokens:,} out"]
    if "rate" in kept:
        parts.append(f"{rate(counts):.1f}/s")
    if "elapsed" in kept:
        parts.append(elapsed(counts))
    if "eta" in kept:
        parts.append(f"ETA {eta(counts)}")
    return head, _SEPARATOR.join(parts)


def _bar(counts: Any, width: int) -> Any:
    from rich.text import Text

    finished = counts.done + counts.failed
    share = min(finished / counts.total, 1.0) if counts.total else 0.0
    filled = int(width * share)
    return Text.assemble(("━" * filled, "bar.complete"), ("━" * (width - filled), "bar.back"))


def elapsed(counts: Any) -> str:
    return _clock(int(monotonic() - counts.started))


def _clock(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def rate(counts: Any) -> float:
    """Prompts finished a second so far."""
    elapsed = monotonic() - counts.started
    return (counts.done + counts.failed) / elapsed if elapsed > 0 else 0.0


def eta(counts: Any) -> str:
    finished = counts.done + counts.failed
    speed = rate(counts)
    if counts.total is None or not finished or speed <= 0:
        return "-"
    return _clock(int(max(counts.total - finished, 0) / speed))


def totals_line(counts: Any) -> str:
    """The ``--stats`` line at the end of a batch."""
    elapsed = monotonic() - counts.started
    parts = [f"{counts.done:,} completed", f"{counts.failed:,} failed"]
    if counts.skipped:
        parts.append(f"{counts.skipped:,} done before")
    if counts.limit is not None:
        parts.append(f"settled at {counts.limit} in flight")
    parts += [
        f"{counts.input_tokens:,} in",
        f"{counts.output_tokens:,} out",
        f"{elapsed:.2f} s",
        f"{rate(counts):.1f}/s",
    ]
    return "batch · " + " · ".join(parts)
