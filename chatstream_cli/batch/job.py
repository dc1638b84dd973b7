"""One ``chatstream batch FILE`` run on this machine: the input, an earlier ``--out`` to resume, the results.

The input is read twice when it is a file (once to check every line and count the prompts, so nothing
is sent for a file with a bad line 900 and the progress bar knows its total), once when it is a pipe.
Results go out in input order, one whole line each, flushed as soon as their turn comes.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import ExitCode, UsageError
from ..render.json import json_line
from .input import BatchItem, read_items
from .results import BatchResult, batch_exit_code
from .resume import Earlier, drop_failures, pending, read_earlier
from .runner import BatchCounts, ModelFor, Notice, ToolChainSettings, in_input_order, run_batch


@dataclass(frozen=True, slots=True)
class BatchInput:
    """Where the prompts come from and where the results go."""

    source: Path | None  # None: stdin
    out: Path | None  # None: stdout
    resume: bool = False
    retry_failed: bool = False


def check_input(request: BatchInput) -> None:
    """Usage errors before anything is read: resuming needs a file to resume."""
    if (request.resume or request.retry_failed) and request.out is None:
        flag = "--resume" if request.resume else "--retry-failed"
        raise UsageError(f"{flag} needs --out FILE", "it reads the results an earlier run wrote there")
    if request.out is not None and request.out.is_dir():
        raise UsageError(f"--out {request.out} is a directory", "give a file name")
    resuming = request.resume or request.retry_failed
    if request.out is not None and not resuming and request.out.exists() and request.out.stat().st_size:
        raise UsageError(
            f"{request.out} already holds results", "add --resume to finish that batch, or choose another --out file"
        )
    if request.source is not None and not request.source.exists():
        raise UsageError(f"no such file: {request.source}", "give a file of prompts, or - for stdin")


def earlier_results(request: BatchInput) -> Earlier:
    """What the ``--out`` file already holds; with ``--retry-failed`` its failures are removed from it first."""
    if request.out is None or not (request.resume or request.retry_failed):
        return Earlier()
    earlier = read_earlier(request.out)
    if request.retry_failed:
        drop_failures(request.out, earlier)
    return earlier


def prompts(request: BatchInput, stdin: BinaryIO, earlier: Earlier, counts: BatchCounts) -> Iterator[BatchItem]:
    """The prompts still to run, as a stream; a regular file is checked whole first, and ``counts.total`` set."""
    if request.source is None or not _regular(request.source):
        source = stdin if request.source is None else request.source.open("rb")
        return pending(read_items(source), earlier, request.retry_failed, counts)
    with request.source.open("rb") as lines:
        counts.total = sum(1 for item in read_items(lines) if not earlier.skips(item, request.retry_failed))
    return pending(read_items(_lines(request.source)), earlier, request.retry_failed, counts)


def _regular(path: Path) -> bool:
    return stat.S_ISREG(path.stat().st_mode)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as lines:
        yield from lines


def run_local(
    items: Iterator[BatchItem],
    model_for: ModelFor,
    out: BinaryIO,
    counts: BatchCounts,
    *,
    concurrency: int,
    retries: int,
    system: str | None,
    on_change: Callable[[], None] | None = None,
    on_notice: Notice | None = None,
    tools: ToolChainSettings | None = None,
    on_result: Callable[[BatchResult], None] | None = None,
) -> ExitCode:
    """Run the prompts here, writing each result line to ``out`` in input order; the batch's exit code."""
    results = run_batch(
        items,
        model_for,
        concurrency=concurrency,
        retries=retries,
        system=system,
        counts=counts,
        on_change=on_change,
        on_notice=on_notice,
        tools=tools,
    )
    return batch_exit_code(asyncio.run(write_in_order(results, out, on_result)))


async def write_in_order(
    results: AsyncIterator[BatchResult], out: BinaryIO, on_result: Callable[[BatchResult], None] | None = None
) -> set[int]:
    """Write every result as one line, in input order; the exit codes of the failures. Each result goes to
    ``on_result`` first (the history's record of it, which adds its ``cid`` to the line)."""
    failed: set[int] = set()
    async with aclosing(in_input_order(results)) as ordered:
        async for result in ordered:
            if on_result is not None:
                on_result(result)
            out.write(json_line(result.line))
            out.flush()
            if result.error is not None:
                failed.add(result.error["exit_code"])
    return failed
