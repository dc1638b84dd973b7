"""The batch's progress bar on stderr (Rich's Progress), and its ``--stats`` totals line.

``12/200 ━━━━━━━━╺━━━━━━━━ 1 failed · 4 running · 120 in · 3,400 out · 8.1/s · 0:00:02 · ETA 0:00:23``.
Only on a terminal and without -q (the caller decides); ``counts`` is any object with ``total``, ``done``,
``failed``, ``running``, ``input_tokens``, ``output_tokens`` and ``started`` (a ``time.monotonic()`` value).
"""

from __future__ import annotations

import sys
from time import monotonic
from typing import Any


class BatchProgress:
    """A live progress bar on stderr; ``update`` it with the counts, ``stop`` it at the end."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(file=sys.stderr)
        self.progress = Progress(
            TextColumn("{task.description}"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[details]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task(label, total=None, details="", eta="-")

    def start(self) -> None:
        self.progress.start()

    def update(self, counts: Any) -> None:
        finished = counts.done + counts.failed
        self.progress.update(
            self.task, total=counts.total, completed=finished, details=details(counts), eta=eta(counts)
        )

    def notice(self, text: str) -> None:
        """A line above the bar (a rate limit slowing the batch down)."""
        self.console.print(f"chatstream: {text}", markup=False, highlight=False)

    def stop(self) -> None:
        self.progress.stop()


def details(counts: Any) -> str:
    return (
        f"{counts.failed:,} failed · {counts.running:,} running · "
        f"{counts.input_tokens:,} in · {counts.output_tokens:,} out · {rate(counts):.1f}/s"
    )


def rate(counts: Any) -> float:
    """Prompts finished a second so far."""
    elapsed = monotonic() - counts.started
    return (counts.done + counts.failed) / elapsed if elapsed > 0 else 0.0


def eta(counts: Any) -> str:
    finished = counts.done + counts.failed
    speed = rate(counts)
    if counts.total is None or not finished or speed <= 0:
        return "-"
    seconds = int(max(counts.total - finished, 0) / speed)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


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
