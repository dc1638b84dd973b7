"""The Messages API straight over httpx: the default transport of the ``anthropic`` provider.

``POST {base_url}/v1/messages`` with ``x-api-key``, ``anthropic-version``, ``anthropic-beta`` when an
option needs one, and a User-Agent naming chatstream. The body is the one the model builds for every
transport; the response is read by the shared SSE reader. Redirects are not followed (httpx's default),
so a 3xx is reported as what it is. No ``import anthropic``: that costs most of a second.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ... import __version__, tls
from ...jsonbody import body_arguments
from ...retry import (
    Failure,
    Service,
    api_error_detail,
    httpx_options,
    response_failure,
    transport_failure,
    wrong_endpoint_failure,
)
from .wire import ENDPOINT_HINT, asse_events, message_dump, sse_events

if TYPE_CHECKING:
    import httpx

    from ...runnable import ModelSettings


class HttpTransport:
    """Sends a request body and gives back its events (a stream) or its message (a whole reply)."""

    name = "httpx"

    def __init__(
        self, service: Service, settings: ModelSettings, headers: dict[str, str], extra: dict[str, str] | None = None
    ) -> None:
        self.service = service
        self.extra = extra or {}
        self.settings = settings
        self.url = f"{service.endpoint}/v1/messages"
        self.headers = {
            "accept": "application/json",
            "content-type": "application/json",
            "user-agent": f"chatstream/{__version__}",
            **headers,
        }
        tls.preload()

    def _options(self, is_async: bool) -> dict[str, Any]:
        return httpx_options(
            self.headers, self.settings.timeout, self.settings.on_request, is_async=is_async, extra=self.extra
        )

    @cached_property
    def client(self) -> httpx.Client:
        """The sync client, made on first use and kept (its connections are reused)."""
        import httpx

        return httpx.Client(**self._options(is_async=False))

    def async_client(self) -> httpx.AsyncClient:
        """A new async client: one per call, as it belongs to the event loop that used it."""
        import httpx

        return httpx.AsyncClient(**self._options(is_async=True))

    def events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The response's events; leaving this generator closes the HTTP response."""
        with self.client.stream("POST", self.url, **_payload(body)) as response:
            if not response.is_success:
                response.read()
                response.raise_for_status()
            yield from sse_events(response.iter_bytes())

    async def aevents(self, client: httpx.AsyncClient, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async with client.stream("POST", self.url, **_payload(body, asynchronous=True)) as response:
            if not response.is_success:
                await response.aread()
                response.raise_for_status()
            async with aclosing(asse_events(response.aiter_bytes())) as events:
                async for event in events:
                    yield event

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(self.url, **_payload(body))
        response.raise_for_status()
        return message_dump(response.json())

    async def amessage(self, client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(self.url, **_payload(body, asynchronous=True))
        response.raise_for_status()
        return message_dump(response.json())

    def classify(self, exc: Exception) -> Failure | None:
        """The failure behind an httpx exception; None for anything else."""
        import httpx

        if isinstance(exc, httpx.HTTPStatusError):
            message, _ = api_error_detail(_json_or_none(exc.response.content))
            wrong = wrong_endpoint_failure(self.service, exc.response, message, "messages endpoint", ENDPOINT_HINT)
            return wrong or response_failure(self.service, exc.response)
        return transport_failure(self.service, exc, self.settings.timeout)


def _payload(body: dict[str, Any], *, asynchronous: bool = False) -> dict[str, Any]:
    """The body as the SDK serialises it (compact JSON, UTF-8); with an attachment, in pieces (see jsonbody)."""
    return body_arguments(body, lambda: {"content": _encoded(body)}, asynchronous=asynchronous)


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None
