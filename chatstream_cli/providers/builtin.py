"""Offline models: ``builtin:poet`` writes a short verse about the prompt's subject and
``builtin:echo`` streams the prompt back. Deterministic, no network, nothing heavy imported.
With a schema (``--schema``) both answer with a JSON document that satisfies it (schema/example.py),
its strings the prompt's (echo) or the verse's lines (poet), streamed a few characters a chunk.

With tools bound, ``echo`` calls them: each prompt line ``call NAME {json}`` becomes a tool call (its
arguments streamed in small fragments, as real APIs cut them), the other lines its text; after the
results it says each one back (``NAME: result``) and ends the chain.

They stream like a real provider (an empty first chunk with the model name, one chunk per
token, a last chunk with the stop reason and usage), at a human pace unless ``delay_ms`` is 0.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage, content_text, tool_call_chunk
from ..runnable import ChatModel

DEFAULT_DELAY_MS = 25  # 40 chunks a second: a comfortable reading pace
OPTIONS = {"delay_ms": "pause between chunks in milliseconds", "seed": "vary the verse", "verses": "how many"}

# Newlines ride on the next word, as in the reference document's `:|\n\nFloating|`.
_TOKEN = re.compile(r"\n*(?: ?[A-Za-z]+(?:'[a-z]+)?| ?\d+| ?[^\sA-Za-z\d]| +)|\n+|\s")
# A JSON reply streams a few characters a chunk, cutting keys in two as real models do.
_JSON_PIECE = re.compile(r".{1,4}", re.DOTALL)
_STOPWORD_TEXT = """a an the of on in at to for from with and or about me my us our your please write compose
make give create sing song songs verse verses poem poems short little tiny one two three four five i you it is
are be that this some over under into onto upon by"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_COUPLETS = (
    ("{A} drifting through the silver night,", "beneath the {b}, a gentle light."),
    ("Oh {a}, oh {b}, so far away,", "you turn the quiet dark to day."),
    ("Where {a} swim in quiet dreams,", "the {b} is brighter than it seems."),
    ("A song of {a} and {b} above,", "a little tale of hope and love."),
    ("The {b} keeps watch while {a} sleep,", "its silver secrets ours to keep."),
    ("Across the dust of distant skies,", "the {a} dream with open eyes."),
    ("And when the {b} begins to glow,", "the {a} dance soft and slow."),
    ("No sea, no shore, no sound, no breeze,", "just {a} at the {b}'s bright ease."),
)


def tokenize(text: str) -> list[str]:
    """Split text into word and sub-word pieces, the way a real tokenizer's output looks."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[str]:
    """The pieces of :func:`tokenize`, one by one: a long reply is never held as a list of them."""
    for match in _TOKEN.finditer(text):
        token = match.group()
        word = token.lstrip("\n ")
        if len(word) > 6 and word.isalpha():
            yield from _subwords(token, len(token) - len(word))
        else:
            yield token


def _subwords(token: str, start: int) -> list[str]:
    """Split a long word at a position that depends only on the word: ``gol|dfish``."""
    cut = start + 2 + zlib.crc32(token[start:].encode()) % (len(token) - start - 4)
    return [token[:cut], token[cut:]]


@dataclass(frozen=True, slots=True)
class Reply:
    thinking: str
    text: str
    calls: tuple[tuple[str, str], ...] = ()  # (tool name, raw JSON arguments)


_CALL_LINE = re.compile(r"^call ([A-Za-z0-9_-]{1,64})(?:\s+(.*))?$")
_FRAGMENT = 6  # characters of arguments per streamed fragment


class BuiltinChatModel(ChatModel):
    """The offline models: ``poet`` and ``echo``."""

    provider = "builtin"
    event_name = "ChatBuiltin"

    def __init__(self, model: str, settings: Any = None, **overrides: Any) -> None:
        super().__init__(model, settings, **overrides)
        unknown = sorted(set(self.settings.options) - set(OPTIONS))
        if unknown:
            raise UsageError(
                f"unknown option {unknown[0]!r} for builtin:{model}",
                "builtin options are: " + ", ".join(OPTIONS),
            )
        self._delay = _number(self.settings.options, "delay_ms", DEFAULT_DELAY_MS) / 1000

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        for delay, chunk in self._timed_chunks(messages):
            if delay:
                time.sleep(delay)
            yield chunk

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        for delay, chunk in self._timed_chunks(messages):
            if delay:
                await asyncio.sleep(delay)
            yield chunk

    def _timed_chunks(self, messages: list[BaseMessage]) -> Iterator[tuple[float, AIMessageChunk]]:
        reply = self._compose(messages)
        thinking = self.settings.thinking
        meta = {"model_provider": "builtin"}
        yield 0.0, AIMessageChunk(content=[] if thinking else "", response_metadata={"model_name": self.model, **meta})
        produced = 0
        if thinking and reply.thinking:
            # Thinking counts towards max_tokens, as with Anthropic's extended thinking.
            for piece in tokenize(reply.thinking)[: self.settings.max_tokens]:
                produced += 1
                yield (
                    self._delay,
                    AIMessageChunk(
                        content=[{"thinking": piece, "type": "thinking", "index": 0}], response_metadata=dict(meta)
                    ),
                )
        limiter = _Limiter(self.settings.stop, self.settings.max_tokens, produced)
        pieces = _JSON_PIECE.findall(reply.text) if self.settings.schema else iter_tokens(reply.text)
        for piece in limiter.run(pieces):
            content: Any = [{"text": piece, "type": "text", "index": 1}] if thinking else piece
            yield self._delay, AIMessageChunk(content=content, response_metadata=dict(meta))
        if reply.calls and limiter.stop_reason == "end_turn":
            limiter.stop_reason = "tool_use"
            turn = sum(isinstance(message, AIMessage) for message in messages)
            for index, (name, arguments) in enumerate(reply.calls):
                yield from self._call_chunks(f"toolu_echo_{turn}_{index}", name, arguments, index, meta, thinking)
        input_tokens = sum(1 for m in messages for _ in iter_tokens(content_text(m.content)))
        yield (
            0.0,
            AIMessageChunk(
                content=[] if thinking else "",
                response_metadata={"stop_reason": limiter.stop_reason, "stop_sequence": limiter.stop_sequence, **meta},
                usage_metadata={
                    "input_tokens": input_tokens,
                    "output_tokens": limiter.count,
                    "total_tokens": input_tokens + limiter.count,
                },
                chunk_position="last",
            ),
        )

    def _call_chunks(
        self, ident: str, name: str, arguments: str, index: int, meta: dict[str, Any], blocks: bool
    ) -> Iterator[tuple[float, AIMessageChunk]]:
        """One tool call: its name and id, then its arguments a few characters at a time."""
        empty: Any = [] if blocks else ""
        start = tool_call_chunk(name, "", ident, index)
        yield self._delay, AIMessageChunk(content=empty, tool_call_chunks=[start], response_metadata=dict(meta))
        for offset in range(0, len(arguments), _FRAGMENT):
            piece = tool_call_chunk(None, arguments[offset : offset + _FRAGMENT], None, index)
            yield self._delay, AIMessageChunk(content=empty, tool_call_chunks=[piece], response_metadata=dict(meta))

    def _compose(self, messages: list[BaseMessage]) -> Reply:
        if self.model == "echo" and messages and isinstance(messages[-1], ToolMessage):
            return Reply(thinking="The tools answered; I pass their results on.", text=_results_text(messages))
        prompt = _last_prompt(messages)
        if self.model == "echo" and self.settings.tools:
            text, calls = _split_calls(prompt)
            return Reply(thinking="The user asked for tools.", text=_attachment_lines(messages) + text, calls=calls)
        reply = self._words(messages, prompt)
        if self.settings.schema is None:
            return reply
        import json

        from ..schema.example import example_document

        words = [prompt] if self.model == "echo" else [line for line in reply.text.splitlines()[2:] if line]
        document = example_document(self.settings.schema.wire, words)
        return Reply(thinking=reply.thinking, text=json.dumps(document, ensure_ascii=False))

    def _words(self, messages: list[BaseMessage], prompt: str) -> Reply:
        if self.model == "echo":
            return Reply(
                thinking="The user wants their words back, unchanged.", text=_attachment_lines(messages) + prompt
            )
        seed = _number(self.settings.options, "seed", 0)
        verses = _number(self.settings.options, "verses", _verses_asked(prompt))
        return compose_verse(prompt, verses=int(verses), seed=int(seed))


class _Limiter:
    """Cuts the token stream at max_tokens or just before a stop sequence, like a real API."""

    def __init__(self, stop: tuple[str, ...], max_tokens: int | None, already: int) -> None:
        self.stop = stop
        self.max_tokens = max_tokens
        self.count = already
        self.stop_reason = "end_turn"
        self.stop_sequence: str | None = None

    def run(self, pieces: Iterable[str]) -> Iterator[str]:
        pending = ""  # held back while it could still be the start of a stop sequence
        for piece in pieces:
            if self.max_tokens is not None and self.count >= self.max_tokens:
                self.stop_reason = "max_tokens"
                return
            self.count += 1
            pending += piece
            hit = self._first_stop(pending)
            if hit is not None:
                cut, self.stop_sequence = hit
                self.stop_reason = "stop_sequence"
                if pending[:cut]:
                    yield pending[:cut]
                return
            keep = self._held_back(pending)
            if len(pending) > keep:
                yield pending[: len(pending) - keep]
                pending = pending[len(pending) - keep :]
        if pending:
            yield pending

    def _first_stop(self, text: str) -> tuple[int, str] | None:
        found = [(text.find(s), s) for s in self.stop if s and s in text]
        return min(found) if found else None

    def _held_back(self, text: str) -> int:
        """Length of the longest tail of ``text`` that begins some stop sequence."""
        longest = 0
        for sequence in self.stop:
            for size in range(min(len(sequence) - 1, len(text)), longest, -1):
                if sequence.startswith(text[-size:]):
                    longest = size
                    break
        return longest


def compose_verse(prompt: str, *, verses: int = 1, seed: int = 0) -> Reply:
    """A short verse about the subject of ``prompt``; the same prompt and seed give the same verse."""
    subject = subject_of(prompt)
    words = [w for w in re.findall(r"[a-z][a-z'-]*", subject.lower()) if w not in _STOPWORDS]
    first = words[0] if words else "stars"
    second = words[-1] if len(words) > 1 else ("moon" if first != "moon" else "sea")
    rng = random.Random(zlib.crc32(f"{prompt}\0{seed}".encode()))
    blocks = []
    for _ in range(max(1, verses)):
        couplets = rng.sample(_COUPLETS, 2)
        lines = [line for pair in couplets for line in pair]
        blocks.append("\n".join(_fill(line, first, second) for line in lines))
    text = f"Here is a {verses} verse song about {subject}:\n\n" + "\n\n".join(blocks)
    thinking = f"The user wants a song about {subject}. I will rhyme the {first} with the {second}."
    return Reply(thinking=thinking, text=text)


def _fill(line: str, first: str, second: str) -> str:
    text = line.format(a=first, b=second, A=first.capitalize(), B=second.capitalize())
    return text[0].upper() + text[1:]


def subject_of(prompt: str) -> str:
    """What the prompt asks a verse about: ``... song about goldfish on the moon`` -> that."""
    text = " ".join(prompt.split()).strip(" .!?")
    match = re.search(r"\babout\s+(.+)", text, re.IGNORECASE)
    if match:
        return match.group(1).strip(" .!?") or "the stars"
    words = text.split()
    while words and words[0].lower().strip(",") in _STOPWORDS:
        words.pop(0)
    return " ".join(words) or "the stars"


def _verses_asked(prompt: str) -> int:
    match = re.search(r"\b(\d{1,2})[\s-]+verses?\b", prompt, re.IGNORECASE)
    return int(match.group(1)) if match else 1


def _last_prompt(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return content_text(message.content)
    return ""


def _split_calls(prompt: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The prompt's ``call NAME {json}`` lines as calls, the other lines as the text."""
    text, calls = [], []
    for line in prompt.splitlines(keepends=True):
        match = _CALL_LINE.match(line.strip())
        if match:
            calls.append((match.group(1), (match.group(2) or "").strip()))
        else:
            text.append(line)
    return "".join(text).rstrip("\n"), tuple(calls)


def _results_text(messages: list[BaseMessage]) -> str:
    """``NAME: result`` for each tool result after the last reply."""
    results = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.append(f"{message.name or message.tool_call_id}: {message.text}")
    return "\n".join(reversed(results))


def _attachment_lines(messages: list[BaseMessage]) -> str:
    """A line per attachment of the last human message, ``[attached image/png]``: what echo says of them."""
    human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    blocks = human.content if human is not None and isinstance(human.content, list) else []
    return "".join(
        f"[attached {block.get('mime_type', block['type'])}]\n"
        for block in blocks
        if block.get("type") in ("image", "file")
    )


def _number(options: dict[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"option {key} must be a number >= 0, not {value!r}", f"e.g. -o {key} {int(default)}")
    return value
