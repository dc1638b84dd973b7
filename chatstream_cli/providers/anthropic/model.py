"""Claude: the ``anthropic`` provider, and the machinery Amazon Bedrock and Google Vertex AI share with it.

One request body for every transport and platform (:meth:`AnthropicChatModel.request_body`); one
translator (:mod:`.events`, the pure functions that turn events into LangChain's chunks); one
failure policy (:mod:`..retry`: retries, the stall timeout, exit codes). What differs is the transport:

* ``httpx`` (the default): the Messages API directly (:mod:`.http`), no SDK loaded;
* ``sdk`` (``-o transport sdk``, or ``transport = "sdk"`` in ``[providers.anthropic]``): the same request
  through the official SDK (:mod:`.sdk`), which Bedrock and Vertex always use.

Sampling parameters: API version 2026-10-21 (what SDK 2.x sends) rejects ``temperature``, ``top_p`` and
``top_k``; when one is given the request is sent with ``anthropic-version: 2023-06-01``, which accepts them.
``max_tokens`` defaults to the model's maximum output (:mod:`.max_tokens`), so a reply is not cut short.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, closing
from dataclasses import replace
from typing import Any

from ...errors import ChatstreamError, ConfigError, NetworkError, ProviderError, UsageError
from ...messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, ToolMessage, content_text
from ...retry import (
    Failure,
    RetryPolicy,
    Service,
    acall_with_retries,
    astream_with_retries,
    call_with_retries,
    checked_endpoint,
    header_secrets,
    server_label,
    stream_with_retries,
)
from ...runnable import ChatModel
from .events import StreamTranslator, message_from_response, not_anthropic
from .max_tokens import max_output_tokens
from .wire import API_VERSION, SAMPLING_API_VERSION

NAME = "anthropic"
LABEL = "Anthropic"
OWN_DOMAIN = "anthropic.com"  # any other host is a gateway or proxy, and messages name it
KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
SDK_ENDPOINT = "https://api.anthropic.com"
ANSWER_ROOM = 1024
"""Tokens left for the answer after a thinking budget, when the budget is above the model's default."""
TRANSPORTS = ("httpx", "sdk")
OPTIONS = {
    "top_p": "nucleus sampling, 0 to 1",
    "top_k": "sample from the K most likely tokens",
    "thinking_budget": "thinking tokens (>= 1024) for models that need a budget; implies --thinking",
    "cache": "true: cache the system prompt and the conversation so far (prompt caching)",
    "user_id": "an opaque id of the end user, sent as metadata.user_id",
    "service_tier": "auto or standard_only",
    "betas": "beta features for the anthropic-beta header, comma separated",
    "transport": "httpx (the default: the API directly) or sdk (the official SDK)",
    "schema_mode": "how --schema is sent: output_config (newer models) or tool (a forced tool; older models)",
}
PASSED_ON = "any other -o KEY VALUE goes into the request body as given"
RESERVED_OPTIONS = frozenset({"model", "messages", "stream"})
SERVICE_TIERS = ("auto", "standard_only")
_OPTION_RANGES: dict[str, tuple[type, float, float | None]] = {
    "top_p": (float, 0, 1),
    "top_k": (int, 1, None),
    "thinking_budget": (int, 1, None),
}
_CACHE_MARK = {"type": "ephemeral"}
# `event: error` types worth a retry while no token has been shown yet.
RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


class AnthropicChatModel(ChatModel):
    """A Claude model; mirrors langchain-anthropic's ChatAnthropic chunk for chunk, over any transport."""

    provider = NAME
    event_name = "ChatAnthropic"
    ls_stop_shown = False
    label = LABEL
    #: Options only the direct API takes (a platform refuses them).
    direct_options: tuple[str, ...] = ("transport",)
    #: Settings of this provider's own (a platform's region), which are not request fields.
    own_options: tuple[str, ...] = ()

    def __init__(self, model: str, settings: Any = None, **overrides: Any) -> None:
        super().__init__(model, settings, **overrides)
        self.settings = self._settled(self.settings)
        from .. import request_headers

        #: config.toml's ``headers`` for this provider and --header's, which every request carries.
        self.extra_headers = request_headers(self.provider, self.settings.headers)
        self.transport = self.make_transport()
        self.service = self.transport.service

    # -- what a platform (Bedrock, Vertex) changes --------------------------------------------

    def make_transport(self) -> Any:
        """The transport the settings ask for: httpx (the default) or the SDK."""
        api_key = find_api_key(self.settings.api_key)
        given_url = self.settings.base_url or os.environ.get(BASE_URL_ENV)
        if given_url:
            checked_endpoint(given_url, "--base-url" if self.settings.base_url else BASE_URL_ENV)
        base_url = (given_url or SDK_ENDPOINT).rstrip("/")
        extra = self.extra_headers
        service = Service(
            NAME,
            server_label(NAME, LABEL, base_url, OWN_DOMAIN),
            self.model,
            base_url,
            KEY_ENV,
            secret=api_key,
            more_secrets=header_secrets(extra),
        )
        headers = {"x-api-key": api_key, "anthropic-version": self.api_version(), **self.beta_header()}
        if self.options.get("transport", "httpx") == "sdk":
            from .sdk import SdkTransport

            # The SDK sends the key as a Bearer token; servers and proxies that only read x-api-key get it too.
            given = {"api_key": api_key, "base_url": self.settings.base_url or os.environ.get(BASE_URL_ENV)}
            if not self.sampling():
                del headers["anthropic-version"]  # the SDK sends its own
            return SdkTransport(service, self.settings, {**given, "default_headers": headers}, extra=extra)
        from .http import HttpTransport

        return HttpTransport(service, self.settings, headers, extra)

    def spec_defaults(self) -> dict[str, Any]:
        """What config.toml's ``[providers.NAME]`` set for this provider (transport, max_tokens)."""
        from .. import PROVIDERS

        spec = PROVIDERS.get(self.provider)
        return dict(spec.defaults) if spec is not None else {}

    # -- the request ------------------------------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        return self.settings.options

    def request_body(self, messages: list[BaseMessage], *, stream: bool) -> dict[str, Any]:
        """The Messages API body, the same for every transport and platform."""
        system, turns = to_anthropic_messages(messages)
        if self.options.get("cache"):
            system, turns = with_cache_marks(system, turns)
        body: dict[str, Any] = {"model": self.model, "max_tokens": self.settings.max_tokens, "messages": turns}
        if system:
            body["system"] = system
        if self.settings.stop:
            body["stop_sequences"] = list(self.settings.stop)
        if stream:
            body["stream"] = True
        if self.settings.thinking:
            body["thinking"] = self._thinking()
        if self.options.get("user_id") is not None:
            body["metadata"] = {"user_id": self.options["user_id"]}
        if self.options.get("service_tier") is not None:
            body["service_tier"] = self.options["service_tier"]
        if self.settings.schema is not None:
            from .structured import schema_fields, schema_mode_for

            mode = schema_mode_for(self.model, self.options.get("schema_mode"))
            body.update(schema_fields(self.settings.schema, mode, self.settings.thinking))
        if self.settings.tools:
            body["tools"] = [anthropic_tool(spec) for spec in self.settings.tools]
            if self.settings.tool_choice:
                body["tool_choice"] = anthropic_tool_choice(self.settings.tool_choice)
        body.update(self.sampling())
        body.update(self.passed_on())
        return body

    def _thinking(self) -> dict[str, Any]:
        budget = self.options.get("thinking_budget")
        if budget is None:
            return {"type": "adaptive", "display": "summarized"}
        return {"type": "enabled", "budget_tokens": budget, "display": "summarized"}

    def sampling(self) -> dict[str, Any]:
        given = {"temperature": self.settings.temperature, **self.options}
        return {name: given[name] for name in ("temperature", "top_p", "top_k") if given.get(name) is not None}

    def passed_on(self) -> dict[str, Any]:
        """The ``-o`` fields chatstream does not know: into the body as given."""
        known = {*OPTIONS, *self.own_options}
        return {name: value for name, value in self.options.items() if name not in known}

    def api_version(self) -> str:
        return SAMPLING_API_VERSION if self.sampling() else API_VERSION

    def beta_header(self) -> dict[str, str]:
        betas = self.options.get("betas")
        if not betas:
            return {}
        names = betas if isinstance(betas, list) else str(betas).split(",")
        return {"anthropic-beta": ",".join(str(name).strip() for name in names if str(name).strip())}

    # -- the ChatModel methods --------------------------------------------------------------

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        body = self.request_body(messages, stream=True)

        def open_stream() -> Iterator[AIMessageChunk]:
            translator = StreamTranslator(_wants_blocks(body), self.service.label)
            with closing(self.transport.events(body)) as events:
                yield from translator.chunks(events)

        yield from stream_with_retries(open_stream, self.classify, self._policy(), has_token)

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        body = self.request_body(messages, stream=True)
        async with self.transport.async_client() as client:

            async def open_stream() -> AsyncIterator[AIMessageChunk]:
                translator = StreamTranslator(_wants_blocks(body), self.service.label)
                async with (
                    aclosing(self.transport.aevents(client, body)) as events,
                    aclosing(translator.achunks(events)) as chunks,
                ):
                    async for chunk in chunks:
                        yield chunk

            # aclosing: the stream (and its response) closes before the client does, also on Ctrl-C.
            async with aclosing(astream_with_retries(open_stream, self.classify, self._policy(), has_token)) as chunks:
                async for chunk in chunks:
                    yield chunk

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        body = self.request_body(messages, stream=False)
        data = call_with_retries(lambda: self.transport.message(body), self.classify, self._policy())
        return message_from_response(data)

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        body = self.request_body(messages, stream=False)
        async with self.transport.async_client() as client:
            data = await acall_with_retries(
                lambda: self.transport.amessage(client, body), self.classify, self._policy()
            )
        return message_from_response(data)

    # -- failures ---------------------------------------------------------------------------

    def _policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    def classify(self, exc: Exception) -> Failure | None:
        """The failure behind a transport or stream exception; None for anything else (a bug)."""
        if isinstance(exc, ChatstreamError):
            return Failure(self.service.redact(exc), retryable=_worth_retrying(exc))
        if isinstance(exc, json.JSONDecodeError):  # a 200 whose body is not JSON
            return Failure(not_anthropic("message"))
        return self.transport.classify(exc)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, endpoint={self.service.endpoint!r})"

    # -- settings -----------------------------------------------------------------------------

    def _settled(self, settings: Any) -> Any:
        """Settings with Claude's rules applied: options checked, a max_tokens, a budget below it."""
        options = {**self.spec_defaults(), **settings.options}
        options.pop("max_tokens", None)  # config.toml's, which the command has already applied
        self._check_option_names(options)
        options = {name: _checked(name, value) for name, value in options.items()}
        budget = options.get("thinking_budget")
        max_tokens = settings.max_tokens
        if max_tokens is None:
            max_tokens = max_output_tokens(self.model)
            if budget is not None and budget >= max_tokens:
                max_tokens = budget + ANSWER_ROOM  # room for the answer after the thinking
        elif budget is not None and budget >= max_tokens:
            raise UsageError(
                f"-o thinking_budget {budget} must be less than --max-tokens {max_tokens}",
                "raise --max-tokens or lower the budget",
            )
        return replace(
            settings, max_tokens=max_tokens, thinking=settings.thinking or budget is not None, options=options
        )

    def _check_option_names(self, options: dict[str, Any]) -> None:
        reserved = sorted(RESERVED_OPTIONS & set(options))
        if reserved:
            raise UsageError(f"-o {reserved[0]} cannot be set", "chatstream sets model, messages and stream itself")
        refused = sorted(set(self.direct_options) & set(options)) if self.provider != NAME else []
        if refused:
            raise UsageError(f"-o {refused[0]} is for the anthropic provider only", f"{self.label} uses the SDK")


def find_api_key(given: str | None) -> str:
    """The API key: the one given, else ANTHROPIC_API_KEY, else the stored key; exit 3 without one."""
    if given:
        return given
    from ...keys import key_for
    from .. import PROVIDERS

    key = key_for(PROVIDERS[NAME])
    if not key:
        raise ConfigError("no Anthropic API key", f"set {KEY_ENV} or run `chatstream keys set {NAME}`")
    return key


def _checked(name: str, value: Any) -> Any:
    """One option's value, checked where chatstream knows the field; a usage error naming it otherwise."""
    if name in _OPTION_RANGES:
        return _check_number(name, value, *_OPTION_RANGES[name])
    if name == "cache" and not isinstance(value, bool):
        raise UsageError(f"-o cache {value!r} is not valid", "use -o cache true or -o cache false")
    if name == "transport" and value not in TRANSPORTS:
        raise UsageError(f"-o transport {value!r} is not valid", "use -o transport httpx or -o transport sdk")
    if name == "service_tier" and value not in SERVICE_TIERS:
        raise UsageError(f"-o service_tier {value!r} is not valid", "use auto or standard_only")
    if name == "user_id" and not (isinstance(value, str) and value):
        raise UsageError(f"-o user_id {value!r} is not valid", "use an opaque id string, e.g. -o user_id u-42")
    return value


def _check_number(name: str, value: Any, kind: type, low: float, high: float | None) -> Any:
    """``value`` as ``kind`` when it is one within range; a usage error naming the option otherwise."""
    fits = isinstance(value, int | float) and not isinstance(value, bool) and (kind is float or value == int(value))
    if not fits or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise UsageError(
            f"-o {name} {value!r} is not valid", f"use {'a whole number' if kind is int else 'a number'} {span}"
        )
    return kind(value)


def with_cache_marks(
    system: str | None, turns: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """The system prompt and the conversation so far marked for prompt caching (``cache_control``):
    the system prompt as a text block, and the last block of the last turn."""
    marked_system = [{"type": "text", "text": system, "cache_control": _CACHE_MARK}] if system else None
    if not turns:
        return marked_system, turns
    *earlier, last = turns
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
    if blocks:
        blocks[-1] = {**blocks[-1], "cache_control": _CACHE_MARK}
    return marked_system, [*earlier, {**last, "content": blocks}]


def anthropic_tool(spec: Any) -> dict[str, Any]:
    """A :class:`~chatstream_cli.toolspec.ToolSpec` as a Messages API tool."""
    return {"name": spec.name, "description": spec.description, "input_schema": spec.parameters}


def anthropic_tool_choice(choice: str) -> dict[str, Any]:
    """``any`` (some tool), ``auto``, ``none``, or a tool's name (that tool)."""
    return {"type": choice} if choice in ("any", "auto", "none") else {"type": "tool", "name": choice}


def to_anthropic_messages(messages: list[BaseMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` for the API: system messages joined into ``system``, the rest as turns; the
    results of one reply's tool calls go back together, as ``tool_result`` blocks of one user turn."""
    system = "\n\n".join(content_text(m.content) for m in messages if isinstance(m, SystemMessage))
    turns: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, ToolMessage):
            block = _tool_result(message)
            if turns and turns[-1]["role"] == "user" and turns[-1].get("results"):
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block], "results": True})
            continue
        if isinstance(message, AIMessage):
            turns.append({"role": "assistant", "content": _assistant_content(message)})
        else:
            turns.append({"role": "user", "content": _api_content(message.content)})
    return system or None, [{"role": turn["role"], "content": turn["content"]} for turn in turns]


def _assistant_content(message: AIMessage) -> str | list[dict[str, Any]]:
    """A reply as the API takes it back: its blocks, each ``tool_use`` with the input its call parsed to
    (a streamed block holds only the fragments), or its text and its tool calls as blocks."""
    if not message.tool_calls:
        return _api_content(message.content)
    args = {call["id"]: call["args"] for call in message.tool_calls}
    if isinstance(message.content, str):
        blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
        return blocks + [
            {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call["args"]}
            for call in message.tool_calls
        ]
    content = []
    for block in _api_content(message.content):
        if isinstance(block, dict) and block.get("type") == "tool_use":
            block = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": args.get(block["id"], {})}
        content.append(block)
    return content


def _tool_result(message: ToolMessage) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.text}
    if message.status == "error":
        block["is_error"] = True
    return block


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


def _wants_blocks(body: dict[str, Any]) -> bool:
    """langchain-anthropic's rule: list-of-blocks content when thinking or tools are requested."""
    return bool(body.get("thinking") or body.get("tools"))


def has_token(chunk: AIMessageChunk) -> bool:
    """Whether the chunk carries something the user sees (so retrying would repeat it)."""
    return bool(chunk.content or chunk.tool_call_chunks)


def _worth_retrying(error: ChatstreamError) -> bool:
    """An overload reported inside the stream, or a stream cut short, may pass on a retry."""
    if isinstance(error, ProviderError):
        return error.status == 200 and error.error_type in RETRYABLE_STREAM_ERRORS
    return isinstance(error, NetworkError)
