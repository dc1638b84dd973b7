"""OpenAI's Batch API, for OpenAI and compatible servers that offer it, over httpx.

Upload: ``POST {base}/files`` (multipart, ``purpose=batch``) of JSON lines ``{"custom_id", "method": "POST",
"url": "/v1/chat/completions", "body"}``, at most 50,000 requests or 200 MB a file. Create: ``POST
{base}/batches`` with ``input_file_id``, ``endpoint`` and ``completion_window: "24h"``. Retrieve: ``GET
{base}/batches/{id}`` (``status`` validating, in_progress, finalizing, completed, failed, expired,
cancelling or cancelled; ``request_counts``; ``output_file_id`` and ``error_file_id``). Results: ``GET
{base}/files/{id}/content`` of both files, JSON lines ``{"custom_id", "response": {"status_code", "body"},
"error"}`` in any order. Cancel: ``POST {base}/batches/{id}/cancel``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ...errors import ChatstreamError, ProviderError
from ...providers.openai.chat import ChatOpenAI, message_from_completion
from ...retry import api_error_detail, status_failure
from ..input import BatchItem
from . import Outcome, PartStatus, not_run
from .http import ServiceClient, poll_hint

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
ENDPOINT = "/v1/chat/completions"
_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
_NOT_RUN = {"batch_expired": "expired", "batch_cancelled": "canceled"}


class OpenAIBatches:
    name = "openai"
    label = "OpenAI's Batch API"
    max_requests = MAX_REQUESTS
    max_bytes = MAX_BYTES
    framing = 0

    def __init__(self, model: ChatOpenAI, system: str | None) -> None:
        self.model = model
        self.system = system
        self.base = model.base_url
        headers = {"authorization": f"Bearer {model.api_key}"} if model.api_key else {}
        self.http = ServiceClient(model.service, headers, model.settings, model.extra_headers)

    def request(self, custom_id: str, item: BatchItem) -> bytes:
        body = self.model.request_body(item.with_system(self.system), stream=False)
        if item.max_tokens is not None:
            body["max_completion_tokens" if self.model.spec.name == "openai" else "max_tokens"] = item.max_tokens
        if item.temperature is not None:
            body["temperature"] = item.temperature
        body.update(item.options)
        line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
        return json.dumps(line).encode()

    def submit(self, requests: list[bytes]) -> str:
        content = b"\n".join(requests) + b"\n"
        files = {"file": ("chatstream-batch.jsonl", content, "application/jsonl")}
        uploaded = self.http.create("POST", f"{self.base}/files", data={"purpose": "batch"}, files=files).json()
        batch = {"input_file_id": uploaded["id"], "endpoint": ENDPOINT, "completion_window": "24h"}
        return self.http.create("POST", f"{self.base}/batches", json=batch).json()["id"]

    def status(self, batch_id: str) -> tuple[PartStatus, float | None]:
        response = self.http.call("GET", f"{self.base}/batches/{batch_id}")
        return _status(response.json()), poll_hint(response)

    def results(self, batch_id: str) -> Iterator[Outcome]:
        batch = self.http.call("GET", f"{self.base}/batches/{batch_id}").json()
        for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
            if file_id:
                yield from self._file_outcomes(file_id)

    def _file_outcomes(self, file_id: str) -> Iterator[Outcome]:
        for line in self.http.json_lines(f"{self.base}/files/{file_id}/content"):
            yield self._outcome(line)

    def cancel(self, batch_id: str) -> PartStatus:
        return _status(self.http.call("POST", f"{self.base}/batches/{batch_id}/cancel").json())

    def _outcome(self, line: dict[str, Any]) -> Outcome:
        custom_id = str(line.get("custom_id"))
        response = line.get("response") or {}
        status = response.get("status_code")
        try:
            if status == 200:
                return Outcome(
                    custom_id, reply=message_from_completion(response.get("body") or {}, self.model.service.label)
                )
        except ChatstreamError as exc:
            return Outcome(custom_id, error=_provider_error(exc))
        if status is not None:
            message, error_type = api_error_detail(response.get("body"))
            failure = status_failure(self.model.service, status, message=message, error_type=error_type)
            return Outcome(custom_id, error=_provider_error(failure.error))
        error = line.get("error") or {}
        code = str(error.get("code") or "api_error")
        if code in _NOT_RUN:
            return Outcome(custom_id, error=not_run(_NOT_RUN[code]))
        message = error.get("message") or "the request failed"
        return Outcome(
            custom_id, error=ProviderError(f"{self.model.service.label} failed the request: {message}", error_type=code)
        )


def _provider_error(error: ChatstreamError) -> ProviderError:
    """A per-request error is the provider's (exit 4), whatever class its status would get on its own."""
    if isinstance(error, ProviderError):
        return error
    return ProviderError(error.message, error.hint, error_type=error.error_type, status=error.status)


def _status(batch: dict[str, Any]) -> PartStatus:
    counts = batch.get("request_counts") or {}
    total, completed, failed = counts.get("total", 0), counts.get("completed", 0), counts.get("failed", 0)
    state = batch.get("status", "unknown")
    return PartStatus(
        batch_id=batch["id"],
        state=state,
        ended=state in _ENDED,
        succeeded=completed,
        failed=failed,
        processing=max(total - completed - failed, 0),
    )
