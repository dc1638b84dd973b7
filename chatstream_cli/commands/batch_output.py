"""Where a batch's results go, its progress bar, and what it says after a Ctrl-C."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from ..batch.job import BatchInput
    from ..batch.runner import BatchCounts
    from ..render.progress import BatchProgress


@contextmanager
def output(path: Path | None, *, append: bool) -> Iterator[BinaryIO]:
    if path is None:
        yield sys.stdout.buffer
        return
    with path.open("ab" if append else "wb") as out:
        yield out


def progress_bar(label: str, quiet: bool) -> BatchProgress | None:
    from ..render.spinner import stderr_is_terminal

    if quiet or not stderr_is_terminal():
        return None
    from ..render.progress import BatchProgress

    return BatchProgress(label)


@contextmanager
def showing(progress: BatchProgress | None, counts: BatchCounts) -> Iterator[Callable[[], None] | None]:
    """The progress bar while the batch runs; stopped (and left on screen) however the batch ends."""
    if progress is None:
        yield None
        return
    progress.update(counts)
    progress.start()
    try:
        yield lambda: progress.update(counts)
    finally:
        progress.update(counts)
        progress.stop()


@contextmanager
def interrupt_note(where: BatchInput, counts: BatchCounts) -> Iterator[None]:
    """After Ctrl-C, say how to finish the job (exit 130 follows)."""
    try:
        yield
    except KeyboardInterrupt:
        written = counts.done + counts.failed
        if where.out is not None:
            hint = f"{written:,} results are in {where.out}; rerun with --resume to finish the batch"
        else:
            hint = f"{written:,} results were written; with --out FILE, --resume finishes a batch"
        print(f"chatstream: interrupted: {hint}", file=sys.stderr)
        raise
