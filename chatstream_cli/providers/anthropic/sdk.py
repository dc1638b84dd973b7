"""Claude through the official ``anthropic`` SDK: ``-o transport sdk`` for the direct API, and the only
transport of Amazon Bedrock and Google Vertex AI, whose clients sign requests (AWS SigV4, Google
credentials) in ways chatstream does not re-implement.

The SDK sends the request (its headers, auth and platform URLs); the response body is read as raw bytes
and decoded by the platform's decoder (Server-Sent Events, or AWS event-stream frames on Bedrock), so
the translator sees the same event dicts whatever the transport. Clients are made with
``max_retries=0``: chatstream's RetryPolicy is the only one. ``import anthropic`` happens here only.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ...retry import (
    Failure,
    Service,
    api_error_detail,
    http_hooks,
    status_failure,
    timeout_parts,
    transport_failure,
    with_extra_headers,
    wrong_endpoint_failure,
)
from .wire import ENDPOINT_HINT, asse_events, message_dump, sse_events

if TYPE_CHECKING:
    from ...runnable import ModelSettings

# The arguments messages.create() takes by name; the rest of the body goes in extra_body, as given.
_NAMED = ("model", "max_tokens", "messages")


@dataclass(frozen=True)
class Platform:
    """Where the SDK sends the request: the client classes and how to read the response body."""

    label: str
    client_class: str  # a name in the anthropic package, e.g. "AnthropicBedrock"
    decode: Callable[[Iterable[bytes]], Iterator[dict[str, Any]]] = sse_events
    adecode: Callable[[AsyncIterable[bytes]], AsyncIterator[dict[str, Any]]] = asse_events
    extra: str | None = None  # the pip extra its client needs, e.g. "bedrock"


DIRECT = Platform("Anthropic", "Anthropic")


class SdkTransport:
    """Sends a request body through an SDK client; the same interface as HttpTransport."""

    name = "sdk"

    def __init__(
        self,
        service: Service,
        settings: ModelSettings,
        client_arguments: dict[str, Any],
        platform: Platform = DIRECT,
        *,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.extra = extra or {}
        self.client_arguments = client_arguments
        if self.extra:
            given = client_arguments.get("default_headers") or {}
            self.client_arguments = {**client_arguments, "default_headers": with_extra_headers(given, self.extra)}
        self.platform = platform

    def _client(self, is_async: bool) -> Any:
        sdk = load_sdk()
        http_class = sdk.DefaultAsyncHttpxClient if is_async else sdk.DefaultHttpxClient
        # The SDK follows redirects; a 3xx is reported as what it is instead (status_failure).
        http_client = http_class(
            follow_redirects=False,
            event_hooks=http_hooks(self.settings.on_request, is_async=is_async, secret=self.extra),
        )
        client_class = getattr(sdk, ("Async" if is_async else "") + self.platform.client_class)
        import httpx2

        try:
            return client_class(
                **self.client_arguments,
                max_retries=0,
                timeout=httpx2.Timeout(**timeout_parts(self.settings.timeout)),
                http_client=http_client,
            )
        except ValueError as exc:  # the platform clients' "no region was given" and kin
            raise ConfigError(f"cannot set up {self.platform.label}: {self.service.scrub(str(exc))}") from None

    @cached_property
    def client(self) -> Any:
        """The sync client, made on first use and kept (its connections are reused)."""
        return self._client(is_async=False)

    def async_client(self) -> Any:
        """A new async client: one per call, as it belongs to the event loop that used it."""
        return self._client(is_async=True)

    def events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The response's events; leaving this generator closes the HTTP response."""
        with self.client.messages.with_streaming_response.create(**sdk_arguments(body)) as response:
            yield from self.platform.decode(response.iter_bytes())

    async def aevents(self, client: Any, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async with (
            client.messages.with_streaming_response.create(**sdk_arguments(body)) as response,
            aclosing(self.platform.adecode(response.iter_bytes())) as events,
        ):
            async for event in events:
                yield event

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        return _message_data(self.client.messages.create(**sdk_arguments(body)))

    async def amessage(self, client: Any, body: dict[str, Any]) -> dict[str, Any]:
        return _message_data(await client.messages.create(**sdk_arguments(body)))

    def classify(self, exc: Exception) -> Failure | None:
        """The failure behind an SDK or httpx2 exception; None for anything else."""
        sdk = load_sdk()
        if isinstance(exc, sdk.APIStatusError):
            message, error_type = api_error_detail(exc.body)
            wrong = wrong_endpoint_failure(self.service, exc.response, message, "messages endpoint", ENDPOINT_HINT)
            return wrong or status_failure(
                self.service, exc.status_code, message=message, error_type=error_type, headers=exc.response.headers
            )
        return transport_failure(self.service, exc, self.settings.timeout)


def sdk_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """The request body as ``messages.create`` keyword arguments: the required ones by name, the rest as
    ``extra_body`` (sent as given, so the SDK's own checks never differ from the direct transport's)."""
    arguments = {name: body[name] for name in _NAMED}
    if body.get("stream"):
        arguments["stream"] = True
    rest = {name: value for name, value in body.items() if name not in (*_NAMED, "stream")}
    if rest:
        arguments["extra_body"] = rest
    return arguments


def _message_data(reply: Any) -> dict[str, Any]:
    """A non-streaming reply as the SDK's ``model_dump()``; an error when it is not a message at all."""
    return message_dump(reply.model_dump(mode="json") if hasattr(reply, "model_dump") else None)


def load_sdk() -> Any:
    """``import anthropic``, on first use only; silences the SDK's warning about budgeted thinking."""
    import anthropic

    warnings.filterwarnings("ignore", message="Using Claude with", category=UserWarning)
    return anthropic
