"""--json and --stats: the object and the line cli.md describes, their figures, partial replies."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli import get_model, history
from chatstream_cli.cli import app
from chatstream_cli.messages import AIMessageChunk
from chatstream_cli.render import stats
from chatstream_cli.render.json import JsonRenderer
from chatstream_cli.render.stats import ReplyClock, stats_line

from .conftest import CHATSTREAM, REPO, cli_env

GOLDFISH = "Write me a 1 verse song about goldfish on the moon"
POET = ["-m", "builtin:poet", "-o", "delay_ms", "0"]
KEYS = ["model", "provider", "content", "thinking", "stop_reason", "usage", "timing", "run_id", "cid"]
KEYS += ["prompt", "system", "files", "attachments", "options", "role"]  # what was asked (issue 16)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_object(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def poet(**settings: Any) -> AIMessageChunk:
    return get_model("builtin:poet", delay_ms=0, **settings).invoke(GOLDFISH)


# -- --json ---------------------------------------------------------------------------------------


def test_json_is_one_object_with_the_keys_of_cli_md() -> None:
    record = one_object(run(*POET, "--json", GOLDFISH))
    expected = poet()
    assert list(record) == KEYS
    assert record["model"] == "poet"
    assert record["provider"] == "builtin"
    assert record["content"] == expected.text
    assert record["thinking"] is None
    assert record["stop_reason"] == "end_turn"
    assert record["usage"] == expected.usage_metadata
    assert list(record["usage"]) == ["input_tokens", "output_tokens", "total_tokens"]
    assert uuid.UUID(record["run_id"]).version == 7
    assert record["cid"] == history.conversations()[0].cid  # the conversation it was recorded in
    timing = record["timing"]
    assert list(timing) == ["first_token_ms", "total_ms", "tokens_per_s"]
    assert 0 <= timing["first_token_ms"] <= timing["total_ms"]
    assert timing["tokens_per_s"] > 0


def test_json_carries_the_thinking_apart_from_the_answer() -> None:
    record = one_object(run(*POET, "--thinking", "--json", GOLDFISH))
    expected = get_model("builtin:poet", delay_ms=0, thinking=True).invoke(GOLDFISH)
    assert record["content"] == expected.text
    assert record["thinking"].startswith("The user wants a song about goldfish on the moon.")


def test_json_reports_a_max_tokens_stop() -> None:
    record = one_object(run(*POET, "--max-tokens", "5", "--json", GOLDFISH))
    assert record["stop_reason"] == "max_tokens"
    assert record["usage"]["output_tokens"] == 5
    assert record["content"] == poet(max_tokens=5).text


def test_json_without_streaming_has_no_token_rate() -> None:
    record = one_object(run(*POET, "--no-stream", "--json", GOLDFISH))
    assert record["content"] == poet().text
    assert record["timing"]["tokens_per_s"] is None  # one chunk: no time between first and last token


def test_json_escapes_control_characters_so_a_terminal_shows_them_safely() -> None:
    hostile = "clear\x1b[2J bell\x07 back\r c1\x9b2J\x9d52;c;aGk=\x9c del\x7f"
    result = run("-m", "builtin:echo", "-o", "delay_ms", "0", "--json", hostile)
    assert re.search("[\x00-\x1f\x7f-\x9f]", result.stdout.rstrip("\n")) is None
    assert one_object(result)["content"] == hostile


def test_json_after_ctrl_c_keeps_what_arrived(tmp_path: Path) -> None:
    argv = [*CHATSTREAM, "-m", "builtin:poet", "-o", "delay_ms", "40", "--json", GOLDFISH]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(), cwd=REPO, preexec_fn=default_sigint
    ) as process:
        try:
            process.communicate(timeout=0.8)  # the reply takes about 2 s
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    record = json.loads(stdout)
    assert record["stop_reason"] is None
    assert record["content"] and poet().text.startswith(record["content"])
    assert record["content"] != poet().text


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.mark.parametrize(("error", "written"), [(KeyboardInterrupt(), True), (BrokenPipeError(), False)])
def test_an_interrupted_reply_gets_a_partial_object_but_a_closed_stdout_nothing(
    error: BaseException, written: bool
) -> None:
    out = io.BytesIO()
    renderer = JsonRenderer(out, model="m", provider="p", run_id="r")
    renderer.start()
    renderer.chunk(AIMessageChunk(content=[{"type": "thinking", "thinking": "hm", "index": 0}]))
    renderer.chunk(AIMessageChunk(content=[{"type": "text", "text": "Partial", "index": 1}]))
    renderer.abort(error)
    if not written:
        assert out.getvalue() == b""
        return
    record = json.loads(out.getvalue())
    assert (record["content"], record["thinking"], record["stop_reason"]) == ("Partial", "hm", None)
    assert record["usage"] == {"input_tokens": None, "output_tokens": None, "total_tokens": None}


# -- --stats --------------------------------------------------------------------------------------

STATS_LINE = re.compile(
    r"^poet · (?P<input>\d+) in · (?P<output>\d+) out · first token \d+ ms · \d+\.\d tok/s · \d+\.\d\d s$"
)


def test_stats_is_one_line_on_stderr_after_the_reply() -> None:
    result = run("-m", "builtin:poet", "-o", "delay_ms", "1", "--stats", GOLDFISH)
    expected = poet()
    assert result.exit_code == 0
    assert result.stdout == expected.text + "\n"  # stdout carries the answer and nothing else
    match = STATS_LINE.match(result.stderr.strip())
    assert match, result.stderr
    usage = expected.usage_metadata or {}
    assert (int(match["input"]), int(match["output"])) == (usage["input_tokens"], usage["output_tokens"])


def test_stats_and_json_together() -> None:
    result = run(*POET, "--stats", "--json", GOLDFISH)
    assert one_object(result)["content"] == poet().text
    assert result.stderr.startswith("poet · ")


def test_no_stats_line_when_the_reply_fails() -> None:
    result = run("-m", "builtin:nosuch", "--stats", GOLDFISH)
    assert result.exit_code == 3
    assert result.stderr.startswith("chatstream: error: ")
    assert " · " not in result.stderr


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """``time.perf_counter`` for the stats module, returning the readings the test lists."""
    readings: list[float] = []
    monkeypatch.setattr(stats.time, "perf_counter", lambda: readings.pop(0))
    yield readings
    assert readings == [], "the clock was read fewer times than expected"


def text(value: str) -> AIMessageChunk:
    return AIMessageChunk(content=value)


def test_first_token_counts_from_the_request_and_the_rate_from_first_to_last_token(fake_clock: list[float]) -> None:
    fake_clock += [10.0, 10.412, 11.0, 12.412, 12.5]  # start, three tokens, end
    clock = ReplyClock()
    clock.start()
    clock.observe(text(""))  # the empty first chunk of a stream is not a token
    for piece in ("a", "b", "c"):
        clock.observe(text(piece))
    clock.stop()
    assert clock.first_token_ms == pytest.approx(412)
    assert clock.total_ms == pytest.approx(2500)
    assert clock.tokens_per_s(142) == pytest.approx(71)
    line = stats_line("claude-haiku-4-5", {"input_tokens": 16, "output_tokens": 142, "total_tokens": 158}, clock)
    assert line == "claude-haiku-4-5 · 16 in · 142 out · first token 412 ms · 71.0 tok/s · 2.50 s"


def test_figures_nobody_reported_are_left_out(fake_clock: list[float]) -> None:
    fake_clock += [0.0, 0.25, 1.0]
    clock = ReplyClock()
    clock.start()
    clock.observe(text("only token"))
    clock.stop()
    unknown = {"input_tokens": None, "output_tokens": None, "total_tokens": None}
    assert stats_line("local-model", unknown, clock) == "local-model · first token 250 ms · 1.00 s"


def test_the_json_timing_uses_the_same_clock(fake_clock: list[float]) -> None:
    fake_clock += [0.0, 0.1, 0.6, 0.7]
    out = io.BytesIO()
    renderer = JsonRenderer(out, model="m", provider="p", run_id=None)
    renderer.start()
    renderer.chunk(text("one"))
    renderer.chunk(text(" two"))
    usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    renderer.finish(AIMessageChunk(content="one two", usage_metadata=usage))
    record = json.loads(out.getvalue())
    assert record["timing"] == {"first_token_ms": 100, "total_ms": 700, "tokens_per_s": 4.0}
    assert record["usage"] == usage
