"""The provider batches a ``--provider-batch`` run submitted, so ``batch status | results | cancel`` work later.

One small JSON file per job in ``config.home()/batches/``: the job's id (its first part's batch id), the
provider and model, the endpoint, and each part's batch id with the ``[custom_id, input id]`` of every
request in it. No key is stored. (The history database is being built beside this; until it is, jobs
live in these files.)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .input import ItemId

if TYPE_CHECKING:
    from ..schema import OutputSchema


@dataclass(slots=True)
class Part:
    batch_id: str
    requests: list[tuple[str, ItemId]]  # (custom_id, input id), in input order


@dataclass(slots=True)
class Job:
    id: str
    provider: str  # the registry name: anthropic, openai, vllm, ...
    model: str
    base_url: str | None
    out: str | None
    created_at: float = field(default_factory=time.time)
    parts: list[Part] = field(default_factory=list)
    #: ``--schema``'s JSON Schema (of one item, with ``schema_multi``), to check the results against.
    schema: dict[str, Any] | None = None
    schema_multi: bool = False

    @property
    def output_schema(self) -> OutputSchema | None:
        if self.schema is None:
            return None
        from ..schema import OutputSchema

        return OutputSchema(self.schema, multi=self.schema_multi)


def jobs_dir() -> Path:
    from ..config import home

    return home() / "batches"


def save(job: Job) -> Path:
    """Write the job's file (atomically: a reader never sees half of it)."""
    folder = jobs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.id}.json"
    spare = path.with_suffix(".json.partial")
    spare.write_text(json.dumps(asdict(job)))
    os.replace(spare, path)
    return path


def load(job_id: str) -> Job:
    """The job with that id, or the job one of whose parts has that batch id."""
    path = jobs_dir() / f"{job_id}.json"
    if path.name == f"{job_id}.json" and path.exists():
        return _job(json.loads(path.read_text()))
    for job in all_jobs():
        if any(part.batch_id == job_id for part in job.parts):
            return job
    raise UsageError(f"no batch {job_id!r} was submitted from here", "`chatstream batch status` lists them")


def all_jobs() -> list[Job]:
    """Every saved job, oldest first."""
    folder = jobs_dir()
    if not folder.is_dir():
        return []
    jobs = [_job(json.loads(path.read_text())) for path in folder.glob("*.json")]
    return sorted(jobs, key=lambda job: job.created_at)


def _job(data: dict[str, Any]) -> Job:
    parts = [Part(part["batch_id"], [tuple(request) for request in part["requests"]]) for part in data.pop("parts")]
    return Job(**data, parts=parts)
