"""``--resume`` and ``--retry-failed``: what an earlier run already wrote to ``--out FILE``.

Results are written a whole line at a time, but a crash (or a full disk) can still leave half a line at
the end: that fragment is cut off before anything is appended, so FILE always ends in whole lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .input import BatchItem, id_key
from .runner import BatchCounts


@dataclass(slots=True)
class Earlier:
    """The ids (as :func:`~.input.id_key`) that FILE holds a result for, and those of them that failed."""

    done: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)

    def skips(self, item: BatchItem, retry_failed: bool) -> bool:
        key = id_key(item.id)
        return key in self.done or (key in self.failed and not retry_failed)


def read_earlier(path: Path) -> Earlier:
    """The results in ``path`` (none when it does not exist), after cutting off a half-written last line."""
    earlier = Earlier()
    if not path.exists():
        return earlier
    cut_partial_line(path)
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            result = _result(line, number, path)
            key = id_key(result["id"])
            (earlier.failed if "error" in result else earlier.done).add(key)
            if "error" not in result:
                earlier.failed.discard(key)
    return earlier


def _result(line: bytes, number: int, path: Path) -> dict[str, Any]:
    try:
        result = json.loads(line)
    except ValueError:
        result = None
    if not isinstance(result, dict) or not isinstance(result.get("id"), str | int):
        raise UsageError(
            f"line {number} of {path} is not a batch result", "--resume appends to the --out file of an earlier batch"
        )
    return result


def cut_partial_line(path: Path) -> None:
    """Truncate ``path`` after its last newline, dropping a line that was cut short."""
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("r+b") as file:
        end = size
        while end > 0:
            start = max(0, end - 65536)
            file.seek(start)
            block = file.read(end - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        if keep < size:
            file.truncate(keep)


def drop_failures(path: Path, earlier: Earlier) -> None:
    """Rewrite ``path`` without its failed results (they are about to be run again); atomic on POSIX."""
    if not earlier.failed:
        return
    spare = path.with_name(path.name + ".partial")
    with path.open("rb") as lines, spare.open("wb") as kept:
        for line in lines:
            if "error" not in json.loads(line):
                kept.write(line)
        kept.flush()
        os.fsync(kept.fileno())
    os.replace(spare, path)


def pending(
    items: Iterable[BatchItem], earlier: Earlier, retry_failed: bool, counts: BatchCounts
) -> Iterator[BatchItem]:
    """The items FILE has no result for (and, with ``retry_failed``, those that failed); counts the others."""
    for item in items:
        if earlier.skips(item, retry_failed):
            counts.skipped += 1
        else:
            yield item
