"""The Gemini API's JSON, both ways, as pure functions over plain dicts: the ``generateContent`` request
body out, ``GenerateContentResponse`` events in as the chunks langchain-google-genai's
ChatGoogleGenerativeAI yields for them (its ``_response_to_result`` and ``_parse_response_candidate``).

What LangChain does, and so what the chunks do:

* ``usageMetadata`` is a running total on every event; each chunk carries the difference from the sum
  of the chunks before it (``subtract_usage``), thoughts counted in the output and as ``reasoning``;
* the first candidate's parts become the content: text as a string, thought parts as ``thinking`` blocks
  (and any text beside them as ``text`` blocks), and for Gemini 3 and later always blocks, each with the
  stream ``index`` LangChain's block indexer gives it; a ``thoughtSignature`` goes with its block;
* ``response_metadata`` is the generation info (``finish_reason`` and ``model_name`` on the event that
  ends the candidate, its ``safety_ratings``) and then the message's own (``model_provider``, and for a
  refusal the ``finish_reason`` again and its ``finish_message``);
* an event without candidates (a blocked prompt) is an empty chunk whose metadata holds the
  ``prompt_feedback``;
* a ``functionCall`` part (always whole) is a tool-call chunk and a tool call, its thought signature kept
  in ``additional_kwargs`` by call id (LangChain's key) to go back with the call.

Beside the chunks a :class:`~chatstream_cli.usage.Report` keeps the latest running total, the stop
reason, the model version and the note a stop calls for (safety, recitation, a blocked prompt).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from ...errors import ChatstreamError, NetworkError, ProviderError, UsageError, midstream_error
from ...messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    SystemMessage,
    ToolMessage,
    content_text,
    tool_call_chunk,
    tool_calls_from_chunks,
)
from ...sse import ServerSentEvent
from ...usage import Report, Usage, in_declared_order

MODEL_PROVIDER = "google_genai"
LABEL = "Gemini"
REFUSAL_REASONS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST"})
"""Finish reasons LangChain repeats in the message's own metadata (a refusal)."""
SAFETY_REASONS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"})
RECITATION_REASONS = frozenset({"RECITATION", "IMAGE_RECITATION"})
ORDINARY_REASONS = frozenset({"STOP", "MAX_TOKENS", "FINISH_REASON_UNSPECIFIED"})
SAFETY_RATING_FIELDS = (
    ("blocked", "blocked"),
    ("category", "category"),
    ("overwritten_threshold", "overwrittenThreshold"),
    ("probability", "probability"),
    ("probability_score", "probabilityScore"),
    ("severity", "severity"),
    ("severity_score", "severityScore"),
)
_MERGEABLE_BLOCKS = frozenset({"text", "thinking"})
_GEMINI_MAJOR = re.compile(r"gemini-(\d+)")
#: Request fields that are not generationConfig's: ``-o`` names them at the top of the body.
TOP_LEVEL_OPTIONS = frozenset({"safetySettings", "safety_settings", "cachedContent", "cached_content", "labels"})
THINKING_OPTIONS = {"thinking_budget": "thinkingBudget", "thinking_level": "thinkingLevel"}
RESERVED_OPTIONS = frozenset({"contents", "systemInstruction", "system_instruction", "generationConfig"})
#: Where a reply keeps its function calls' thought signatures, by call id (langchain-google-genai's key):
#: Gemini 3 refuses a functionCall sent back without the signature it came with.
SIGNATURES_KEY = "__gemini_function_call_thought_signatures__"


# -- the request ------------------------------------------------------------------------------


def request_body(
    messages: list[BaseMessage],
    *,
    temperature: float | None,
    max_tokens: int | None,
    stop: tuple[str, ...],
    thinking: bool,
    options: dict[str, Any],
    tools: Sequence[Any] = (),
    tool_choice: str | None = None,
    response_schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``generateContent`` body. ``tools`` (ToolSpecs) go as function declarations, ``response_schema``
    (the ``--schema``) as ``responseJsonSchema`` with a JSON reply asked for."""
    system, contents = to_contents(messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if tools:
        body["tools"] = [{"functionDeclarations": [function_declaration(spec) for spec in tools]}]
        if tool_choice:
            body["toolConfig"] = {"functionCallingConfig": function_calling_config(tool_choice)}
    config = generation_config(temperature, max_tokens, stop, thinking, options)
    if response_schema is not None:
        config |= {"responseMimeType": "application/json", "responseJsonSchema": response_schema}
    if config:
        body["generationConfig"] = config
    body.update({name: value for name, value in options.items() if name in TOP_LEVEL_OPTIONS})
    return body


def function_declaration(spec: Any) -> dict[str, Any]:
    """A ToolSpec as a ``FunctionDeclaration``; ``parametersJsonSchema`` takes the JSON Schema as it is
    (``parameters`` would want Google's OpenAPI subset, which refuses e.g. ``additionalProperties``)."""
    return {"name": spec.name, "description": spec.description, "parametersJsonSchema": spec.parameters}


def function_calling_config(choice: str) -> dict[str, Any]:
    """``auto``, ``none``, ``any`` (some function) or a tool's name (that function: ANY, only it allowed)."""
    if choice in ("auto", "none", "any"):
        return {"mode": choice.upper()}
    return {"mode": "ANY", "allowedFunctionNames": [choice]}


def generation_config(
    temperature: float | None, max_tokens: int | None, stop: tuple[str, ...], thinking: bool, options: dict[str, Any]
) -> dict[str, Any]:
    """``generationConfig``: the settings chatstream knows, then every other ``-o`` as given."""
    reserved = sorted(RESERVED_OPTIONS & set(options))
    if reserved:
        raise UsageError(f"-o {reserved[0]} cannot be set", "chatstream builds the contents and generationConfig")
    config: dict[str, Any] = {}
    if temperature is not None:
        config["temperature"] = temperature
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    if stop:
        config["stopSequences"] = list(stop)
    thinking_config = {"includeThoughts": True} if thinking else {}
    for name, value in options.items():
        if name in THINKING_OPTIONS:
            thinking_config[THINKING_OPTIONS[name]] = value
        elif name not in TOP_LEVEL_OPTIONS:
            config[name] = value
    if thinking_config:
        config["thinkingConfig"] = {**config.get("thinkingConfig", {}), **thinking_config}
    return config


def to_contents(messages: list[BaseMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system instruction, contents)``: system messages joined, the others as ``user``/``model`` turns,
    a reply's tool calls as ``functionCall`` parts and the tools' results after it as one ``user`` turn of
    ``functionResponse`` parts (Gemini wants every call of a turn answered in the next)."""
    system = "\n\n".join(content_text(m.content) for m in messages if isinstance(m, SystemMessage))
    contents: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, ToolMessage):
            if contents and contents[-1].get("role") == "user" and "functionResponse" in contents[-1]["parts"][0]:
                contents[-1]["parts"].append(function_response(message))
            else:
                contents.append({"role": "user", "parts": [function_response(message)]})
        elif isinstance(message, AIMessage):
            contents.append({"role": "model", "parts": _model_parts(message)})
        else:
            contents.append({"role": "user", "parts": _parts(message)})
    return system or None, contents


def _model_parts(message: AIMessage) -> list[dict[str, Any]]:
    """A reply's parts: its text, then a ``functionCall`` per tool call, each with its thought signature."""
    if not message.tool_calls:
        return _parts(message)
    signatures = message.additional_kwargs.get(SIGNATURES_KEY) or {}
    parts = [part for part in _parts(message) if part.get("text") or "inline_data" in part]
    for call in message.tool_calls:
        part: dict[str, Any] = {"functionCall": {"name": call["name"], "args": call["args"]}}
        if signatures.get(call["id"]):
            part["thoughtSignature"] = signatures[call["id"]]
        parts.append(part)
    return parts


def function_response(message: ToolMessage) -> dict[str, Any]:
    """A tool's result as a ``functionResponse`` part: ``{"result": ...}``, or ``{"error": ...}`` when it failed."""
    key = "error" if message.status == "error" else "result"
    return {"functionResponse": {"name": message.name or "", "response": {key: content_text(message.content)}}}


def _parts(message: BaseMessage) -> list[dict[str, Any]]:
    content = message.content
    if isinstance(content, str):
        return [{"text": content}]
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append({"text": block})
        elif block.get("type") in ("image", "file"):
            parts.append(_inline_data(block))
        elif block.get("type") == "text" and block.get("text"):
            parts.append({"text": block["text"]})
    return parts or [{"text": ""}]


def _inline_data(block: dict[str, Any]) -> dict[str, Any]:
    """An attachment as an ``inline_data`` part (Gemini fetches no URL given in a prompt)."""
    if "url" in block:
        raise UsageError("Gemini takes attachments as files, not URLs", "download it and attach the file")
    return {"inline_data": {"mime_type": block["mime_type"], "data": block["base64"]}}


# -- the response ------------------------------------------------------------------------------


class StreamTranslator:
    """Turns the events of one response into chunks, keeping LangChain's running state (the usage so far,
    the block indexer) and the report."""

    def __init__(self, label: str = LABEL) -> None:
        self.label = label
        self.events = 0
        self.finished = False
        self.report = Report()
        self._usage_so_far: Usage | None = None
        self._open_block: str | None = None
        self._open_index = -1
        self._next_index = 0
        self._calls = 0

    def translate(self, event: ServerSentEvent) -> AIMessageChunk:
        self.events += 1
        data = event_json(event.data, self.label)
        if "error" in data:
            raise stream_error(data["error"], self.label)
        chunk = self.chunk(data)
        chunk.report = self.report
        return chunk

    def chunk(self, data: dict[str, Any]) -> AIMessageChunk:
        """The chunk of one ``GenerateContentResponse``."""
        cumulative = usage_from(data.get("usageMetadata"))
        if cumulative is not None:
            self.report.usage = cumulative
        self.report.named(data.get("modelVersion"))
        usage = self._step(cumulative)
        candidates = data.get("candidates") or []
        if not candidates:
            chunk = blocked_prompt_chunk(data, usage)
            # Notes name the model's family (its safety filters are Gemini's whoever relays them); errors, the server.
            self.report.note = prompt_feedback_note(data.get("promptFeedback"), LABEL) or self.report.note
            self.finished = self.finished or "promptFeedback" in data
        else:
            chunk = candidate_chunk(candidates[0], data.get("modelVersion"), usage)
            self._add_function_calls(chunk, candidates[0], data.get("responseId"))
            self._index_blocks(chunk)
            reason = candidates[0].get("finishReason")
            if reason:
                self.finished = True
                self.report.stopped(reason)
                self.report.note = finish_note(reason, candidates[0], LABEL)
        return chunk

    def _step(self, cumulative: Usage | None) -> Usage | None:
        """This event's share of the usage: its running total less the chunks' sum so far."""
        usage = subtract_usage(cumulative, self._usage_so_far) if cumulative is not None else None
        if usage is not None and self._usage_so_far is not None:
            earlier_input = self._usage_so_far.get("input_tokens", 0)
            if cumulative is not None and cumulative["input_tokens"] < earlier_input:
                usage["input_tokens"] = cumulative["input_tokens"] - earlier_input  # Gemini 2.0's lower final count
        self._usage_so_far = usage if self._usage_so_far is None else add_counts(self._usage_so_far, usage)
        return usage

    def _add_function_calls(self, chunk: AIMessageChunk, candidate: dict[str, Any], response_id: Any) -> None:
        """The candidate's ``functionCall`` parts as tool-call chunks, numbered across the reply. Gemini
        streams each call whole and names most without an id, so a missing one is made from the response's
        id and the call's place in it: the same bytes give the same ids."""
        chunks, signatures = [], {}
        for part in (candidate.get("content") or {}).get("parts") or []:
            call = part.get("functionCall")
            if not isinstance(call, dict):
                continue
            ident = call.get("id") or generated_call_id(response_id, self._calls, call)
            chunks.append(tool_call_chunk(call.get("name"), json.dumps(call.get("args") or {}), ident, self._calls))
            if isinstance(part.get("thoughtSignature"), str):
                signatures[ident] = part["thoughtSignature"]
            self._calls += 1
        if chunks:
            chunk.tool_call_chunks = chunks
            chunk.tool_calls, chunk.invalid_tool_calls = tool_calls_from_chunks(chunks)
        if signatures:
            chunk.additional_kwargs[SIGNATURES_KEY] = signatures

    def _index_blocks(self, chunk: AIMessageChunk) -> None:
        """LangChain's ``_StreamBlockIndexer``: text and thinking blocks continuing the open block share its
        index; every other block gets the next one."""
        if not isinstance(chunk.content, list):
            return
        for block in chunk.content:
            if not isinstance(block, dict) or "type" not in block:
                continue
            kind = block["type"]
            if not (kind == self._open_block and kind in _MERGEABLE_BLOCKS):
                self._open_block, self._open_index = kind, self._next_index
                self._next_index += 1
            block.setdefault("index", self._open_index)

    def check_complete(self) -> None:
        if not self.events:
            raise ProviderError(
                f"the reply from {self.label} has no events", "check --base-url", error_type="invalid_response"
            )
        if not self.finished:
            raise NetworkError(f"the stream from {self.label} ended before the reply was complete", "try again")


def chunks_from_events(events: Iterable[ServerSentEvent], label: str = LABEL) -> Iterator[AIMessageChunk]:
    """The chunks of a whole stream; a stream that ends without a finish reason was cut short."""
    translator = StreamTranslator(label)
    for event in events:
        if event.data:
            yield translator.translate(event)
    translator.check_complete()


async def achunks_from_events(
    events: AsyncIterable[ServerSentEvent], label: str = LABEL
) -> AsyncIterator[AIMessageChunk]:
    """:func:`chunks_from_events` for an asynchronous stream of events."""
    translator = StreamTranslator(label)
    async for event in events:
        if event.data:
            yield translator.translate(event)
    translator.check_complete()


def generated_call_id(response_id: Any, number: int, call: dict[str, Any]) -> str:
    seed = json.dumps([response_id, number, call.get("name"), call.get("args")], sort_keys=True, default=str)
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def candidate_chunk(candidate: dict[str, Any], model_version: str | None, usage: Usage | None) -> AIMessageChunk:
    reason = candidate.get("finishReason")
    info: dict[str, Any] = {}
    own: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
    if reason:
        info |= {"finish_reason": reason, "model_name": model_version or ""}
        if model_version:
            own["model_name"] = model_version
    ratings = candidate.get("safetyRatings")
    info["safety_ratings"] = [safety_rating(rating) for rating in ratings] if ratings else []
    if reason in REFUSAL_REASONS:
        own["finish_reason"] = reason
        if candidate.get("finishMessage"):
            own["finish_message"] = candidate["finishMessage"]
    return AIMessageChunk(
        content=candidate_content(candidate, model_version),
        response_metadata={**info, **own},
        usage_metadata=usage,
    )


def candidate_content(candidate: dict[str, Any], model_version: str | None) -> str | list[Any]:
    """The parts as LangChain's content: a string of text, or blocks once a thought or a signature comes."""
    blocks_always = is_gemini_3_or_later(model_version)
    content: str | list[Any] | None = None
    for part in (candidate.get("content") or {}).get("parts") or []:
        text = part.get("text")
        signature = _signature(part.get("thoughtSignature"))
        if part.get("thought"):
            thought: dict[str, Any] = {"type": "thinking", "thinking": text}
            if signature:
                thought["signature"] = signature
            content = _appended(content, thought)
        elif text or (text is not None and signature):
            block: dict[str, Any] = {"type": "text", "text": text or ""}
            if signature:
                block["extras"] = {"signature": signature}
            beside_thinking = isinstance(content, list) and any(
                isinstance(item, dict) and item.get("type") == "thinking" for item in content
            )
            content = _appended(content, block if signature or blocks_always or beside_thinking else text or "")
    if content is None:
        return [] if blocks_always else ""
    return content


def _appended(content: str | list[Any] | None, item: Any) -> str | list[Any]:
    if content is None:
        return item if isinstance(item, str) else [item]
    if isinstance(content, str):
        return [content, item]
    return [*content, item]


def _signature(raw: Any) -> str | None:
    """A thought signature as LangChain keeps it: the bytes base64-encoded again (so normalised)."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_" if "-" in raw or "_" in raw else None)
    except (binascii.Error, ValueError):
        return raw
    return base64.b64encode(decoded).decode("ascii") or None


def blocked_prompt_chunk(data: dict[str, Any], usage: Usage | None) -> AIMessageChunk:
    """An event without candidates: the prompt was blocked, or a server sent only usage."""
    metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
    feedback = data.get("promptFeedback")
    if feedback:
        ratings = feedback.get("safetyRatings")
        metadata["prompt_feedback"] = {
            "block_reason": feedback.get("blockReason"),
            "block_reason_message": feedback.get("blockReasonMessage"),
            "safety_ratings": [safety_rating(rating) for rating in ratings] if ratings is not None else None,
        }
    return AIMessageChunk(content="", response_metadata=metadata, usage_metadata=usage)


def safety_rating(rating: dict[str, Any]) -> dict[str, Any]:
    """One safety rating as google-genai's ``SafetyRating.model_dump()``: every field, snake_case."""
    return {name: rating.get(wire) for name, wire in SAFETY_RATING_FIELDS}


def is_gemini_3_or_later(model: str | None) -> bool:
    """LangChain's test (on the model version the server names) for content that is always blocks."""
    normalised = re.sub(r"^[a-z]{2,}\.(?=(?:gemini|gemma)-)", "", (model or "").lower().rsplit("/", 1)[-1])
    return any(int(major) >= 3 for major in _GEMINI_MAJOR.findall(normalised))


# -- usage ------------------------------------------------------------------------------------


def usage_from(metadata: Any) -> Usage | None:
    """``usageMetadata`` (a running total) as usage_metadata; None when it counts nothing."""
    if not isinstance(metadata, dict):
        return None
    input_tokens = (metadata.get("promptTokenCount") or 0) + (metadata.get("toolUsePromptTokenCount") or 0)
    thoughts = metadata.get("thoughtsTokenCount") or 0
    output_tokens = (metadata.get("candidatesTokenCount") or 0) + thoughts
    total = metadata.get("totalTokenCount") or 0
    cached = metadata.get("cachedContentTokenCount") or 0
    if input_tokens + output_tokens + cached + total <= 0:
        return None
    usage: Usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total,
        "input_token_details": {"cache_read": cached},
    }
    if thoughts > 0:
        usage["output_token_details"] = {"reasoning": thoughts}
    return usage


def subtract_usage(left: Usage | None, right: Usage | None) -> Usage:
    """langchain-core's ``subtract_usage``: field by field, never below zero. (LangChain builds the result
    from a set of the keys, so their order varies from one Python process to the next; here it is the
    declared order.)"""
    if not (left or right):
        return {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    if not (left and right):
        return in_declared_order(dict(left or right or {}))
    return in_declared_order(_combined(left, right, lambda a, b: max(a - b, 0)))


def add_counts(left: Usage, right: Usage | None) -> Usage:
    """langchain-core's ``add_usage`` of two usages."""
    if right is None:
        return left
    return in_declared_order(_combined(left, right, lambda a, b: a + b))


def _combined(left: dict[str, Any], right: dict[str, Any], op: Any) -> dict[str, Any]:
    combined: dict[str, Any] = {}
    for key in [*left, *(key for key in right if key not in left)]:
        a, b = left.get(key, 0), right.get(key, 0)
        if isinstance(a, dict) or isinstance(b, dict):
            combined[key] = _combined(a or {}, b or {}, op)
        else:
            combined[key] = op(a, b)
    return combined


# -- how a reply ended, and what went wrong ----------------------------------------------------


def finish_note(reason: str, candidate: dict[str, Any], label: str) -> str | None:
    """The stderr line a finish reason calls for (the cut at MAX_TOKENS is the endnotes' own)."""
    blocked = [str(r.get("category")) for r in candidate.get("safetyRatings") or () if r.get("blocked")]
    return reason_note(reason, blocked, candidate.get("finishMessage"), label)


def reason_note(reason: str, blocked: list[str], finish_message: str | None, label: str) -> str | None:
    if reason in ORDINARY_REASONS:
        return None
    if reason in SAFETY_REASONS:
        why = f"{reason}: {', '.join(blocked)}" if blocked else reason
        return f"{label}'s safety filters stopped the reply ({why})"
    if reason in RECITATION_REASONS:
        return f"{label} stopped the reply because it was reciting a source ({reason})"
    message = f": {finish_message}" if finish_message else ""
    return f"{label} stopped the reply early (finishReason {reason}{message})"


def prompt_feedback_note(feedback: Any, label: str) -> str | None:
    if not isinstance(feedback, dict) or not feedback.get("blockReason"):
        return None
    message = f": {feedback['blockReasonMessage']}" if feedback.get("blockReasonMessage") else ""
    return f"{label} blocked the prompt (blockReason {feedback['blockReason']}{message})"


def whole_reply_note(metadata: dict[str, Any], label: str = LABEL) -> str | None:
    """The note of a whole reply (``--no-stream``), from its response_metadata, which has no report."""
    feedback = metadata.get("prompt_feedback")
    if isinstance(feedback, dict) and feedback.get("block_reason"):
        wire = {"blockReason": feedback["block_reason"], "blockReasonMessage": feedback.get("block_reason_message")}
        return prompt_feedback_note(wire, label)
    reason = metadata.get("finish_reason")
    if not isinstance(reason, str):
        return None
    blocked = [str(r.get("category")) for r in metadata.get("safety_ratings") or () if r.get("blocked")]
    return reason_note(reason, blocked, metadata.get("finish_message"), label)


def error_detail(body: Any) -> tuple[str | None, str | None, float | None]:
    """``(message, status, retry delay in seconds)`` of a Google API error body
    (``{"error": {"code", "message", "status", "details": [...]}}``)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(body, list) and body and isinstance(body[0], dict):  # some proxies answer a list of them
        error = body[0].get("error")
    if not isinstance(error, dict):
        return None, None, None
    message = error.get("message")
    status = error.get("status")
    delay = None
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and isinstance(detail.get("retryDelay"), str):
            delay = _duration(detail["retryDelay"])
    return (str(message) if message else None), (str(status) if status else None), delay


def error_reason(body: Any) -> str | None:
    """The ``ErrorInfo`` reason of an error body, e.g. ``API_KEY_INVALID``."""
    error = body.get("error") if isinstance(body, dict) else None
    for detail in (error or {}).get("details") or () if isinstance(error, dict) else ():
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    return None


def _duration(text: str) -> float | None:
    """A protobuf Duration in JSON (``"37s"``, ``"0.5s"``) in seconds."""
    try:
        return max(float(text.removesuffix("s")), 0.0)
    except ValueError:
        return None


RETRYABLE_STREAM_STATUSES = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED", "INTERNAL", "DEADLINE_EXCEEDED"})


def stream_error(error: Any, label: str) -> ChatstreamError:
    """An error object inside a 200 stream."""
    message, status, _ = error_detail({"error": error})
    return midstream_error(label, message, status)


def event_json(text: str, label: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise ProviderError(
            f"{label} sent an event that is not a JSON object", "check --base-url", error_type="invalid_response"
        )
    return data


def message_from_response(data: dict[str, Any], label: str = LABEL) -> AIMessage:
    """A whole ``generateContent`` reply as one message (the stream translator on its single event)."""
    chunk = StreamTranslator(label).chunk(data)
    text = chunk.content
    if isinstance(text, str):
        text = text.rstrip("\n")  # as LangChain does for a whole reply
    return AIMessage(
        content=text,
        additional_kwargs=chunk.additional_kwargs,
        response_metadata=chunk.response_metadata,
        tool_calls=chunk.tool_calls,
        invalid_tool_calls=chunk.invalid_tool_calls,
        usage_metadata=chunk.usage_metadata,
    )


def has_token(chunk: AIMessageChunk) -> bool:
    """Whether the chunk shows the user something (a retry after it would repeat it)."""
    return bool(chunk.content or chunk.tool_call_chunks)
