"""OpenAI Chat Completions over httpx: the ``openai`` provider, its presets (ollama, lmstudio, vllm,
llamacpp, openrouter) and endpoints declared in config.toml. No openai SDK. Azure OpenAI (:mod:`.azure`)
is this model with its own URL, credentials and options (the ``find_*``, ``auth_headers`` and
``own_options`` hooks).

Request: ``POST {base_url}/chat/completions`` with ``stream: true`` and, unless the provider or
``-o stream_usage false`` says otherwise, ``stream_options.include_usage``. Every ``-o KEY VALUE`` goes
into the body as given (``-o top_p 0.9``, ``-o reasoning_effort high``).

Chunks are what langchain-openai's ChatOpenAI yields for the same stream (protocols.md §2, §4): the
role chunk, one chunk per delta, the finish chunk (``finish_reason``, ``model_name``,
``system_fingerprint``, ``service_tier``), the usage chunk from the ``choices: []`` chunk; the base
class appends the closing ``chunk_position="last"`` chunk. Like ChatOpenAI, a chunk reads the first choice
it carries (a server sending several choices interleaves them) and skips a choice without a ``delta``
(Azure's content-filter results); list content (Mistral's thinking and text blocks) passes through as it
came. Beside the chunks a :class:`~chatstream_cli.usage.Report` counts the usage once (a running total
replaces, see :meth:`~chatstream_cli.usage.Report.count`) and keeps one stop reason.
Reasoning deltas (``reasoning_content`` or ``reasoning``), which ChatOpenAI drops, are kept in
``additional_kwargs["reasoning_content"]``;
a refusal's ``refusal`` deltas in the report (:attr:`~chatstream_cli.usage.Report.refusal`), since
ChatOpenAI's streamed chunks drop them, and a whole reply's ``refusal`` in ``additional_kwargs["refusal"]``,
as ChatOpenAI's ``invoke`` keeps it; the content stays empty.
The translation is pure functions over plain dicts (:func:`chunk_from_data`, :func:`message_from_completion`);
failures, retries and the stall timeout are :mod:`..retry`'s, shared with the Anthropic provider.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ... import tls
from ...errors import (
    ChatstreamError,
    ConfigError,
    NetworkError,
    ProviderError,
    UnknownModelError,
    UsageError,
    midstream_error,
)
from ...jsonbody import body_arguments
from ...keys import key_for, require_key
from ...messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    content_text,
)
from ...retry import (
    Failure,
    RetryPolicy,
    Service,
    acall_with_retries,
    api_error_detail,
    astream_with_retries,
    call_with_retries,
    checked_endpoint,
    header_secrets,
    httpx_options,
    response_failure,
    server_label,
    status_failure,
    stream_failure,
    stream_with_retries,
    transport_failure,
    wrong_endpoint_failure,
)
from ...runnable import ChatModel, as_chunk
from ...sse import ServerSentEvent, aiter_sse, is_done, iter_sse
from ...usage import Report, in_declared_order

if TYPE_CHECKING:
    import httpx

    from .. import ProviderSpec

NAME = "openai"
MODEL_PROVIDER = "openai"  # ChatOpenAI's response_metadata["model_provider"], whatever the server
LABELS = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "vllm": "vLLM",
    "llamacpp": "llama.cpp",
    "openrouter": "OpenRouter",
    "azure": "Azure OpenAI",
}
COMPLETION_TOKENS = frozenset({"openai", "azure"})  # the providers that know max_completion_tokens
# The vendors' own domains: any other host answering for these providers is a gateway or proxy, and messages say so.
VENDOR_DOMAINS = {
    "openai": "openai.com",
    "openrouter": "openrouter.ai",
    "azure": "azure.com",
    "anthropic": "anthropic.com",
}
# Field order of the openai SDK's ChoiceLogprobs and ChatCompletionTokenLogprob (TopLogprob: the first three).
_LOGPROBS_FIELDS = ("content", "refusal")
_TOKEN_FIELDS = ("token", "bytes", "logprob", "top_logprobs")
_ENDPOINT_HINT = (
    "check the base URL: it is the part before /chat/completions, usually ending in /v1, "
    "e.g. --base-url http://localhost:11434/v1"
)
RESERVED_OPTIONS = frozenset({"model", "messages", "stream"})
ANTHROPIC_API_VERSION = "2023-06-01"
ANTHROPIC_ENDPOINT = "https://api.anthropic.com"
_REASONING_FIELDS = ("reasoning_content", "reasoning")


class ChatOpenAI(ChatModel):
    """A model behind an OpenAI-compatible endpoint; mirrors langchain-openai's ChatOpenAI chunk for chunk."""

    provider = NAME
    event_name = "ChatOpenAI"

    def __init__(self, model: str, settings: Any = None, *, provider: str = NAME, **overrides: Any) -> None:
        super().__init__(model, settings, **overrides)
        self.spec = provider_spec(provider)
        options = self.own_options({**self.spec.defaults, **self.settings.options})
        self.stream_usage = _flag("stream_usage", options.pop("stream_usage", True))
        _check_one_choice(options.get("n"))
        reserved = sorted(RESERVED_OPTIONS & set(options))
        if reserved:
            raise UsageError(f"-o {reserved[0]} cannot be set", "chatstream sets model, messages and stream itself")
        schema_mode = options.pop("schema_mode", None)
        self.response_format = response_format(self.settings, schema_mode) if self.settings.schema else None
        self.extra_body = options
        self.base_url = self.find_base_url()
        self.api_key = self.find_api_key()
        from .. import request_headers

        self.extra_headers = request_headers(self.spec.name, self.settings.headers)
        self.service = Service(
            self.spec.name,
            service_label(self.spec, self.base_url),
            model,
            self.base_url,
            self.spec.key_env,
            secret=self.api_key,
            more_secrets=header_secrets(self.extra_headers),
        )
        self._session_client: httpx.AsyncClient | None = None
        tls.preload()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, provider={self.spec.name!r}, base_url={self.base_url!r})"

    # -- what a provider on this wire changes (Azure) ----------------------------------------

    def own_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The ``-o`` options that go into the body (a provider takes its own settings out first)."""
        return options

    def find_base_url(self) -> str:
        return base_url_for(self.spec, self.settings.base_url)

    def find_api_key(self) -> str | None:
        return api_key_for(self.spec, self.settings.api_key)

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def rebuilt(self, settings: Any) -> ChatOpenAI:
        return type(self)(self.model, settings, provider=self.spec.name)

    # -- requests ---------------------------------------------------------------------------

    def request_body(self, messages: list[BaseMessage], *, stream: bool) -> dict[str, Any]:
        if self.response_format is not None and self.response_format["type"] == "json_object":
            messages = with_schema_instruction(messages, self.settings.schema)
        body: dict[str, Any] = {"model": self.model, "stream": stream, "messages": to_openai_messages(messages)}
        if self.settings.temperature is not None:
            body["temperature"] = self.settings.temperature
        if self.settings.max_tokens is not None:
            # OpenAI renamed the field; other servers know the old name best.
            body["max_completion_tokens" if self.spec.name in COMPLETION_TOKENS else "max_tokens"] = (
                self.settings.max_tokens
            )
        if self.settings.stop:
            body["stop"] = list(self.settings.stop)
        if stream and self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if self.response_format is not None:
            body["response_format"] = self.response_format
        if self.settings.tools:
            body["tools"] = [spec.as_dict() for spec in self.settings.tools]
            if self.settings.tool_choice:
                body["tool_choice"] = openai_tool_choice(self.settings.tool_choice)
        return {**body, **self.extra_body}

    def _client_options(self, is_async: bool) -> dict[str, Any]:
        headers = {"accept": "application/json", "user-agent": _user_agent(), **self.auth_headers()}
        return httpx_options(
            headers, self.settings.timeout, self.settings.on_request, is_async=is_async, extra=self.extra_headers
        )

    def _client(self) -> httpx.Client:
        import httpx

        return httpx.Client(**self._client_options(is_async=False))

    def _async_client(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(**self._client_options(is_async=True))

    @asynccontextmanager
    async def async_session(self) -> AsyncIterator[None]:
        """One AsyncClient for every async call until the session closes: connections are reused, and the
        TLS setup (tens of milliseconds) is paid once instead of once per request."""
        if self._session_client is not None:
            yield
            return
        async with self._async_client() as client:
            self._session_client = client
            try:
                yield
            finally:
                self._session_client = None

    def _client_in_use(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        """The session's client, or a new one closed after the call."""
        return _borrowed(self._session_client) if self._session_client is not None else self._async_client()

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def payload(self, body: dict[str, Any], *, asynchronous: bool = False) -> dict[str, Any]:
        """The request's body arguments: ``json=``, or, with an attachment, the JSON in pieces (see jsonbody)."""
        return body_arguments(body, lambda: {"json": body}, asynchronous=asynchronous)

    # -- the ChatModel methods --------------------------------------------------------------

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        body = self.request_body(messages, stream=True)
        with self._client() as client:

            def open_stream() -> Iterator[AIMessageChunk]:
                with client.stream("POST", self.url, **self.payload(body)) as response:
                    if not response.is_success:
                        response.read()
                        response.raise_for_status()
                    if _is_json(response):
                        yield from chunks_from_json(response.read(), self.service.label)
                    else:
                        yield from chunks_from_events(iter_sse(response.iter_bytes()), self.service.label)

            yield from stream_with_retries(open_stream, self.classify, self._policy(), has_token)

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        body = self.request_body(messages, stream=True)
        async with self._client_in_use() as client:

            async def open_stream() -> AsyncIterator[AIMessageChunk]:
                async with client.stream("POST", self.url, **self.payload(body, asynchronous=True)) as response:
                    if not response.is_success:
                        await response.aread()
                        response.raise_for_status()
                    if _is_json(response):
                        for chunk in chunks_from_json(await response.aread(), self.service.label):
                            yield chunk
                        return
                    async with aclosing(aiter_sse(response.aiter_bytes())) as events:
                        async for chunk in achunks_from_events(events, self.service.label):
                            yield chunk

            async for chunk in astream_with_retries(open_stream, self.classify, self._policy(), has_token):
                yield chunk

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        body = self.request_body(messages, stream=False)
        with self._client() as client:

            def call() -> AIMessage:
                response = client.post(self.url, **self.payload(body))
                response.raise_for_status()
                return message_from_completion(_json_body(response.content, self.service.label), self.service.label)

            return call_with_retries(call, self.classify, self._policy())

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        body = self.request_body(messages, stream=False)
        async with self._client_in_use() as client:

            async def call() -> AIMessage:
                response = await client.post(self.url, **self.payload(body, asynchronous=True))
                response.raise_for_status()
                return message_from_completion(_json_body(response.content, self.service.label), self.service.label)

            return await acall_with_retries(call, self.classify, self._policy())

    # -- failures ---------------------------------------------------------------------------

    def _policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    def classify(self, exc: Exception) -> Failure | None:
        """The failure behind an httpx or stream exception; None for anything else (a bug)."""
        import httpx

        if isinstance(exc, ChatstreamError):
            return stream_failure(self.service.redact(exc))
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            message, _ = api_error_detail(_json_or_none(response.content))
            return self.wrong_endpoint(response, message) or response_failure(self.service, response)
        return transport_failure(self.service, exc, self.settings.timeout)

    def wrong_endpoint(self, response: httpx.Response, message: str | None) -> Failure | None:
        """For a 404 that is not about the model, the failure that says there is no chat endpoint at the URL
        tried (a base URL without /v1, say); None for any other answer."""
        return wrong_endpoint_failure(self.service, response, message, "chat endpoint", _ENDPOINT_HINT)


@asynccontextmanager
async def _borrowed(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client someone else closes."""
    yield client


def own_domain(spec: ProviderSpec) -> str | None:
    """The provider's own domain (the vendor's); "" for an endpoint config.toml declared (every host is then
    named); None for a local server preset (Ollama is Ollama on whichever machine)."""
    if spec.name in VENDOR_DOMAINS:
        return VENDOR_DOMAINS[spec.name]
    return None if spec.name in LABELS else ""


def service_label(spec: ProviderSpec, base_url: str) -> str:
    """What messages call the server behind ``base_url``: see :func:`server_label`."""
    return server_label(spec.name, LABELS.get(spec.name, spec.name), base_url, own_domain(spec))


def provider_spec(name: str) -> ProviderSpec:
    from .. import PROVIDERS

    spec = PROVIDERS.get(name)
    if spec is None:
        raise UnknownModelError(f"unknown provider {name!r}", "`chatstream models` lists the providers")
    return spec


def base_url_for(spec: ProviderSpec, given: str | None) -> str:
    """The endpoint: the one given (--base-url), else the provider's environment variables, else its default.

    A URL with no path gets the ``/v1`` every OpenAI-compatible server serves: ``http://localhost:11434``
    means ``http://localhost:11434/v1``.
    """
    sources = (
        (given, "--base-url"),
        (_env(spec.base_url_env), spec.base_url_env),
        (_host_url(_env(spec.host_env), spec.base_url), spec.host_env),
        (spec.base_url, f"providers.{spec.name}.base_url in the config file"),
    )
    url, where = next(((url, where) for url, where in sources if url), ("", "--base-url"))
    url = checked_endpoint(url.rstrip("/"), str(where))
    return url if urlsplit(url).path else f"{url}/v1"


def _host_url(host: str | None, default_url: str | None) -> str | None:
    """A host variable as Ollama reads OLLAMA_HOST: ``[scheme://]host[:port]``, http and the default's port
    unless given (``gpu-box`` is ``http://gpu-box:11434``)."""
    if not host:
        return None
    url = host if "://" in host else f"http://{host}"
    try:
        parts = urlsplit(url)
        if parts.port is None and not parts.netloc.endswith("]"):
            url = parts._replace(netloc=f"{parts.netloc}:{urlsplit(default_url or '').port}").geturl()
    except ValueError:  # a port that is no number: checked_endpoint says so
        pass
    return url


def api_key_for(spec: ProviderSpec, given: str | None) -> str | None:
    """The key: the one given, else the environment or stored key; required only where the provider needs one."""
    if given:
        return given
    return require_key(spec) if spec.needs_key else key_for(spec)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"-o {name} must be true or false", f"e.g. -o {name} false")
    return value


def _check_one_choice(n: Any) -> None:
    """chatstream shows one reply: ``-o n`` above 1 would mix several in one stream, as ChatOpenAI does."""
    if isinstance(n, int) and not isinstance(n, bool) and n > 1:
        raise UsageError(f"-o n {n} asks for {n} replies, and chatstream shows one", f"run it {n} times instead")


def _user_agent() -> str:
    from ... import __version__

    return f"chatstream/{__version__}"


# -- structured output ----------------------------------------------------------------------

SCHEMA_MODES = ("json_schema", "json_object")
SCHEMA_INSTRUCTION = "Reply with only a JSON object that satisfies this JSON Schema:\n"


def response_format(settings: Any, mode: Any) -> dict[str, Any]:
    """``response_format`` for the settings' schema: ``json_schema``, strict when the schema can be made
    strict (else non-strict, with a notice), or ``-o schema_mode json_object`` for servers without it."""
    from ...schema.convert import NotStrict, openai_strict

    if mode not in (None, *SCHEMA_MODES):
        raise UsageError(f"-o schema_mode {mode!r} is not valid", "use json_schema (the default) or json_object")
    if mode == "json_object":
        return {"type": "json_object"}
    schema = settings.schema
    try:
        strict: dict[str, Any] = {"schema": openai_strict(schema.wire), "strict": True}
    except NotStrict as why:
        if settings.on_notice is not None:
            settings.on_notice(f"the schema is sent non-strict, so the server does not enforce it: {why}")
        strict = {"schema": schema.wire, "strict": False}
    return {"type": "json_schema", "json_schema": {"name": schema.name, **strict}}


def with_schema_instruction(messages: list[BaseMessage], schema: Any) -> list[BaseMessage]:
    """The messages with the schema in the system prompt (``json_object`` mode: the server sees no schema)."""
    instruction = SCHEMA_INSTRUCTION + json.dumps(schema.wire, ensure_ascii=False)
    if messages and isinstance(messages[0], SystemMessage):
        system = f"{content_text(messages[0].content)}\n\n{instruction}"
        return [SystemMessage(content=system), *messages[1:]]
    return [SystemMessage(content=instruction), *messages]


# -- messages out ---------------------------------------------------------------------------


def openai_tool_choice(choice: str) -> Any:
    """``any`` (some tool: "required"), ``auto``, ``none``, or a tool's name (that function)."""
    if choice in ("auto", "none"):
        return choice
    return "required" if choice == "any" else {"type": "function", "function": {"name": choice}}


def to_openai_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """The ``messages`` of the request, with ChatOpenAI's key order (content, then role); a reply's tool
    calls as ``tool_calls``, each result as a ``role: "tool"`` message."""
    converted = []
    for message in messages:
        item: dict[str, Any] = {"content": _api_content(message.content), "role": _role(message)}
        if message.name and not isinstance(message, ToolMessage):
            item["name"] = message.name
        if isinstance(message, AIMessage) and message.tool_calls:
            item["content"] = item["content"] or None
            item["tool_calls"] = [
                {
                    "type": "function",
                    "id": call["id"],
                    "function": {"name": call["name"], "arguments": json.dumps(call["args"], ensure_ascii=False)},
                }
                for call in message.tool_calls
            ]
        if isinstance(message, ToolMessage):
            item["tool_call_id"] = message.tool_call_id
        converted.append(item)
    return converted


def _api_content(content: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """The text, or, when the content holds images or files, ChatOpenAI's parts: ``text``, ``image_url``
    (a data URL or the URL) and ``file`` (a PDF as a data URL with its filename)."""
    if isinstance(content, str) or not any(block.get("type") in ("image", "file") for block in content):
        return content_text(content)
    return [_api_part(block) for block in content if block.get("type") != "text" or block.get("text")]


def _api_part(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "image":
        url = block.get("url") or f"data:{block['mime_type']};base64,{block['base64']}"
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "file":
        if "url" in block:
            raise UsageError(
                "OpenAI-compatible servers take PDFs as files, not URLs", "download the PDF and attach the file"
            )
        data_url = f"data:{block['mime_type']};base64,{block['base64']}"
        return {"type": "file", "file": {"filename": block.get("filename") or "file.pdf", "file_data": data_url}}
    return {"type": "text", "text": block.get("text", "")}


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, ToolMessage):
        return "tool"
    return "assistant"


# -- chunks in ------------------------------------------------------------------------------


class StreamTranslator:
    """Turns SSE events into chunks; knows when the stream ended and whether it was a stream at all."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.events = 0
        self.done = False
        self.finished = False  # a choice said why it stopped
        self.report = Report()
        self.choice_indexes: set[Any] = set()

    def translate(self, event: ServerSentEvent) -> AIMessageChunk | None:
        self.events += 1
        if is_done(event):
            self.done = True
            return None
        data = _error_event_json(event) if event.event == "error" else _event_json(event, self.label)
        self._note(data)
        error = error_in(data)
        if event.event == "error" or error is not None:
            failure = stream_error(data if error is None else error, self.label)
            failure.report = self.report  # OpenRouter's error chunk carries the usage so far
            raise failure
        chunk = chunk_from_data(data)
        if chunk is not None:
            chunk.report = self.report
        return chunk

    def _note(self, data: dict[str, Any]) -> None:
        """Update the report with what one chunk says: its usage, why a choice stopped, a refusal's text."""
        usage = data.get("usage")
        if usage and isinstance(usage, dict):
            self.report.count(usage_metadata_from(usage, data.get("service_tier")))
        self.report.named(data.get("model"))
        for choice in data.get("choices") or ():
            if isinstance(choice, dict):
                self.choice_indexes.add(choice.get("index", 0))
                self.report.stopped(choice.get("finish_reason"))
                if choice.get("finish_reason") == "content_filter":
                    self.report.note = content_filter_note(choice.get("content_filter_results"))
                if isinstance(choice.get("delta"), dict):
                    self.report.refused(choice["delta"].get("refusal"))
                self.finished = self.finished or bool(choice.get("finish_reason"))
        self.report.choices = max(1, len(self.choice_indexes))

    def check_complete(self) -> None:
        """At the end of the body: a stream without a single event is not an answer, and one that ends
        with neither ``[DONE]`` nor a ``finish_reason`` was cut short."""
        if not self.events:
            raise not_a_stream_error(self.label)
        if not (self.done or self.finished):
            raise NetworkError(f"the stream from {self.label} ended before the reply was complete", "try again")


def content_filter_note(results: Any) -> str:
    """The stderr line of a content-filter stop, naming what Azure's filter flagged (``violence: medium``)."""
    flagged = [
        f"{name}: {result.get('severity') or 'filtered'}"
        for name, result in (results.items() if isinstance(results, dict) else ())
        if isinstance(result, dict) and result.get("filtered")
    ]
    which = f"; {', '.join(flagged)}" if flagged else ""
    return f"the provider's content filter refused the rest of the reply (finish_reason content_filter{which})"


def chunks_from_events(events: Iterable[ServerSentEvent], label: str) -> Iterator[AIMessageChunk]:
    """The chunks of a whole stream of events; stops reading at ``data: [DONE]``."""
    translator = StreamTranslator(label)
    for event in events:
        chunk = translator.translate(event)
        if chunk is not None:
            yield chunk
        if translator.done:
            break
    translator.check_complete()


async def achunks_from_events(events: AsyncIterable[ServerSentEvent], label: str) -> AsyncIterator[AIMessageChunk]:
    """:func:`chunks_from_events` for an asynchronous stream of events."""
    translator = StreamTranslator(label)
    async for event in events:
        chunk = translator.translate(event)
        if chunk is not None:
            yield chunk
        if translator.done:
            break
    translator.check_complete()


def chunks_from_json(body: bytes, label: str) -> list[AIMessageChunk]:
    """A JSON answer to a streaming request: the error it carries, the whole reply of a server that does
    not stream (one chunk, as for any whole reply), or events under the wrong content type."""
    data = _json_or_none(body)
    error = error_in(data) if isinstance(data, dict) else None
    if error is not None:
        raise stream_error(error, label)
    if isinstance(data, dict) and data.get("choices"):
        return [as_chunk(message_from_completion(data, label))]
    return list(chunks_from_events(iter_sse([body]), label))


def chunk_from_data(data: dict[str, Any]) -> AIMessageChunk | None:
    """One ``chat.completion.chunk`` as ChatOpenAI's AIMessageChunk: its first choice (None for a choice
    without a delta)."""
    usage = data.get("usage")
    usage_metadata = usage_metadata_from(usage, data.get("service_tier")) if usage and isinstance(usage, dict) else None
    choices = data.get("choices") or []
    if not choices:
        # Built with its usage, so LangChain's validation puts the usage keys in their declared order.
        return AIMessageChunk(content="", usage_metadata=in_declared_order(usage_metadata) if usage_metadata else None)
    choice = choices[0]
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return None
    metadata: dict[str, Any] = {}
    finish_reason = choice.get("finish_reason")
    if finish_reason:
        metadata["finish_reason"] = finish_reason
        for key, field in (("model_name", "model"), ("system_fingerprint", "system_fingerprint")):
            if data.get(field):
                metadata[key] = data[field]
        if data.get("service_tier"):
            metadata["service_tier"] = data["service_tier"]
    if choice.get("logprobs"):
        metadata["logprobs"] = dumped_logprobs(choice["logprobs"])
    metadata["model_provider"] = MODEL_PROVIDER
    return AIMessageChunk(
        content=delta.get("content") or "",
        additional_kwargs=_reasoning(delta),
        response_metadata=metadata,
        id=delta.get("id"),
        usage_metadata=usage_metadata,
        tool_call_chunks=_tool_call_chunks(delta.get("tool_calls")),
    )


def dumped_logprobs(logprobs: Any) -> Any:
    """A choice's ``logprobs`` as the openai SDK's models dump them (ChatOpenAI's): their fields in the
    models' order, absent ones None, unknown ones after; the wire's order is ``token, logprob, bytes``."""
    if not isinstance(logprobs, dict):
        return logprobs
    dumped = _in_model_order(logprobs, _LOGPROBS_FIELDS)
    for key in _LOGPROBS_FIELDS:
        if isinstance(dumped[key], list):
            dumped[key] = [_dumped_token(token) for token in dumped[key]]
    return dumped


def _dumped_token(token: Any) -> Any:
    if not isinstance(token, dict):
        return token
    dumped = _in_model_order(token, _TOKEN_FIELDS)
    if isinstance(dumped["top_logprobs"], list):
        dumped["top_logprobs"] = [
            _in_model_order(top, _TOKEN_FIELDS[:3]) if isinstance(top, dict) else top for top in dumped["top_logprobs"]
        ]
    return dumped


def _in_model_order(value: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: value.get(field) for field in fields} | value


def _reasoning(delta: dict[str, Any]) -> dict[str, Any]:
    for field in _REASONING_FIELDS:
        value = delta.get(field)
        if isinstance(value, str) and value:
            return {"reasoning_content": value}
    return {}


def _tool_call_chunks(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    try:
        return [
            {
                "name": call["function"].get("name"),
                "args": call["function"].get("arguments"),
                "id": call.get("id"),
                "index": call.get("index"),  # llama-box sends none: the SDK model dumps it as null
                "type": "tool_call_chunk",
            }
            for call in raw
        ]
    except (KeyError, TypeError, AttributeError):  # ChatOpenAI drops malformed tool-call deltas too
        return []


def usage_metadata_from(usage: dict[str, Any], service_tier: str | None = None) -> dict[str, Any]:
    """langchain-openai's ``_create_usage_metadata``: token counts, with details where the server gave them."""
    input_tokens = usage.get("prompt_tokens") or 0
    output_tokens = usage.get("completion_tokens") or 0
    total = usage.get("total_tokens")
    tier = service_tier if service_tier in ("priority", "flex") else None
    prefix = f"{tier}_" if tier else ""
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    input_details = {
        "audio": prompt_details.get("audio_tokens"),
        f"{prefix}cache_read": prompt_details.get("cached_tokens"),
        f"{prefix}cache_creation": prompt_details.get("cache_write_tokens"),
    }
    output_details = {
        "audio": completion_details.get("audio_tokens"),
        f"{prefix}reasoning": completion_details.get("reasoning_tokens"),
    }
    if tier:  # tier tokens exclude the cached and reasoning ones, which are priced apart
        input_details[tier] = input_tokens - (input_details[f"{prefix}cache_read"] or 0)
        output_details[tier] = output_tokens - (output_details[f"{prefix}reasoning"] or 0)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total if total is not None else input_tokens + output_tokens,
        "input_token_details": {key: value for key, value in input_details.items() if value is not None},
        "output_token_details": {key: value for key, value in output_details.items() if value is not None},
    }


def message_from_completion(data: dict[str, Any], label: str) -> AIMessage:
    """A non-streaming ``chat.completion`` as ChatOpenAI's ``invoke()`` result."""
    error = error_in(data)
    if error is not None:
        raise stream_error(error, label)
    choices = data.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    usage = data.get("usage")
    additional_kwargs: dict[str, Any] = {"refusal": message.get("refusal")}
    additional_kwargs.update(_reasoning(message))
    metadata: dict[str, Any] = {
        "token_usage": usage,
        "model_provider": MODEL_PROVIDER,
        "model_name": data.get("model"),
        "system_fingerprint": data.get("system_fingerprint", ""),
    }
    for key in ("id", "service_tier"):
        if key in data:
            metadata[key] = data[key]
    metadata["finish_reason"] = choice.get("finish_reason")
    if "logprobs" in choice:
        metadata["logprobs"] = dumped_logprobs(choice["logprobs"])
    calls, invalid = _completed_tool_calls(message.get("tool_calls"))
    return AIMessage(
        content=message.get("content") or "",
        additional_kwargs=additional_kwargs,
        response_metadata=metadata,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata_from(usage, data.get("service_tier")) if isinstance(usage, dict) else None,
    )


def _completed_tool_calls(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A whole reply's ``tool_calls`` as ChatOpenAI parses them: valid JSON arguments, or an invalid call."""
    calls, invalid = [], []
    for item in raw if isinstance(raw, list) else []:
        function = item.get("function") or {}
        name, arguments, ident = function.get("name"), function.get("arguments") or "", item.get("id")
        try:
            args = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError as exc:
            args, error = None, str(exc)
        if isinstance(args, dict):
            calls.append({"name": name, "args": args, "id": ident, "type": "tool_call"})
        else:
            error = error if args is None else "the arguments are not a JSON object"
            invalid.append({"name": name, "args": arguments, "id": ident, "error": error, "type": "invalid_tool_call"})
    return calls, invalid


def has_token(chunk: AIMessageChunk) -> bool:
    """Whether the chunk shows the user something (so retrying would repeat it)."""
    return bool(chunk.content or chunk.tool_call_chunks or chunk.additional_kwargs.get("reasoning_content"))


# -- what goes wrong in a 200 response ---------------------------------------------------------


def stream_error(error: Any, label: str) -> ProviderError:
    """The ``{"error": {...}}`` object a server sends instead of (or in the middle of) a reply."""
    message, kind = api_error_detail({"error": error})
    return midstream_error(label, message, kind)


def error_in(data: dict[str, Any]) -> Any:
    """The error a 200 body carries, else None: an ``error`` member, even beside ``choices`` (OpenRouter's
    mid-stream errors end a choice with ``finish_reason: "error"``), or vLLM's ``{"object": "error", ...}``."""
    if data.get("error"):
        return data["error"]
    return data if data.get("object") == "error" else None


def not_a_stream_error(label: str) -> ProviderError:
    return ProviderError(
        f"the reply from {label} is not an OpenAI-compatible event stream",
        "check --base-url: it must end in the API's /v1",
        error_type="invalid_response",
    )


def _error_event_json(event: ServerSentEvent) -> dict[str, Any]:
    """An ``event: error`` (or ``error:`` field) as an error object; text that is not JSON is the message."""
    data = _json_or_none(event.data.encode())
    return data if isinstance(data, dict) else {"error": {"message": event.data.strip() or None}}


def _event_json(event: ServerSentEvent, label: str) -> dict[str, Any]:
    try:
        data = json.loads(event.data)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderError(
            f"{label} sent an event that is not a JSON object", "check --base-url", error_type="invalid_response"
        )
    return data


def _json_body(body: bytes, label: str) -> dict[str, Any]:
    data = _json_or_none(body)
    if not isinstance(data, dict):
        raise ProviderError(f"the reply from {label} is not JSON", "check --base-url", error_type="invalid_response")
    return data


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


# -- remote model lists (`chatstream models --remote`) ------------------------------------------


def remote_models(spec: ProviderSpec, timeout: float | None, base_url: str | None = None) -> list[str]:
    """The model ids the provider's endpoint (``base_url``: --base-url) lists: ``GET {base}/models``
    (OpenAI-compatible) or ``GET {base}/v1/models`` (Anthropic); both answer ``{"data": [{"id": ...}, ...]}``."""
    import httpx

    key = key_for(spec)
    if spec.name == "anthropic":
        base = (_env(spec.base_url_env) or spec.base_url or ANTHROPIC_ENDPOINT).rstrip("/")
        url, headers = f"{base}/v1/models?limit=1000", {"anthropic-version": ANTHROPIC_API_VERSION}
        if key:
            headers["x-api-key"] = key
    else:
        base = base_url_for(spec, base_url)
        url, headers = f"{base}/models", {"authorization": f"Bearer {key}"} if key else {}
    service = Service(spec.name, service_label(spec, base), "", base, spec.key_env, secret=key)
    try:
        with httpx.Client(**httpx_options(headers, timeout, None, is_async=False)) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        failure = transport_failure(service, exc, timeout)
        if failure is None:
            raise
        raise failure.error from None
    if response.status_code == 404:  # here the URL is wrong, not a model
        raise ConfigError(f"{service.label} has no model list at {url} (HTTP 404)", "check the base URL")
    if response.is_error:
        message, kind = api_error_detail(_json_or_none(response.content))
        raise status_failure(service, response.status_code, message=message, error_type=kind).error
    data = _json_or_none(response.content)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ProviderError(f"{service.label} sent no model list from {url}", "check the base URL")
    return sorted(str(entry["id"]) for entry in entries if isinstance(entry, dict) and entry.get("id"))


def _env(name: str | None) -> str | None:
    return os.environ.get(name) if name else None
