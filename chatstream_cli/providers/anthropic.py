"""Claude through the official ``anthropic`` SDK: ``Anthropic`` for stream/invoke, ``AsyncAnthropic`` for
astream/ainvoke.

The SDK builds and sends the request (its headers, auth and error classes); the response body is read
as raw Server-Sent Events and translated by the pure functions in :mod:`.anthropic_events`. Retries,
the stall timeout and the mapping of failures to exit codes are chatstream's own (:mod:`..retry`):
the SDK is created with ``max_retries=0`` so that ``--retries`` is the only policy and every retry is
announced. ``import anthropic`` costs most of a second, so it happens only when a request is made.

Sampling parameters: SDK 2.x speaks API version 2026-10-21, which rejects ``temperature``, ``top_p``
and ``top_k``. When one of them is given (``-t``, ``-o top_p``, ``-o top_k``) the request is sent with
``anthropic-version: 2023-06-01``, the version that accepts them.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, closing
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import ChatstreamError, ConfigError, NetworkError, ProviderError, UsageError
from ..messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, content_text
from ..retry import (
    Failure,
    RetryPolicy,
    Service,
    acall_with_retries,
    api_error_detail,
    astream_with_retries,
    atrace_request,
    atrace_response,
    call_with_retries,
    checked_endpoint,
    status_failure,
    stream_with_retries,
    timeout_parts,
    trace_request,
    trace_response,
    tracing,
    transport_failure,
)
from ..runnable import ChatModel
from ..sse import ServerSentEvent, aiter_sse, iter_sse
from .anthropic_events import StreamTranslator, message_from_response, not_anthropic

if TYPE_CHECKING:
    import anthropic

NAME = "anthropic"
LABEL = "Anthropic"
KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
SDK_ENDPOINT = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024
SAMPLING_API_VERSION = "2023-06-01"
OPTIONS = {
    "top_p": "nucleus sampling, 0 to 1",
    "top_k": "sample from the K most likely tokens",
    "thinking_budget": "thinking tokens (>= 1024) for models that need a budget; implies --thinking",
}
_OPTION_RANGES: dict[str, tuple[type, float, float | None]] = {
    "top_p": (float, 0, 1),
    "top_k": (int, 1, None),
    "thinking_budget": (int, 1, None),
}
# `event: error` types worth a retry while no token has been shown yet.
RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


class AnthropicChatModel(ChatModel):
    """A Claude model; mirrors langchain-anthropic's ChatAnthropic chunk for chunk."""

    provider = NAME
    event_name = "ChatAnthropic"
    ls_stop_shown = False

    def __init__(self, model: str, settings: Any = None, **overrides: Any) -> None:
        super().__init__(model, settings, **overrides)
        self.settings = _settled(self.settings)
        self.api_key = find_api_key(self.settings.api_key)
        given = self.settings.base_url or os.environ.get(BASE_URL_ENV)
        where = "--base-url" if self.settings.base_url else BASE_URL_ENV
        self.base_url = checked_endpoint(given, where) if given else None
        self.service = Service(
            NAME, LABEL, model, (self.base_url or SDK_ENDPOINT).rstrip("/"), KEY_ENV, secret=self.api_key
        )

    # -- requests ---------------------------------------------------------------------------

    def request_arguments(self, messages: list[BaseMessage]) -> dict[str, Any]:
        """Keyword arguments for ``client.messages.create`` (the API body, plus ``extra_body``)."""
        system, turns = to_anthropic_messages(messages)
        arguments: dict[str, Any] = {"model": self.model, "max_tokens": self.settings.max_tokens, "messages": turns}
        if system:
            arguments["system"] = system
        if self.settings.stop:
            arguments["stop_sequences"] = list(self.settings.stop)
        if self.settings.thinking:
            arguments["thinking"] = self._thinking()
        sampling = self._sampling()
        if sampling:
            arguments["extra_body"] = sampling
        return arguments

    def _thinking(self) -> dict[str, Any]:
        budget = self.settings.options.get("thinking_budget")
        if budget is None:
            return {"type": "adaptive", "display": "summarized"}
        return {"type": "enabled", "budget_tokens": budget, "display": "summarized"}

    def _sampling(self) -> dict[str, Any]:
        given = {"temperature": self.settings.temperature, **self.settings.options}
        return {name: given[name] for name in ("temperature", "top_p", "top_k") if given.get(name) is not None}

    def _client_arguments(self) -> dict[str, Any]:
        import httpx2

        # The SDK sends the key as a Bearer token; servers and proxies that only read x-api-key get it too.
        headers = {"x-api-key": self.api_key}
        if self._sampling():
            headers["anthropic-version"] = SAMPLING_API_VERSION
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "max_retries": 0,  # chatstream's RetryPolicy is the only one
            "timeout": httpx2.Timeout(**timeout_parts(self.settings.timeout)),
            "default_headers": headers,
        }

    @cached_property
    def client(self) -> anthropic.Anthropic:
        """The sync client, made on first use and kept (its connections are reused)."""
        sdk = load_sdk()
        hooks = {"request": [trace_request], "response": [trace_response]} if tracing() else None
        http_client = sdk.DefaultHttpxClient(**_http_options(hooks))
        return sdk.Anthropic(**self._client_arguments(), http_client=http_client)

    def async_client(self) -> anthropic.AsyncAnthropic:
        """A new async client: one per call, as an async client belongs to the event loop that used it."""
        sdk = load_sdk()
        hooks = {"request": [atrace_request], "response": [atrace_response]} if tracing() else None
        http_client = sdk.DefaultAsyncHttpxClient(**_http_options(hooks))
        return sdk.AsyncAnthropic(**self._client_arguments(), http_client=http_client)

    # -- the ChatModel methods --------------------------------------------------------------

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        arguments = self.request_arguments(messages)

        def open_stream() -> Iterator[AIMessageChunk]:
            translator = StreamTranslator(list_content=_wants_blocks(arguments))
            with closing(self._events(arguments)) as events:
                yield from translator.chunks(events)

        yield from stream_with_retries(open_stream, self.classify, self._policy(), has_token)

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        arguments = self.request_arguments(messages)
        async with self.async_client() as client:

            async def open_stream() -> AsyncIterator[AIMessageChunk]:
                translator = StreamTranslator(list_content=_wants_blocks(arguments))
                async with (
                    aclosing(self._aevents(client, arguments)) as events,
                    aclosing(translator.achunks(events)) as chunks,
                ):
                    async for chunk in chunks:
                        yield chunk

            async for chunk in astream_with_retries(open_stream, self.classify, self._policy(), has_token):
                yield chunk

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        arguments = self.request_arguments(messages)
        reply = call_with_retries(lambda: self.client.messages.create(**arguments), self.classify, self._policy())
        return message_from_response(_message_data(reply))

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        arguments = self.request_arguments(messages)
        async with self.async_client() as client:
            reply = await acall_with_retries(lambda: client.messages.create(**arguments), self.classify, self._policy())
        return message_from_response(_message_data(reply))

    def _events(self, arguments: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The response's events as dicts; leaving this generator closes the HTTP response."""
        with self.client.messages.with_streaming_response.create(**arguments, stream=True) as response:
            for sse in iter_sse(response.iter_bytes()):
                event = _event_data(sse)
                if event is not None:
                    yield event

    async def _aevents(
        self, client: anthropic.AsyncAnthropic, arguments: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        async with client.messages.with_streaming_response.create(**arguments, stream=True) as response:
            async for sse in aiter_sse(response.iter_bytes()):
                event = _event_data(sse)
                if event is not None:
                    yield event

    # -- failures ---------------------------------------------------------------------------

    def _policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    def classify(self, exc: Exception) -> Failure | None:
        """The failure behind an SDK, httpx2 or stream exception; None for anything else (a bug)."""
        if isinstance(exc, ChatstreamError):
            return Failure(self.service.redact(exc), retryable=_worth_retrying(exc))
        if isinstance(exc, json.JSONDecodeError):  # a 200 whose body is not JSON
            return Failure(not_anthropic("message"))
        sdk = load_sdk()
        if isinstance(exc, sdk.APIStatusError):
            message, error_type = api_error_detail(exc.body)
            return status_failure(
                self.service, exc.status_code, message=message, error_type=error_type, headers=exc.response.headers
            )
        return transport_failure(self.service, exc, self.settings.timeout)

    def __repr__(self) -> str:
        return f"AnthropicChatModel(model={self.model!r}, base_url={self.base_url!r})"


def find_api_key(given: str | None) -> str:
    """The API key: the one given, else ANTHROPIC_API_KEY, else the stored key; exit 3 without one."""
    if given:
        return given
    from ..keys import key_for
    from . import PROVIDERS

    key = key_for(PROVIDERS[NAME])
    if not key:
        raise ConfigError("no Anthropic API key", f"set {KEY_ENV} or run `chatstream keys set {NAME}`")
    return key


def _http_options(hooks: dict[str, list[Any]] | None) -> dict[str, Any]:
    """Options for the SDK's default httpx2 client: the SDK's own, but a redirect is not followed.

    The SDK follows redirects by default; a connection error would then name the original endpoint, so
    a 3xx is reported as what it is (``status_failure``), as for the OpenAI-compatible providers.
    """
    return {"follow_redirects": False, "event_hooks": hooks}


def load_sdk() -> Any:
    """``import anthropic``, on first use only; silences the SDK's warning about budgeted thinking."""
    import anthropic

    warnings.filterwarnings("ignore", message="Using Claude with", category=UserWarning)
    return anthropic


def _settled(settings: Any) -> Any:
    """Settings with Anthropic's rules applied: known options, a max_tokens, a budget below it."""
    unknown = sorted(set(settings.options) - set(OPTIONS))
    if unknown:
        raise UsageError(
            f"unknown option {unknown[0]!r} for anthropic",
            "anthropic options are: " + ", ".join(f"{name} ({what})" for name, what in OPTIONS.items()),
        )
    options = {name: _check_number(name, value, *_OPTION_RANGES[name]) for name, value in settings.options.items()}
    budget = options.get("thinking_budget")
    max_tokens = settings.max_tokens
    if budget is not None:
        if max_tokens is None:
            max_tokens = budget + DEFAULT_MAX_TOKENS  # room for the answer after the thinking
        elif budget >= max_tokens:
            raise UsageError(
                f"-o thinking_budget {budget} must be less than --max-tokens {max_tokens}",
                "raise --max-tokens or lower the budget",
            )
    return replace(
        settings,
        max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
        thinking=settings.thinking or budget is not None,
        options=options,
    )


def _check_number(name: str, value: Any, kind: type, low: float, high: float | None) -> Any:
    """``value`` as ``kind`` when it is one within range; a usage error naming the option otherwise."""
    fits = isinstance(value, int | float) and not isinstance(value, bool) and (kind is float or value == int(value))
    if not fits or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise UsageError(
            f"-o {name} {value!r} is not valid", f"use {'a whole number' if kind is int else 'a number'} {span}"
        )
    return kind(value)


def to_anthropic_messages(messages: list[BaseMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` for the API: system messages joined into ``system``, the rest as turns."""
    system = "\n\n".join(content_text(m.content) for m in messages if isinstance(m, SystemMessage))
    turns = [
        {"role": "assistant" if isinstance(m, AIMessage) else "user", "content": _api_content(m.content)}
        for m in messages
        if not isinstance(m, SystemMessage)
    ]
    return system or None, turns


def _api_content(content: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Content for the API: stream bookkeeping (``index``, ``partial_json``) and empty text removed,
    LangChain standard image and file blocks as ``image`` and ``document`` blocks."""
    if isinstance(content, str):
        return content
    blocks = []
    for block in content:
        if block.get("type") == "text" and not block.get("text"):
            continue
        if block.get("type") in ("image", "file") and "source" not in block:
            blocks.append(_media_block(block))
            continue
        blocks.append({key: value for key, value in block.items() if key not in ("index", "partial_json")})
    return blocks


def _media_block(block: dict[str, Any]) -> dict[str, Any]:
    """A standard ``image``/``file`` block (``base64`` + ``mime_type``, or ``url``) as the API's block."""
    if "url" in block:
        source = {"type": "url", "url": block["url"]}
    else:
        source = {"type": "base64", "media_type": block["mime_type"], "data": block["base64"]}
    return {"type": "image" if block["type"] == "image" else "document", "source": source}


def _wants_blocks(arguments: dict[str, Any]) -> bool:
    """langchain-anthropic's rule: list-of-blocks content when thinking or tools are requested."""
    return bool(arguments.get("thinking") or arguments.get("tools"))


def _event_data(sse: ServerSentEvent) -> dict[str, Any] | None:
    """An SSE event's JSON; None for pings and for events without a name (the SDK ignores those too)."""
    if sse.event in ("message", "ping"):
        return None
    try:
        data = json.loads(sse.data)
    except ValueError:
        raise ProviderError(
            f"Anthropic sent an {sse.event!r} event that is not JSON: {sse.data[:200]!r}",
            "check --base-url",
            error_type="invalid_response",
        ) from None
    return data if isinstance(data, dict) else None


def _message_data(reply: Any) -> dict[str, Any]:
    """A non-streaming reply as the SDK's ``model_dump()``; an error when it is not a message at all."""
    data = reply.model_dump(mode="json") if hasattr(reply, "model_dump") else None
    if not isinstance(data, dict) or data.get("type") != "message":
        raise not_anthropic("message")
    return data


def has_token(chunk: AIMessageChunk) -> bool:
    """Whether the chunk carries something the user sees (so retrying would repeat it)."""
    return bool(chunk.content or chunk.tool_call_chunks)


def _worth_retrying(error: ChatstreamError) -> bool:
    """An overload reported inside the stream, or a stream cut short, may pass on a retry."""
    if isinstance(error, ProviderError):
        return error.status == 200 and error.error_type in RETRYABLE_STREAM_ERRORS
    return isinstance(error, NetworkError)
