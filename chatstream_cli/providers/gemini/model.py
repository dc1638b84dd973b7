"""Gemini through the Gemini API over httpx: ``-m gemini:MODEL`` and bare ``gemini-*`` names. No google-genai.

``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` (``:generateContent`` for a whole
reply) with the key as ``x-goog-api-key``: ``--key``, else GEMINI_API_KEY, else GOOGLE_API_KEY, else
``chatstream keys set gemini``. The base is ``--base-url``, else GOOGLE_GEMINI_BASE_URL (google-genai's
variable), else Google's; a base whose path ends in an API version (``/v1beta``, ``/v1``) is used as it is.
The body and the chunks are :mod:`.wire`'s; failures and retries the shared policy's (:mod:`...retry`),
with Google's error bodies read for their ``status`` and a 429's ``retryDelay``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from ... import tls
from ...errors import AuthError, ChatstreamError, ConfigError, UnknownModelError
from ...jsonbody import body_arguments
from ...keys import key_for
from ...messages import AIMessage, AIMessageChunk, BaseMessage
from ...retry import (
    Failure,
    RetryPolicy,
    Service,
    acall_with_retries,
    astream_with_retries,
    call_with_retries,
    checked_endpoint,
    httpx_options,
    server_label,
    status_failure,
    stream_failure,
    stream_with_retries,
    transport_failure,
)
from ...runnable import ChatModel
from ...sse import aiter_sse, iter_sse
from .wire import (
    LABEL,
    MODEL_PROVIDER,
    RETRYABLE_STREAM_STATUSES,
    achunks_from_events,
    chunks_from_events,
    error_detail,
    error_reason,
    event_json,
    has_token,
    message_from_response,
    request_body,
)

if TYPE_CHECKING:
    import httpx

NAME = "gemini"
KEY_ENV = "GEMINI_API_KEY"
ALSO_KEY_ENV = "GOOGLE_API_KEY"
BASE_URL_ENV = "GOOGLE_GEMINI_BASE_URL"
ENDPOINT = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
GOOGLE_DOMAIN = "googleapis.com"  # any other host is a gateway or proxy, and messages name it
_VERSION_PATHS = ("/v1", "/v1beta", "/v1alpha")


class GeminiChatModel(ChatModel):
    """A Gemini model; mirrors langchain-google-genai's ChatGoogleGenerativeAI chunk for chunk."""

    provider = MODEL_PROVIDER
    event_name = "ChatGoogleGenerativeAI"
    label: ClassVar[str] = LABEL

    def __init__(self, model: str, settings: Any = None, **overrides: Any) -> None:
        super().__init__(model, settings, **overrides)
        self.model = model.removeprefix("models/")
        self.options = {**self.spec_defaults(), **self.settings.options}
        self.base_url = self.endpoint()
        self.service = self.make_service()
        tls.preload()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, endpoint={self.base_url!r})"

    # -- what Vertex AI changes ---------------------------------------------------------------

    def spec_defaults(self) -> dict[str, Any]:
        """What config.toml's ``[providers.gemini]`` set (its model options)."""
        from .. import PROVIDERS

        spec = PROVIDERS.get(NAME)
        return dict(spec.defaults) if spec is not None else {}

    def endpoint(self) -> str:
        given = self.settings.base_url or os.environ.get(BASE_URL_ENV)
        if not given:
            return f"{ENDPOINT}/{API_VERSION}"
        url = checked_endpoint(given.rstrip("/"), "--base-url" if self.settings.base_url else BASE_URL_ENV)
        return url if urlsplit(url).path.endswith(_VERSION_PATHS) else f"{url}/{API_VERSION}"

    def make_service(self) -> Service:
        self.api_key = find_api_key(self.settings.api_key)
        return Service(NAME, self.server_label(), self.model, self.base_url, KEY_ENV, secret=self.api_key)

    def server_label(self, name: str = NAME) -> str:
        """``Gemini`` on Google's own endpoint, else the provider and the host (a gateway or proxy answers)."""
        return server_label(name, self.label, self.base_url, GOOGLE_DOMAIN)

    def url(self, method: str) -> str:
        suffix = "?alt=sse" if method == "streamGenerateContent" else ""
        return f"{self.base_url}/models/{self.model}:{method}{suffix}"

    def auth_headers(self) -> dict[str, str]:
        """Sent with every request (the Gemini API's key; Vertex AI's token instead)."""
        return {"x-goog-api-key": self.api_key}

    # -- the request --------------------------------------------------------------------------

    def request_body(self, messages: list[BaseMessage]) -> dict[str, Any]:
        """The ``generateContent`` body, with the tools' declarations and the ``--schema`` the reply must meet."""
        schema = self.settings.schema
        return request_body(
            messages,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            stop=self.settings.stop,
            thinking=self.settings.thinking,
            options=self.options,
            tools=self.settings.tools,
            tool_choice=self.settings.tool_choice,
            response_schema=schema.wire if schema is not None else None,
        )

    def _client_options(self, is_async: bool) -> dict[str, Any]:
        from ... import __version__

        headers = {"accept": "application/json", "user-agent": f"chatstream/{__version__}"}
        return httpx_options(headers, self.settings.timeout, self.settings.on_request, is_async=is_async)

    def _payload(self, body: dict[str, Any], *, asynchronous: bool = False) -> dict[str, Any]:
        arguments = body_arguments(body, lambda: {"json": body}, asynchronous=asynchronous)
        headers = {**arguments.pop("headers", {}), **self.auth_headers()}
        return {**arguments, "headers": headers}

    # -- the ChatModel methods ----------------------------------------------------------------

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        import httpx

        body = self.request_body(messages)
        with httpx.Client(**self._client_options(is_async=False)) as client:

            def open_stream() -> Iterator[AIMessageChunk]:
                url = self.url("streamGenerateContent")
                with client.stream("POST", url, **self._payload(body)) as response:
                    if not response.is_success:
                        response.read()
                        response.raise_for_status()
                    yield from chunks_from_events(iter_sse(response.iter_bytes()), self.service.label)

            yield from stream_with_retries(open_stream, self.classify, self._policy(), has_token)

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        import httpx

        body = self.request_body(messages)
        async with httpx.AsyncClient(**self._client_options(is_async=True)) as client:

            async def open_stream() -> AsyncIterator[AIMessageChunk]:
                url = self.url("streamGenerateContent")
                async with client.stream("POST", url, **self._payload(body, asynchronous=True)) as response:
                    if not response.is_success:
                        await response.aread()
                        response.raise_for_status()
                    async with (
                        aclosing(aiter_sse(response.aiter_bytes())) as events,
                        aclosing(achunks_from_events(events, self.service.label)) as chunks,
                    ):
                        async for chunk in chunks:
                            yield chunk

            async with aclosing(astream_with_retries(open_stream, self.classify, self._policy(), has_token)) as chunks:
                async for chunk in chunks:
                    yield chunk

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        import httpx

        body = self.request_body(messages)
        with httpx.Client(**self._client_options(is_async=False)) as client:

            def call() -> AIMessage:
                response = client.post(self.url("generateContent"), **self._payload(body))
                response.raise_for_status()
                return message_from_response(event_json(response.text, self.service.label), self.service.label)

            return call_with_retries(call, self.classify, self._policy())

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        import httpx

        body = self.request_body(messages)
        async with httpx.AsyncClient(**self._client_options(is_async=True)) as client:

            async def call() -> AIMessage:
                response = await client.post(self.url("generateContent"), **self._payload(body, asynchronous=True))
                response.raise_for_status()
                return message_from_response(event_json(response.text, self.service.label), self.service.label)

            return await acall_with_retries(call, self.classify, self._policy())

    # -- failures -----------------------------------------------------------------------------

    def _policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    def classify(self, exc: Exception) -> Failure | None:
        """The failure behind an httpx or stream exception; None for anything else (a bug)."""
        import httpx

        if isinstance(exc, ChatstreamError):
            failure = stream_failure(self.service.redact(exc))
            if exc.status == 200 and exc.error_type in RETRYABLE_STREAM_STATUSES:
                return Failure(failure.error, retryable=True)
            return failure
        if isinstance(exc, httpx.HTTPStatusError):
            return self.status_failure(exc.response)
        return transport_failure(self.service, exc, self.settings.timeout)

    def status_failure(self, response: httpx.Response) -> Failure:
        """Google's error body read for its message, its ``status`` and a ``retryDelay``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        message, status, delay = error_detail(body)
        failure = status_failure(
            self.service, response.status_code, message=message, error_type=status, headers=response.headers
        )
        error = failure.error
        if response.status_code == 400 and error_reason(body) == "API_KEY_INVALID":
            service = self.service
            error = AuthError(f"{service.label} rejected the API key (HTTP 400: {service.scrub(message or '')})",
                              service.key_hint, error_type=status, status=400)  # fmt: skip
        elif response.status_code == 404 and not _about_a_model(message):
            error = ConfigError(
                f"{self.service.label} has no generateContent endpoint at {self.base_url} (HTTP 404)",
                "check --base-url: it is the part before /models/MODEL",
            )
        elif response.status_code == 404:
            error = UnknownModelError(error.message, f"check the model name, e.g. {NAME}:gemini-2.5-flash")
        retry_after = failure.retry_after if failure.retry_after is not None else delay
        return Failure(error, failure.retryable, retry_after)


def _about_a_model(message: str | None) -> bool:
    return bool(message) and "model" in (message or "").lower()


def find_api_key(given: str | None) -> str:
    """The key: the one given, else GEMINI_API_KEY, else GOOGLE_API_KEY, else the stored key; exit 3 without."""
    if given:
        return given
    from .. import PROVIDERS

    key = key_for(PROVIDERS[NAME])
    if not key:
        raise ConfigError("no Gemini API key", f"set {KEY_ENV} (or {ALSO_KEY_ENV}) or run `chatstream keys set {NAME}`")
    return key


def remote_models(timeout: float | None) -> list[str]:
    """The models the Gemini API serves for generateContent (``GET {base}/models``), for `models --remote`."""
    import httpx

    from ...retry import timeout_parts

    model = GeminiChatModel("models", None, timeout=timeout)
    url = f"{model.base_url}/models?pageSize=1000"
    try:
        response = httpx.get(url, headers=model.auth_headers(), timeout=httpx.Timeout(**timeout_parts(timeout)))
    except httpx.HTTPError as exc:
        failure = transport_failure(model.service, exc, timeout)
        if failure is None:
            raise
        raise failure.error from None
    if response.is_error:
        raise model.status_failure(response).error
    try:
        entries = response.json().get("models")
    except (ValueError, AttributeError):
        entries = None
    if not isinstance(entries, list):
        raise ConfigError(f"{model.service.label} sent no model list from {url}", "check --base-url")
    return sorted(
        str(entry["name"]).removeprefix("models/")
        for entry in entries
        if isinstance(entry, dict) and entry.get("name")
        and "generateContent" in (entry.get("supportedGenerationMethods") or ["generateContent"])
    )  # fmt: skip
