"""--events against LangChain's own output (fixtures/): same events, same key order, same values.

Two layers are compared with ``<provider>.astream_events.jsonl``:

* the events layer alone: the chunks LangChain streamed (``<provider>.stream.jsonl``) replayed by a
  model, through ``astream_events``, ``stream_events`` and the CLI's JSON-lines renderer;
* the whole CLI: the matching ``wire/`` stream served by the loopback server to ``chatstream
  --events`` in a subprocess, for every provider whose module exists.

What varies from run to run is masked as fixtures/README.md says; lines are compared as JSON text,
so key order counts at every level.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from chatstream_cli.driver import Mode, run_reply
from chatstream_cli.events import EventRun, chunk_from_dict, to_json
from chatstream_cli.messages import AIMessageChunk, BaseMessage, to_messages
from chatstream_cli.render.jsonl import JsonlRenderer
from chatstream_cli.runnable import ChatModel, ModelSettings
from chatstream_cli.runs import closing_chunk
from tests.conftest import CHATSTREAM, FIXTURES, WIRE, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

SCENARIOS = ("short", "thinking")
PROVIDERS = ("anthropic", "openai")
KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
FAKE_KEY = "sk-test-0123456789abcdef"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PROVIDER_ID = re.compile(r"\b(msg_|chatcmpl-|req_|toolu_|call_)[A-Za-z0-9]+")
_VARYING_KEYS = frozenset({"created", "system_fingerprint", "obfuscation"})
# lc_class exists only in the fixtures; the other two name LangChain's packages, which chatstream is not.
_DROPPED_KEYS = frozenset({"lc_class", "ls_integration", "lc_versions"})


# --- comparing ----------------------------------------------------------------------------------------


def mask(value: Any) -> Any:
    """``value`` with what varies between runs replaced by placeholders, key order kept."""
    if isinstance(value, dict):
        return {
            key: "<varies>" if key in _VARYING_KEYS else mask(item)
            for key, item in value.items()
            if key not in _DROPPED_KEYS
        }
    if isinstance(value, list):
        return [mask(item) for item in value]
    if isinstance(value, str):
        return _PROVIDER_ID.sub(r"\1<id>", _UUID.sub("<run_id>", value))
    return value


def masked_lines(events: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(mask(event)) for event in events]


def fixture_events(scenario: str, provider: str) -> list[dict[str, Any]]:
    path = FIXTURES / scenario / f"{provider}.astream_events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def fixture_meta(scenario: str, provider: str) -> dict[str, Any]:
    return json.loads((FIXTURES / scenario / f"{provider}.meta.json").read_text())


def assert_same_events(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    """Event by event, as JSON text after masking, so key order is compared as well as values."""
    mine, expected = masked_lines(ours), masked_lines(theirs)
    for index, (line, wanted) in enumerate(zip(mine, expected, strict=False)):
        assert line == wanted, f"event {index} ({theirs[index]['event']}) differs"
    assert len(mine) == len(expected), [event["event"] for event in ours]


def assert_own_run(events: list[dict[str, Any]]) -> None:
    """What masking hides: one fresh UUID v7 run id, chunk ids derived from it, no LangChain metadata."""
    run_id = events[0]["run_id"]
    assert uuid.UUID(run_id).version == 7
    for event in events:
        assert event["run_id"] == run_id
        assert not _DROPPED_KEYS & set(event["metadata"])
        message = event["data"].get("chunk") or event["data"].get("output")
        if message is not None:
            assert message["id"] == f"lc_run--{run_id}"


def parse_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# --- the events layer, from the chunks LangChain streamed ---------------------------------------------


class RecordedModel(ChatModel):
    """Streams the chunks of a fixture's ``stream.jsonl``, as its provider produced them."""

    chunks: ClassVar[list[dict[str, Any]]] = []

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        for data in self.chunks:
            yield chunk_from_dict(data)


def recorded_model(scenario: str, provider: str) -> RecordedModel:
    lines = (FIXTURES / scenario / f"{provider}.stream.jsonl").read_text().splitlines()
    chunks = [json.loads(line) for line in lines]
    last = chunk_from_dict(chunks[-1])
    if last == closing_chunk(last.id or "", isinstance(last.content, list)):
        chunks.pop()  # ChatOpenAI's streams end with the chunk langchain-core appends, not the provider
    metadata = fixture_events(scenario, provider)[0]["metadata"]
    model_class = type(
        f"Recorded{provider.title()}",
        (RecordedModel,),
        {"provider": provider, "event_name": fixture_events(scenario, provider)[0]["name"], "chunks": chunks},
    )
    settings = ModelSettings(temperature=metadata["ls_temperature"], max_tokens=metadata.get("ls_max_tokens"))
    return model_class(metadata["ls_model_name"], settings)


def events_from_astream_events(model: ChatModel, prompt: str) -> list[dict[str, Any]]:
    async def collect() -> list[str]:
        return [to_json(event) async for event in model.astream_events(prompt, version="v2")]

    return [json.loads(line) for line in asyncio.run(collect())]


def events_from_stream_events(model: ChatModel, prompt: str) -> list[dict[str, Any]]:
    return [json.loads(to_json(event)) for event in model.stream_events(prompt, version="v2")]


def events_from_renderer(model: ChatModel, prompt: str, mode: Mode) -> list[dict[str, Any]]:
    out = io.BytesIO()
    run = EventRun(model, prompt)
    run_reply(model, to_messages(prompt), JsonlRenderer(out, run), mode, run_id=run.run_id)
    return parse_lines(out.getvalue().decode())


PATHS = {
    "astream_events": events_from_astream_events,
    "stream_events": events_from_stream_events,
    "cli renderer, stream": lambda model, prompt: events_from_renderer(model, prompt, Mode.STREAM),
    "cli renderer, async": lambda model, prompt: events_from_renderer(model, prompt, Mode.ASYNC),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_events_of_langchains_chunks_equal_langchains_events(scenario: str, provider: str, path: str) -> None:
    prompt = fixture_meta(scenario, provider)["prompt"]
    ours = PATHS[path](recorded_model(scenario, provider), prompt)
    assert_own_run(ours)
    assert_same_events(ours, fixture_events(scenario, provider))


def test_masking_keeps_what_must_match() -> None:
    """The comparison is not vacuous: a changed value or key order in the fixture is caught."""
    theirs = fixture_events("short", "anthropic")
    ours = events_from_stream_events(recorded_model("short", "anthropic"), "Greet me in two short sentences.")
    changed_text = json.loads(json.dumps(theirs))
    changed_text[3]["data"]["chunk"]["content"] = " here"
    reordered = [dict(reversed(list(event.items()))) for event in theirs]
    for variant in (changed_text, reordered, theirs[:-1]):
        with pytest.raises(AssertionError):
            assert_same_events(ours, variant)


# --- the whole CLI, against the wire streams ------------------------------------------------------------


def server_stream(scenario: str, provider: str) -> bytes:
    """What the server sent for a fixture: its wire/ file, or rebuilt where wire/ has none that matches.

    wire/ holds the text streams the fixtures were made from, but its Anthropic thinking stream is a
    shorter reply and it has no OpenAI reasoning stream; for ``thinking`` the stream is rebuilt from
    wire/'s stream of the same kind with the pieces and usage the fixture records (meta.json's
    ``server_sent`` says what they add up to)."""
    if scenario == "short":
        return (WIRE / f"{provider}_stream_text.sse").read_bytes()
    thinking, text = recorded_pieces(scenario)
    sent = fixture_meta(scenario, provider)["server_sent"]
    assert ("".join(thinking), "".join(text)) == (sent["thinking"], sent["reply"])
    if provider == "anthropic":
        return anthropic_thinking_stream(thinking, text)
    return openai_reasoning_stream(thinking)


def recorded_pieces(scenario: str) -> tuple[list[str], list[str]]:
    """The thinking and text deltas the server sent, one per chunk langchain-anthropic streamed."""
    thinking: list[str] = []
    text: list[str] = []
    for line in (FIXTURES / scenario / "anthropic.stream.jsonl").read_text().splitlines():
        for block in json.loads(line)["content"]:
            if block["type"] == "thinking" and block["thinking"]:
                thinking.append(block["thinking"])
            elif block["type"] == "text":
                text.append(block["text"])
    return thinking, text


def anthropic_thinking_stream(thinking: list[str], text: list[str]) -> bytes:
    """wire/anthropic_stream_thinking.sse with these deltas and their token counts."""
    events = []
    for name, data in _sse_events((WIRE / "anthropic_stream_thinking.sse").read_bytes()):
        delta = data.get("delta", {})
        if delta.get("type") in ("thinking_delta", "text_delta"):
            kind = delta["type"].removesuffix("_delta")
            if events[-1][1].get("delta", {}).get("type") != delta["type"]:  # the first delta of its block
                for piece in thinking if kind == "thinking" else text:
                    events.append((name, {**data, "delta": {"type": delta["type"], kind: piece}}))
            continue
        if name == "message_delta":
            data["usage"]["output_tokens"] = len(thinking) + len(text)
            data["usage"]["output_tokens_details"]["thinking_tokens"] = len(thinking)
        events.append((name, data))
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def openai_reasoning_stream(thinking: list[str]) -> bytes:
    """wire/openai_stream_text.sse with the reasoning in ``reasoning_content`` deltas after the role
    chunk, and the reasoning tokens counted."""
    role, *rest = [data for _, data in _sse_events((WIRE / "openai_stream_text.sse").read_bytes())]
    reasoning = []
    for piece in thinking:
        event = json.loads(json.dumps(role))
        event["choices"][0]["delta"] = {"reasoning_content": piece}
        reasoning.append(event)
    usage = rest[-1]["usage"]
    usage["completion_tokens"] += len(thinking)
    usage["total_tokens"] += len(thinking)
    usage["completion_tokens_details"]["reasoning_tokens"] = len(thinking)
    lines = [f"data: {json.dumps(event)}\n\n" for event in [role, *reasoning, *rest]]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def _sse_events(stream: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, data) of each event of a recorded stream; ``[DONE]`` left out."""
    events = []
    for block in stream.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields and fields["data"] != "[DONE]":
            events.append((fields.get("event"), json.loads(fields["data"])))
    return events


def require_provider(provider: str) -> None:
    if importlib.util.find_spec(f"chatstream_cli.providers.{provider}") is None:
        pytest.skip(f"chatstream_cli/providers/{provider}.py does not exist yet")


def run_cli_events(
    server: LoopbackServer, provider: str, model: str, prompt: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    base_url = server.base_url + ("/v1" if provider == "openai" else "")
    argv = [*CHATSTREAM, "--events", "-m", f"{provider}:{model}", "--base-url", base_url, "--retries", "0", *extra]
    return subprocess.run(
        [*argv, prompt],
        env=cli_env(**{KEY_ENV[provider]: FAKE_KEY}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("provider", "transport"),
    [("anthropic", "httpx"), ("anthropic", "sdk"), ("openai", None)],
    ids=["anthropic", "anthropic-sdk", "openai"],
)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cli_events_equal_langchains_events(
    scenario: str,
    provider: str,
    transport: str | None,
    loopback_server: LoopbackServer,  # noqa: F811
    isolated_env: Path,
) -> None:
    require_provider(provider)
    if transport is not None:  # chosen as a user does, in config.toml
        isolated_env.mkdir(parents=True, exist_ok=True)
        (isolated_env / "config.toml").write_text(f'[providers.anthropic]\ntransport = "{transport}"\n')
    meta = fixture_meta(scenario, provider)
    theirs = fixture_events(scenario, provider)
    loopback_server.enqueue(Reply.sse(server_stream(scenario, provider)))
    flags = ["--thinking"] if "thinking" in meta["model_kwargs"] else []
    limit = theirs[0]["metadata"].get("ls_max_tokens")
    if limit is not None:  # the fixture's model was made with it (fixtures/README.md)
        flags += ["--max-tokens", str(limit)]
    result = run_cli_events(loopback_server, provider, theirs[0]["metadata"]["ls_model_name"], meta["prompt"], *flags)

    assert result.returncode == 0, result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr
    ours = parse_lines(result.stdout)
    assert_own_run(ours)
    if provider == "openai":
        ours = without_reasoning(ours, meta["server_sent"].get("thinking"))
    assert_same_events(ours, theirs)


def without_reasoning(events: list[dict[str, Any]], thinking: str | None) -> list[dict[str, Any]]:
    """events.md: chatstream keeps the reasoning ChatOpenAI drops, in ``additional_kwargs``; check it
    adds up to what the server sent, then take it out for the comparison."""
    output = events[-1]["data"]["output"]
    assert output["additional_kwargs"].get("reasoning_content") == thinking
    for event in events:
        message = event["data"].get("chunk") or event["data"].get("output")
        if message is not None:
            message["additional_kwargs"].pop("reasoning_content", None)
    return events
