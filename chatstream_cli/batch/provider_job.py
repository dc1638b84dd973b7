"""A ``--provider-batch`` job: submit the prompts in parts, poll until every part ends, write the results.

Polling waits what the service asks for (``retry-after``) when it says, else 2 s growing to 60 s; a
failed poll is retried as any request is (429, 5xx, a dropped connection), so a laptop that slept
picks up where it was. Results are written in input order: the parts cover the input in order, and
within a part the service's lines (in any order) are matched back by ``custom_id``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import BinaryIO

from ..errors import ProviderError
from ..render.json import ReplyRecorder, json_line
from ..runnable import as_chunk
from .input import BatchItem
from .results import BatchResult, failure, finished
from .runner import BatchCounts, reply_check
from .services import BatchService, Outcome, PartStatus, parts
from .state import Job, Part, save

POLL_FIRST_S = 2.0
POLL_MAX_S = 60.0


def submit(items: Iterable[BatchItem], service: BatchService, job: Job, on_part: Callable[[Job], None]) -> Job:
    """Submit every part, saving the job after each one (a Ctrl-C later loses no submission)."""
    for part in parts(items, service):
        batch_id = service.submit([request for _, request in part])
        if not job.parts:
            job.id = batch_id
        job.parts.append(Part(batch_id, [(f"r{item.index}", item.id) for item, _ in part]))
        save(job)
        on_part(job)
    return job


def statuses(service: BatchService, job: Job) -> tuple[list[PartStatus], float | None]:
    """Every part's status, and the longest wait any of them asked for."""
    found, hints = [], []
    for part in job.parts:
        status, hint = service.status(part.batch_id)
        found.append(status)
        if hint is not None:
            hints.append(hint)
    return found, (max(hints) if hints else None)


def tally(found: list[PartStatus], counts: BatchCounts) -> None:
    counts.done = sum(status.succeeded for status in found)
    counts.failed = sum(status.failed for status in found)
    counts.running = sum(status.processing for status in found)


def wait_until_ended(
    service: BatchService,
    job: Job,
    counts: BatchCounts,
    on_change: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[PartStatus]:
    """Poll until every part has ended, updating ``counts`` from the service's own figures."""
    interval = POLL_FIRST_S
    while True:
        found, hint = statuses(service, job)
        tally(found, counts)
        on_change()
        if all(status.ended for status in found):
            return found
        sleep(hint if hint is not None else interval)
        interval = min(interval * 1.5, POLL_MAX_S)


def write_results(service: BatchService, job: Job, out: BinaryIO) -> set[int]:
    """Every request's result line, in input order; the exit codes of the failures."""
    failed: set[int] = set()
    for part in job.parts:
        outcomes = {outcome.custom_id: outcome for outcome in service.results(part.batch_id)}
        for custom_id, item_id in part.requests:
            result = _result(custom_id, item_id, outcomes.get(custom_id), job)
            out.write(json_line(result.line))
            if result.error is not None:
                failed.add(result.error["exit_code"])
        out.flush()
    return failed


def _result(custom_id: str, item_id: str | int, outcome: Outcome | None, job: Job) -> BatchResult:
    index = int(custom_id.removeprefix("r"))
    if outcome is None:
        missing = ProviderError("the service returned no result for this request", "run it again with --retry-failed")
        return failure(index, item_id, missing, model=job.model, provider=job.provider)
    if outcome.error is not None:
        return failure(index, item_id, outcome.error, model=job.model, provider=job.provider)
    recorder = ReplyRecorder(model=job.model, provider=job.provider, run_id=None, check=reply_check(job.output_schema))
    return finished(index, item_id, recorder, as_chunk(outcome.reply))
