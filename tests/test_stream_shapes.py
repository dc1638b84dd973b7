"""Streams shaped as real servers send them (tests/data/streams/<style>/<name>.sse), served byte for byte
to the real CLI: the text, ``--json`` and ``--stats`` against what the stream itself reports, ``--events``
against what LangChain made of the same bytes (recorded in the fixture's .json by
scripts/langchain_stream_events.py). Adding a stream is adding its two files.

The bodies are written for these tests, each reproducing one server's shape (see each ``summary``).
Where ``../shared/real_streams`` exists (the recorded corpus), its streams go through the translators too.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_events_compat import masked_lines

STREAMS = Path(__file__).resolve().parent / "data" / "streams"
CASES = sorted(STREAMS.glob("*/*.sse"))
KEYS = {
    "anthropic": "sk-ant-fixture-0123456789",
    "openai": "sk-fixture-0123456789",
    "azure": "azure-fixture-0123456789",
    "gemini": "gemini-fixture-0123456789",
}
# LangChain's subtract_usage builds a Gemini chunk's usage from a set of its keys, so their order changes from
# one Python process to the next (PYTHONHASHSEED): for Gemini the order inside a chunk's usage is not compared.
UNORDERED_USAGE = frozenset({"gemini"})


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def meta_of(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def run_cli(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, path: Path, *flags: str, split: Any = "event"
) -> Result:
    """The CLI on the fixture's request, against the loopback server serving the fixture's bytes."""
    meta = meta_of(path)
    provider, cli = meta["provider"], meta["cli"]
    if provider == "anthropic":
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS[provider])
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    elif provider == "gemini":
        monkeypatch.setenv("GEMINI_API_KEY", KEYS[provider])
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
    elif provider == "azure":
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEYS[provider])
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.base_url)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", KEYS[provider])
        monkeypatch.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
    server.enqueue(Reply.sse(path.read_bytes(), split=split))
    argv = ["-m", f"{provider}:{cli['model']}", "--retries", "0"]
    if cli.get("max_tokens"):
        argv += ["--max-tokens", str(cli["max_tokens"])]
    if cli.get("thinking"):
        argv.append("--thinking")
    return CliRunner().invoke(app, [*argv, *flags, "--", cli["prompt"]])


@pytest.fixture
def cli(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:  # noqa: F811
    """``run_cli`` bound to this test's server and environment: ``cli(path, *flags, split=...)``."""
    return functools.partial(run_cli, loopback_server, monkeypatch)


def test_the_fixture_folder_is_walked() -> None:
    assert len(CASES) >= 14
    for path in CASES:
        meta = meta_of(path)
        assert {"summary", "provider", "cli", "expect", "langchain_events"} <= set(meta), path


@pytest.mark.parametrize("split", ["event", 7], ids=["per-event", "7-byte"])
@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_the_text_and_the_notes(
    cli: Callable[..., Result],
    loopback_server: LoopbackServer,  # noqa: F811
    path: Path,
    split: Any,
) -> None:
    """A note's ``<server>`` is how messages name the loopback server, a gateway for the fixture's provider."""
    meta = meta_of(path)
    expect = meta["expect"]
    result = cli(path, split=split)
    text = expect["text"]
    assert result.stdout == (text + "\n" if text and not text.endswith("\n") else text)
    assert result.exit_code == expect["exit"], result.stderr
    assert "Traceback" not in result.stderr
    for note in expect.get("stderr", []):
        assert note.replace("<server>", loopback_server.named_as(meta["provider"])) in result.stderr
    if not expect.get("stderr"):
        assert result.stderr == ""


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_json_and_stats_tell_what_the_stream_reports(cli: Callable[..., Result], path: Path) -> None:
    expect = meta_of(path)["expect"]
    result = cli(path, "--json", "--stats")
    record = json.loads(result.stdout)
    no_usage = {"input_tokens": None, "output_tokens": None, "total_tokens": None}
    assert record["usage"] == (expect["usage"] or no_usage)
    assert record["stop_reason"] == expect["stop_reason"]
    assert record["content"] == expect["text"]
    assert record["thinking"] == expect.get("thinking")
    assert record.get("tool_calls") == expect.get("tool_calls")
    stats = [line for line in result.stderr.splitlines() if " · " in line]
    if expect["exit"] == 0 and expect["usage"]:
        usage = expect["usage"]
        assert f" · {usage['input_tokens']} in · " in stats[0] and f" · {usage['output_tokens']} out · " in stats[0]
        assert stats[0].startswith(f"{record['model']} · ")
        assert record["model"].count(meta_of(path)["cli"]["model"]) == 1, "the model named once, not joined with itself"


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_events_are_langchains(cli: Callable[..., Result], path: Path) -> None:
    meta = meta_of(path)
    result = cli(path, "--events")
    ours = [json.loads(line) for line in result.stdout.splitlines()]
    theirs = list(meta["langchain_events"])
    if theirs[-1].get("kind") == "exception":  # LangChain raised where chatstream reports the error as an event
        theirs.pop()
        assert ours.pop()["event"] == "on_chat_model_error"
    elif meta["expect"]["exit"] == 4:  # an error LangChain does not read (an `error:` field): it just ends
        assert ours.pop()["event"] == "on_chat_model_error"
        assert theirs.pop()["event"] == "on_chat_model_end"
        if theirs[-1]["data"]["chunk"].get("chunk_position") == "last":
            theirs.pop()  # the closing empty chunk langchain-core adds when a body simply ends
    if meta["provider"] in UNORDERED_USAGE:
        ours, theirs = usage_sorted(ours), usage_sorted(theirs)
    mine, expected = masked_lines(ours), masked_lines(theirs)
    for index, (line, wanted) in enumerate(zip(mine, expected, strict=False)):
        assert line == wanted, f"event {index} ({theirs[index]['event']}) differs"
    assert len(mine) == len(expected)


def usage_sorted(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with the keys of each streamed chunk's usage (and its details) in sorted order."""

    def sort(value: Any) -> Any:
        return {key: sort(value[key]) for key in sorted(value)} if isinstance(value, dict) else value

    for event in events:
        chunk = event.get("data", {}).get("chunk")
        if chunk and chunk.get("usage_metadata"):
            chunk["usage_metadata"] = sort(chunk["usage_metadata"])
    return events


# --- the recorded corpus, where it is beside the repository -------------------------------------------

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "real_streams"


def corpus_streams() -> list[Path]:
    return sorted(CORPUS.glob("*/*.sse")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no ../shared/real_streams beside the repository (a user's clone)")
def test_the_recorded_corpus_reports_its_own_usage_and_stop_reason() -> None:
    """Every recorded stream, through the translator: the report's usage and stop reason are the stream's own."""
    from chatstream_cli.messages import sum_chunks
    from chatstream_cli.render.stats import stop_reason_of, usage_of

    wrong, checked = [], 0
    for path in corpus_streams():
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        want = recorded_truth(path.read_bytes(), meta["wire"])
        if want is None:
            continue
        try:
            reply = sum_chunks(translated(path.read_bytes(), meta["wire"], meta["cli"].get("thinking")))
        except Exception:
            continue
        usage = usage_of(reply)  # the cache reads and writes beside the counts are checked by the fixtures
        got = ({key: usage[key] for key in want[0]}, stop_reason_of(reply))
        checked += 1
        if got != want:
            wrong.append(f"{path.parent.name}/{path.stem}: {got} != {want}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 80  # of the 123 streams, those that report usage and end without an error


def translated(body: bytes, wire: str, thinking: bool | None) -> list[Any]:
    from chatstream_cli.providers.anthropic import events as anthropic_events
    from chatstream_cli.providers.openai import chat as openai
    from chatstream_cli.sse import iter_sse

    events = iter_sse([body])
    if wire == "anthropic":
        data = (json.loads(event.data) for event in events if event.data.strip().startswith("{"))
        return list(anthropic_events.chunks_from_events(data, list_content=bool(thinking)))
    return list(openai.chunks_from_events(events, "server"))


def recorded_truth(body: bytes, wire: str) -> tuple[dict[str, Any], str | None] | None:
    """The usage and stop reason a recorded stream reports, read the plain way (None: it reports no usage)."""
    usage, stop, start = None, None, {}
    for data in re.findall(rb"^data: ?(.*)$", body, flags=re.M):
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if wire == "anthropic":
            if event.get("type") == "message_start":
                start = (event.get("message") or {}).get("usage") or {}
            if event.get("type") == "message_delta":
                usage = {**start, **{k: v for k, v in (event.get("usage") or {}).items() if v is not None}}
                stop = (event.get("delta") or {}).get("stop_reason")
            continue
        usage = event.get("usage") or usage
        stop = next((c["finish_reason"] for c in event.get("choices") or [] if c.get("finish_reason")), stop)
    if not usage:
        return None
    if wire == "anthropic":
        cached = (usage.get("cache_read_input_tokens") or 0) + (usage.get("cache_creation_input_tokens") or 0)
        tokens = (usage.get("input_tokens") or 0) + cached, usage.get("output_tokens") or 0
        return {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}, stop
    total = {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]}
    return {**total, "total_tokens": usage["total_tokens"]}, stop
