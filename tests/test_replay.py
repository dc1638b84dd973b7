"""``chatstream replay``: an --events recording shown again prints what the original run printed."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.commands import replay
from chatstream_cli.events import STREAM
from tests.conftest import CHATSTREAM, cli_env

SONG = "Write me a 2 verse song about goldfish on the moon"
POET = ["-m", "builtin:poet", "-o", "delay_ms", "0"]


def run(*args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def record(*args: str) -> str:
    """The --events lines of a run (and check the run itself went well)."""
    result = run("--events", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def replayed(recording: str, tmp_path: Path, *options: str) -> Result:
    path = tmp_path / "recording.jsonl"
    path.write_text(recording)
    return run("replay", "--speed", "0", *options, str(path))


@pytest.mark.parametrize(
    "args",
    [
        [*POET, SONG],
        [*POET, "--thinking", SONG],
        [*POET, "-d", "|", SONG],
        [*POET, "--no-stream", SONG],
        [*POET, "-s", "Be brief.", "--async", SONG],
        ["-m", "builtin:echo", "-o", "delay_ms", "0", "tabs\tand ünïcode 🐟, no newline"],
    ],
    ids=["plain", "thinking", "delimiter", "no-stream", "system+async", "echo"],
)
def test_replay_prints_what_the_original_run_printed(args: list[str], tmp_path: Path) -> None:
    original = run(*args)
    assert original.exit_code == 0
    options = ["-d", "|"] if "-d" in args else []
    result = replayed(record(*args), tmp_path, *options)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout_bytes == original.stdout_bytes


def test_replay_reads_stdin() -> None:
    result = run("replay", "--speed", "0", "-", input=record(*POET, SONG))
    assert (result.exit_code, result.stdout) == (0, run(*POET, SONG).stdout)


def test_several_runs_and_a_recording_cut_short(tmp_path: Path) -> None:
    first, second = record(*POET, SONG), record(*POET, "a song about rain")
    cut = "\n".join(second.splitlines()[:-1]) + "\n"  # no end event
    result = replayed(first + "\n" + cut, tmp_path)
    assert result.stdout == run(*POET, SONG).stdout + run(*POET, "a song about rain").stdout


def test_a_recorded_failure_replays_up_to_it_then_says_so(tmp_path: Path) -> None:
    argv = [*CHATSTREAM, "--events", "-m", "builtin:poet", "-o", "delay_ms", "20", "-o", "verses", "50", SONG]
    with subprocess.Popen(argv, env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        head = b"".join(process.stdout.readline() for _ in range(6))
        process.send_signal(signal.SIGINT)
        recording = (head + process.communicate(timeout=30)[0]).decode()
    events = [json.loads(line) for line in recording.splitlines()]
    text = "".join(event["data"]["chunk"]["content"] for event in events if event["event"] == STREAM)
    result = replayed(recording, tmp_path)
    assert result.exit_code == 0
    assert result.stdout == text + "\n"
    assert result.stderr == (
        "chatstream: the recorded reply ended early: interrupted (interrupted; the original run exited with 130)\n"
    )


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "is not an event"),
        ('{"event": "on_chat_model_stream", "data": {}}', "on_chat_model_stream has no valid message"),
        ('{"event": "on_chat_model_stream", "data": {"chunk": {"content": 7}}}', "content cannot be 7"),
        ('{"event": "on_chat_model_end", "data": {"output": "done"}}', "on_chat_model_end has no valid message"),
        ('{"event": "on_chat_model_error", "data": {"error": null}}', "has no error object"),
    ],
)
def test_a_malformed_line_is_a_usage_error_naming_its_line(bad_line: str, reason: str, tmp_path: Path) -> None:
    lines = record(*POET, SONG).splitlines()
    lines.insert(4, bad_line)
    result = replayed("\n".join(lines) + "\n", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"chatstream: error: {tmp_path / 'recording.jsonl'} line 5 ")
    assert reason in result.stderr and result.stderr.count("\n") == 1
    shown = "".join(json.loads(line)["data"]["chunk"]["content"] for line in lines[1:4])
    assert result.stdout == shown + "\n"  # what came before the bad line stays


def test_replay_usage_errors() -> None:
    missing = run("replay", "/no/such/recording.jsonl")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("chatstream: error: cannot read /no/such/recording.jsonl")
    assert run("replay", "--speed", "-1", "-", input="").exit_code == 2


def test_speed_scales_the_pause_before_each_chunk_with_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(replay.time, "sleep", pauses.append)
    recording = record(*POET, "--thinking", SONG)
    chunks = [json.loads(line)["data"]["chunk"] for line in recording.splitlines()[1:-1]]
    visible = [chunk for chunk in chunks if chunk["content"]]  # thinking or text, not the empty first/last
    path = tmp_path / "recording.jsonl"
    path.write_text(recording)
    for speed, pause in (("1", replay.PACE_S), ("4", replay.PACE_S / 4)):
        pauses.clear()
        assert run("replay", "--speed", speed, str(path)).exit_code == 0
        assert pauses == [pause] * len(visible)
    pauses.clear()
    assert run("replay", "--speed", "0", str(path)).exit_code == 0
    assert pauses == []


def test_replay_on_a_terminal_streams_the_text(tmp_path: Path) -> None:
    path = tmp_path / "recording.jsonl"
    path.write_text(record(*POET, SONG))
    env: dict[str, Any] = cli_env(TERM="xterm-256color", COLUMNS="100")
    child = pexpect.spawn(
        CHATSTREAM[0], [*CHATSTREAM[1:], "replay", "--raw", "--speed", "4", str(path)], env=env, timeout=20
    )
    child.expect_exact("Here is a 2 verse song about goldfish on the moon:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
