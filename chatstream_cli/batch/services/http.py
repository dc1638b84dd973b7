"""HTTP for the batch services: one httpx client, chatstream's error messages and retry rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from ...errors import ChatstreamError, ProviderError
from ...retry import (
    Failure,
    RetryPolicy,
    Service,
    api_error_detail,
    call_with_retries,
    httpx_options,
    parse_retry_after,
    status_failure,
    transport_failure,
)

NO_ROUTE = frozenset({404, 405, 501})

if TYPE_CHECKING:
    from ...runnable import ModelSettings


class ServiceClient:
    """Requests to one service, as a prompt's go: a retryable failure (429, 5xx, a dropped connection) is
    retried ``--retries`` times, ``--timeout`` applies, the --debug trace shows them and the provider's
    extra headers (config.toml's, --header) go along, redacted in the trace."""

    def __init__(
        self, service: Service, headers: dict[str, str], settings: ModelSettings, extra: dict[str, str]
    ) -> None:
        self.service = service
        self.timeout = settings.timeout
        self.policy = RetryPolicy.from_settings(settings)
        self.client = httpx.Client(**httpx_options(headers, settings.timeout, None, is_async=False, extra=extra))

    def call(self, method: str, url: str, **options: Any) -> httpx.Response:
        def send() -> httpx.Response:
            response = self.client.request(method, url, **options)
            response.raise_for_status()
            return response

        return call_with_retries(send, self.classify, self.policy)

    def create(self, method: str, url: str, **options: Any) -> httpx.Response:
        """A request that makes a batch or its input file: there, a route the server does not have (404, 405,
        501) means the endpoint has no batch API, not that it does not know the model."""
        try:
            return self.call(method, url, **options)
        except ChatstreamError as exc:
            if exc.status not in NO_ROUTE:
                raise
            raise ProviderError(
                f"this endpoint has no batch API: {method} {self.service.scrub(url)} answered HTTP {exc.status}",
                "leave out --provider-batch: chatstream then sends the prompts itself",
                error_type="not_found_error",
                status=exc.status,
            ) from None

    def json_lines(self, url: str) -> Iterator[Any]:
        """The JSON lines of a results file, read as a stream (a file may hold 100,000 results)."""
        with self.client.stream("GET", url) as response:
            if not response.is_success:
                response.read()
                self.call("GET", url)  # raises the error, as chatstream words it
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            try:
                body = response.json()
            except ValueError:
                body = None
            message, error_type = api_error_detail(body)
            return status_failure(
                self.service, response.status_code, message=message, error_type=error_type, headers=response.headers
            )
        return transport_failure(self.service, exc, self.timeout)


def poll_hint(response: httpx.Response) -> float | None:
    """The wait a poll response asks for (``retry-after-ms`` / ``retry-after``), if any."""
    return parse_retry_after(response.headers)
