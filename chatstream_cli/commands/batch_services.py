"""``--provider-batch`` and ``batch status | results | cancel``: the glue between the flags and the services.

The service is chosen by the model's provider: Anthropic's Message Batches for ``anthropic``, OpenAI's Batch
API for ``openai`` and the OpenAI-compatible providers (whose server must offer ``/files`` and ``/batches``).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExitCode, UsageError
from .batch_output import output, progress_bar, showing
from .reporting import notice

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..batch.input import BatchItem
    from ..batch.job import BatchInput
    from ..batch.services import BatchService
    from ..batch.state import Job
    from ..providers import ResolvedModel
    from ..runnable import ModelSettings
    from .prompt import PromptRequest


def service_for(resolved: ResolvedModel, settings: ModelSettings, system: str | None) -> BatchService:
    """The batch service of the model's provider; exit 2 for a provider that has none."""
    from ..providers import build

    if resolved.provider.name == "anthropic":
        from ..batch.services.anthropic import AnthropicBatches

        return AnthropicBatches(build(resolved, settings), system)  # type: ignore[arg-type]
    if resolved.provider.target.endswith(":ChatOpenAI"):
        from ..batch.services.openai import OpenAIBatches

        return OpenAIBatches(build(resolved, settings), system)  # type: ignore[arg-type]
    raise UsageError(
        f"{resolved.provider.name} has no batch service",
        "--provider-batch works with anthropic and OpenAI-compatible models",
    )


def submit_provider_batch(
    items: Iterator[BatchItem],
    resolved: ResolvedModel,
    settings: ModelSettings,
    defaults: PromptRequest,
    where: BatchInput,
) -> int:
    """Submit the prompts, wait for the service, write the results; the batch's exit code."""
    from ..batch.provider_job import submit
    from ..batch.state import Job

    service = service_for(resolved, settings, defaults.system)
    schema = settings.schema
    job = Job(
        id="",
        provider=resolved.provider.name,
        model=resolved.model,
        base_url=defaults.base_url,
        out=_out(where.out),
        schema=schema.schema if schema is not None else None,
        schema_multi=schema is not None and schema.multi,
    )
    quiet = defaults.quiet

    def told(submitted: Job) -> None:
        notice(f"submitted {submitted.parts[-1].batch_id} to {service.label}", quiet)

    submit(_same_provider(items, resolved), service, job, told)
    if not job.parts:
        return ExitCode.OK
    print(
        f"chatstream: batch {job.id} submitted ({sum(len(p.requests) for p in job.parts):,} prompts)", file=sys.stderr
    )
    return _wait_and_write(
        service, job, where.out, append=where.resume or where.retry_failed, quiet=quiet, stats=defaults.stats
    )


def _out(path: Path | None) -> str | None:
    return str(path.resolve()) if path is not None else None


def _same_provider(items: Iterator[BatchItem], resolved: ResolvedModel) -> Iterator[BatchItem]:
    """A provider batch goes to one service: a line may not name another provider's model."""
    for item in items:
        if item.model and ":" in item.model and not item.model.startswith(f"{resolved.provider.name}:"):
            raise UsageError(
                f"line {item.line} names {item.model}, not a {resolved.provider.name} model",
                "a provider batch goes to one provider; split the file",
            )
        yield item


def _wait_and_write(
    service: BatchService, job: Job, out: Path | None, *, append: bool, quiet: bool, stats: bool
) -> int:
    from ..batch.provider_job import wait_until_ended, write_results
    from ..batch.results import batch_exit_code
    from ..batch.runner import BatchCounts

    counts = BatchCounts(total=sum(len(part.requests) for part in job.parts))
    progress = progress_bar(f"{job.id} at {service.label}", quiet)
    try:
        with showing(progress, counts) as update:
            wait_until_ended(service, job, counts, update or (lambda: None))
    except KeyboardInterrupt:
        print(
            f"chatstream: interrupted: batch {job.id} goes on at the service; `chatstream batch status {job.id}` "
            f"shows it, `chatstream batch results {job.id} --out FILE` fetches the results",
            file=sys.stderr,
        )
        raise
    with output(out, append=append) as stream:
        code = batch_exit_code(write_results(service, job, stream))
    if stats:
        from ..render.progress import totals_line

        print(totals_line(counts), file=sys.stderr)
    return code


def job_service(job: Job, timeout: float | None) -> BatchService:
    """The service a saved job went to, rebuilt with today's key."""
    from ..providers import resolve
    from ..runnable import ModelSettings

    resolved = resolve(f"{job.provider}:{job.model}")
    return service_for(resolved, replace(ModelSettings(), base_url=job.base_url, timeout=timeout), None)


def show_status(job_id: str | None, timeout: float | None) -> None:
    """One line per job (or for the one asked for): its parts' state and counts, from the service."""
    from ..batch.provider_job import statuses
    from ..batch.state import all_jobs, load

    jobs = [load(job_id)] if job_id else all_jobs()
    if not jobs:
        print("no provider batches were submitted from here", file=sys.stderr)
    for job in jobs:
        found, _ = statuses(job_service(job, timeout), job)
        states = sorted({status.state for status in found})
        done = sum(status.succeeded for status in found)
        failed = sum(status.failed for status in found)
        processing = sum(status.processing for status in found)
        ended = "ended" if all(status.ended for status in found) else "running"
        print(
            f"{job.id}\t{job.provider}:{job.model}\t{ended} ({', '.join(states)})\t"
            f"{done:,} succeeded · {failed:,} failed · {processing:,} processing"
        )


def fetch_results(job_id: str, out: Path | None) -> int:
    """Write a finished job's results in input order; exit 2 while it is still running."""
    from ..batch.provider_job import statuses, write_results
    from ..batch.results import batch_exit_code
    from ..batch.state import load

    job = load(job_id)
    service = job_service(job, None)
    found, _ = statuses(service, job)
    if not all(status.ended for status in found):
        processing = sum(status.processing for status in found)
        raise UsageError(f"batch {job.id} is still running ({processing:,} prompts to go)", "try again later")
    with output(out, append=False) as stream:
        return batch_exit_code(write_results(service, job, stream))


def cancel_job(job_id: str) -> None:
    from ..batch.state import load

    job = load(job_id)
    service = job_service(job, None)
    for part in job.parts:
        status = service.cancel(part.batch_id)
        print(f"{status.batch_id}\t{status.state}")
