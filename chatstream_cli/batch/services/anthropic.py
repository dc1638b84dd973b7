"""Anthropic's Message Batches API (``/v1/messages/batches``), over httpx.

Create: ``POST /v1/messages/batches`` with ``{"requests": [{"custom_id", "params"}]}``, at most 100,000
requests or 256 MB a batch. Retrieve: ``GET .../{id}`` (``processing_status`` in_progress, canceling or
ended; ``request_counts``; ``results_url`` once ended). Results: JSON lines ``{"custom_id", "result":
{"type": "succeeded", "message"} | {"type": "errored", "error"} | {"type": "canceled"} | {"type":
"expired"}}``, in any order. Cancel: ``POST .../{id}/cancel``. ``params`` are what the Messages API takes,
built by the Anthropic provider from the same settings a streamed prompt would use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ...errors import ProviderError
from ...providers.anthropic.events import message_from_response
from ...providers.anthropic.model import SAMPLING_API_VERSION, AnthropicChatModel
from ..input import BatchItem
from . import Outcome, PartStatus, not_run
from .http import ServiceClient, poll_hint

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
_FRAMING = len('{"requests":[]}')


class AnthropicBatches:
    name = "anthropic"
    label = "Anthropic's Message Batches API"
    max_requests = MAX_REQUESTS
    max_bytes = MAX_BYTES
    framing = _FRAMING

    def __init__(self, model: AnthropicChatModel, system: str | None) -> None:
        self.model = model
        self.system = system
        self.root = f"{model.service.endpoint}/v1/messages/batches"
        headers = {"x-api-key": model.service.secret or "", "anthropic-version": SAMPLING_API_VERSION}
        self.http = ServiceClient(model.service, headers, model.settings, model.extra_headers)

    def request(self, custom_id: str, item: BatchItem) -> bytes:
        params = self.model.request_body(item.with_system(self.system), stream=False)
        params.update(_line_settings(item))
        return json.dumps({"custom_id": custom_id, "params": params}).encode()

    def submit(self, requests: list[bytes]) -> str:
        body = b'{"requests":[' + b",".join(requests) + b"]}"
        response = self.http.create("POST", self.root, content=body, headers={"content-type": "application/json"})
        return response.json()["id"]

    def status(self, batch_id: str) -> tuple[PartStatus, float | None]:
        response = self.http.call("GET", f"{self.root}/{batch_id}")
        return _status(response.json()), poll_hint(response)

    def results(self, batch_id: str) -> Iterator[Outcome]:
        batch = self.http.call("GET", f"{self.root}/{batch_id}").json()
        url = batch.get("results_url") or f"{self.root}/{batch_id}/results"
        for line in self.http.json_lines(url):
            yield _outcome(line)

    def cancel(self, batch_id: str) -> PartStatus:
        return _status(self.http.call("POST", f"{self.root}/{batch_id}/cancel").json())


def _line_settings(item: BatchItem) -> dict[str, Any]:
    """A line's own max_tokens and temperature (its model is chosen by the caller)."""
    settings: dict[str, Any] = {}
    if item.max_tokens is not None:
        settings["max_tokens"] = item.max_tokens
    if item.temperature is not None:
        settings["temperature"] = item.temperature
    return settings


def _status(batch: dict[str, Any]) -> PartStatus:
    counts = batch.get("request_counts") or {}
    return PartStatus(
        batch_id=batch["id"],
        state=batch.get("processing_status", "unknown"),
        ended=batch.get("processing_status") == "ended",
        succeeded=counts.get("succeeded", 0),
        failed=counts.get("errored", 0) + counts.get("canceled", 0) + counts.get("expired", 0),
        processing=counts.get("processing", 0),
    )


def _outcome(line: dict[str, Any]) -> Outcome:
    custom_id = str(line.get("custom_id"))
    result = line.get("result") or {}
    kind = result.get("type")
    if kind == "succeeded":
        return Outcome(custom_id, reply=message_from_response(result.get("message") or {}))
    if kind == "errored":
        detail = (result.get("error") or {}).get("error") or {}
        message = detail.get("message") or "the request failed"
        error = ProviderError(
            f"Anthropic rejected the request: {message}",
            "check the prompt and options",
            error_type=detail.get("type") or "api_error",
            api_message=message,
        )
        return Outcome(custom_id, error=error)
    return Outcome(custom_id, error=not_run(kind or "unknown"))
