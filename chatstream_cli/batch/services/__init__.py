"""The providers' own batch services behind one small interface: submit, status, results, cancel.

``anthropic`` is Anthropic's Message Batches API, ``openai`` OpenAI's Batch API (and any compatible server
that offers ``/files`` and ``/batches``). :func:`parts` splits the requests over a service's documented
limits; each part is one submission. A request's ``custom_id`` is ``r<input index>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import ProviderError
from ..input import BatchItem


@dataclass(frozen=True, slots=True)
class PartStatus:
    """One submission as the service reports it."""

    batch_id: str
    state: str  # the service's own word: in_progress, ended, completed, expired, ...
    ended: bool
    succeeded: int = 0
    failed: int = 0
    processing: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request's result: the reply as the service returned it, or the error it reported."""

    custom_id: str
    reply: Any = None  # an AIMessage
    error: ProviderError | None = None


class BatchService(Protocol):
    name: str  # "anthropic" or "openai"
    label: str  # for people: "Anthropic's Message Batches API"
    max_requests: int
    max_bytes: int
    framing: int  # bytes a submission adds around its requests

    def request(self, custom_id: str, item: BatchItem) -> bytes:
        """One request of the submission, encoded as the service wants it."""

    def submit(self, requests: list[bytes]) -> str:
        """Submit one part; its batch id."""

    def status(self, batch_id: str) -> tuple[PartStatus, float | None]:
        """The part's status, and the wait the service asked for before the next poll (None: it did not say)."""

    def results(self, batch_id: str) -> Iterator[Outcome]:
        """Every request's outcome, in whatever order the service sends them."""

    def cancel(self, batch_id: str) -> PartStatus: ...


def not_run(kind: str) -> ProviderError:
    """The error for a request the service never ran: the batch expired or was canceled first."""
    what = {"expired": "the batch expired before this request ran", "canceled": "the batch was canceled"}
    return ProviderError(
        what.get(kind, f"the service reported {kind!r} for this request"),
        "run it again with --retry-failed",
        error_type=kind,
    )


def custom_id(item: BatchItem) -> str:
    return f"r{item.index}"


def parts(items: Iterable[BatchItem], service: BatchService) -> Iterator[list[tuple[BatchItem, bytes]]]:
    """The items with their encoded requests, in parts within the service's limits on count and bytes."""
    framing = service.framing
    part: list[tuple[BatchItem, bytes]] = []
    size = framing
    for item in items:
        request = service.request(custom_id(item), item)
        if len(request) + 1 + framing > service.max_bytes:
            raise ProviderError(
                f"the prompt on line {item.line} is larger than {service.label} accepts",
                "shorten it, or run it without --provider-batch",
            )
        if part and (len(part) >= service.max_requests or size + len(request) + 1 > service.max_bytes):
            yield part
            part, size = [], framing
        part.append((item, request))
        size += len(request) + 1
    if part:
        yield part
