"""``chatstream batch FILE``: input formats, order, failures, the shared backoff, resume, exit codes.

The network is faked at the network: tests/batch_server.py serves OpenAI's streaming bytes and scripts
500s, 429s with retry-after, delays and cut connections, counting requests and the most served at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pexpect
import pyte
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli import get_model
from chatstream_cli.batch.input import read_items
from chatstream_cli.batch.results import BatchResult
from chatstream_cli.batch.runner import in_input_order, run_batch
from chatstream_cli.cli import app
from chatstream_cli.messages import AIMessageChunk, BaseMessage
from chatstream_cli.runnable import ChatModel
from tests.batch_server import BatchServer, batch_server  # noqa: F401  (the fixture)
from tests.conftest import CHATSTREAM, cli_env

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]


@pytest.fixture
def server(batch_server: BatchServer) -> BatchServer:  # noqa: F811  (takes the imported fixture)
    return batch_server


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["batch", *args], input=input)


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def openai_args(server: BatchServer, *extra: str) -> list[str]:
    return ["-m", "openai:m", "--base-url", f"{server.base_url}/v1", *extra]


@pytest.fixture(autouse=True)
def openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-batch-key")


# --- input ------------------------------------------------------------------------------------------


def test_one_prompt_per_line_gives_one_result_per_line_with_line_numbers_as_ids(tmp_path: Path) -> None:
    source = tmp_path / "prompts.txt"
    source.write_text("first prompt\n\nsecond prompt\nthird\n")
    result = run(str(source), *ECHO)
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    assert [(line["id"], line["content"]) for line in lines] == [
        (1, "first prompt"),
        (3, "second prompt"),
        (4, "third"),
    ]
    assert set(lines[0]) == {
        "id",
        "model",
        "provider",
        "content",
        "thinking",
        "stop_reason",
        "usage",
        "timing",
        "run_id",
        "cid",
    }
    assert lines[0]["provider"] == "builtin" and lines[0]["stop_reason"] == "end_turn"
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_json_lines_carry_ids_messages_and_per_line_settings() -> None:
    lines = [
        {"id": "a", "prompt": "alpha"},
        {
            "id": "b",
            "messages": [{"role": "user", "content": "one"}, {"role": "assistant", "content": "x"}],
            "prompt": "two",
        },
        {"id": 7, "prompt": "seven", "model": "builtin:poet", "options": {"delay_ms": 0, "verses": 1}},
    ]
    result = run("-", *ECHO, input="".join(json.dumps(line) + "\n" for line in lines))
    assert result.exit_code == 0, result.output
    out = lines_of(result.stdout)
    assert [line["id"] for line in out] == ["a", "b", 7]
    assert out[0]["content"] == "alpha"
    assert out[1]["content"] == "two"
    assert out[2]["model"] == "poet" and out[2]["content"] != "seven"


def test_a_line_may_name_a_saved_role_whose_settings_and_template_apply(isolated_env: Path) -> None:
    """The role gives what the line leaves out; the line's own settings win, as flags win over a role."""
    roles = isolated_env / "roles"
    roles.mkdir(parents=True)
    role = 'model = "builtin:echo"\ntemplate = "LOUDLY: {input}"\noptions = { delay_ms = 0 }\n'
    (roles / "shout.toml").write_text(role)
    lines = [{"id": 1, "prompt": "hi", "role": "shout"}, {"id": 2, "prompt": "yo", "role": "shout", "model": "poet"}]
    result = run("-", input="".join(json.dumps(line) + "\n" for line in lines))
    assert result.exit_code == 0, result.output
    first, second = lines_of(result.stdout)
    assert first["content"] == "LOUDLY: hi" and first["model"] == "echo"
    assert second["model"] == "poet"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"prompt": "ok"}\n{"prompt": \n', "line 2 of the batch input is not JSON"),
        ('{"prompt": "ok"}\n[1]\n', "line 2 of the batch input is not a JSON object"),
        ('{"prompt": "ok", "colour": "red"}\n', "unknown key 'colour'"),
        ('{"id": 1, "prompt": "a"}\n{"id": 1, "prompt": "b"}\n', "line 2: the id 1 was used before"),
        ('{"prompt": "a", "role": "nosuchrole"}\n', "line 1 of the batch input names a role that cannot be applied"),
        ('{"id": "x"}\n', "has no prompt"),
        ('{"prompt": "a", "max_tokens": 0}\n', "max_tokens below 1"),
    ],
)
def test_a_bad_line_exits_2_naming_it_before_anything_is_sent(tmp_path: Path, text: str, said: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(text)
    result = run(str(source), *ECHO)
    assert result.exit_code == 2
    assert result.stdout == ""  # a file is checked whole first: nothing ran
    assert result.stderr.startswith("chatstream: error: ") and said in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_bad_line_on_stdin_exits_2_after_the_lines_before_it() -> None:
    result = run("-", *ECHO, input='{"prompt": "fine"}\nnot json at all\n')
    assert result.exit_code == 2
    assert [line["content"] for line in lines_of(result.stdout)] == ["fine"]
    assert "line 2" in result.stderr


def test_resume_needs_out_and_out_is_not_overwritten(tmp_path: Path) -> None:
    assert "--resume needs --out FILE" in run("-", "--resume", *ECHO, input="hi\n").stderr
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": 1}\n')
    result = run("-", "--out", str(out), *ECHO, input="hi\n")
    assert result.exit_code == 2 and "already holds results" in result.stderr
    assert out.read_text() == '{"id": 1}\n'


# --- concurrency, order, failures -------------------------------------------------------------------


def scripted_prompts(count: int) -> list[str]:
    """Every 7th prompt fails for good, every 10th is rate limited once, every 3rd is slow, every 11th fails once."""
    prompts = []
    for number in range(count):
        tags = [f"prompt {number}"]
        tags += ["#500"] if number % 7 == 3 else []
        tags += ["#429"] if number % 10 == 1 else []
        tags += ["#slow"] if number % 3 == 0 else []
        tags += ["#flaky"] if number % 11 == 5 else []
        prompts.append(" ".join(tags))
    return prompts


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_results_come_in_input_order_with_failures_recorded_and_at_most_n_at_once(
    server: BatchServer, tmp_path: Path, concurrency: int
) -> None:
    server.slow_s = 0.02
    prompts = scripted_prompts(60)
    source = tmp_path / "prompts.txt"
    source.write_text("\n".join(prompts) + "\n")
    result = run(str(source), *openai_args(server, "--concurrency", str(concurrency)), "--retries", "2")
    lines = lines_of(result.stdout)
    assert [line["id"] for line in lines] == list(range(1, 61))
    failed = {line["id"] for line in lines if "error" in line}
    assert failed == {number + 1 for number in range(60) if number % 7 == 3}
    for line in lines:
        if "error" in line:
            assert line["error"]["status"] == 500 and line["error"]["exit_code"] == 4
            assert "content" not in line
        else:
            assert line["content"] == "echo: " + prompts[line["id"] - 1]
    assert result.exit_code == 4  # some failed
    assert server.peak <= concurrency
    assert server.peak >= min(concurrency, 2)  # it did run prompts side by side
    for number, prompt in enumerate(prompts):
        expected = 3 if number % 7 == 3 else 2 if (number % 10 == 1 or number % 11 == 5) else 1
        assert server.attempts[prompt] == expected, prompt


def test_a_reply_cut_after_its_first_token_is_not_sent_again(server: BatchServer) -> None:
    result = run("-", *openai_args(server), input="fine\nbroken #midfail\n")
    lines = lines_of(result.stdout)
    assert lines[1]["error"]["exit_code"] == 5 and lines[1]["content"] == "echo: "
    assert server.attempts["broken #midfail"] == 1
    assert result.exit_code == 5  # every failure was the network's


def test_a_rate_limit_pauses_the_whole_batch_and_lowers_concurrency(server: BatchServer) -> None:
    prompts = [f"p{number} #429" if number == 0 else f"p{number} #slow" for number in range(12)]
    server.slow_s = 0.05
    result = run("-", *openai_args(server, "--concurrency", "4"), input="\n".join(prompts) + "\n")
    assert result.exit_code == 0, result.output
    assert all("error" not in line for line in lines_of(result.stdout))
    assert server.attempts["p0 #429"] == 2


def test_a_server_limit_on_parallel_requests_is_found_and_kept_without_waiting(server: BatchServer) -> None:
    """LiteLLM with max_parallel_requests 2 and -j 8: the batch lowers its requests in flight to the server's
    limit (AIMD) instead of waiting out each 429's retry-after (30 s here), and loses no prompt."""
    server.max_parallel, server.slow_s = 2, 0.01
    prompts = [f"p{number} #slow" for number in range(40)]
    started = time.monotonic()
    result = run("-", *openai_args(server, "-j", "8"), "--retries", "0", "--stats", input="\n".join(prompts) + "\n")
    assert time.monotonic() - started < 30, "it waited for a retry-after"
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    assert [line["content"] for line in lines] == [f"echo: {prompt}" for prompt in prompts]  # none lost
    assert server.peak <= 2
    assert 0 < server.rejected <= 24  # the first wave's excess, a few descents and rare probes above the limit
    # The server's 2, or 3: a client counts a request in flight until it has read the end of its answer, and
    # the server frees the slot just before that end goes out, so a round at 3 can pass without a 429.
    settled = re.search(r"· settled at (\d+) in flight ·", result.stderr.splitlines()[-1])
    assert settled is not None and settled[1] in ("2", "3"), result.stderr


def test_stats_print_totals(server: BatchServer) -> None:
    result = run(
        "-",
        *openai_args(server),
        "--stats",
        input="one\ntwo #500\n",
    )
    assert result.stderr.splitlines()[-1].startswith("batch · 1 completed · 1 failed")


# --- resume -----------------------------------------------------------------------------------------


def test_resume_runs_only_what_is_missing_and_retry_failed_reruns_failures(server: BatchServer, tmp_path: Path) -> None:
    source = tmp_path / "prompts.txt"
    source.write_text("one\ntwo #flaky\nthree\nfour\n")
    out = tmp_path / "out.jsonl"
    first = run(str(source), *openai_args(server), "--retries", "0", "--out", str(out))
    assert first.exit_code == 4
    out.write_bytes(out.read_bytes()[:-30])  # a crash cut the last line short
    resumed = run(str(source), *openai_args(server), "--resume", "--out", str(out))
    assert resumed.exit_code == 0, resumed.output
    lines = lines_of(out.read_text())
    assert [line["id"] for line in lines] == [1, 2, 3, 4]
    assert "error" in lines[1]
    assert server.attempts["four"] == 2 and server.attempts["one"] == 1
    retried = run(str(source), *openai_args(server), "--retry-failed", "--out", str(out))
    assert retried.exit_code == 0, retried.output
    lines = lines_of(out.read_text())
    assert sorted(line["id"] for line in lines) == [1, 2, 3, 4]
    assert all("error" not in line for line in lines)
    assert server.attempts["two #flaky"] == 2 and server.attempts["one"] == 1


def test_ctrl_c_leaves_whole_lines_and_resume_finishes_the_job(server: BatchServer, tmp_path: Path) -> None:
    server.slow_s = 0.05
    source = tmp_path / "prompts.txt"
    source.write_text("".join(f"prompt {number} #slow\n" for number in range(40)))
    out = tmp_path / "out.jsonl"
    argv = [*CHATSTREAM, "batch", str(source), *openai_args(server, "-j", "2"), "--out", str(out)]
    env = cli_env(OPENAI_API_KEY="sk-test-batch-key")
    with subprocess.Popen(argv, stderr=subprocess.PIPE, env=env, preexec_fn=_default_sigint) as process:
        deadline = time.monotonic() + 20
        while (not out.exists() or out.read_bytes().count(b"\n") < 5) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert b"Traceback" not in stderr and b"--resume" in stderr
    written = out.read_bytes()
    assert written.endswith(b"\n")
    before = lines_of(written.decode())
    assert 5 <= len(before) < 40
    done_before = {line["id"] for line in before}
    resumed = subprocess.run([*argv, "--resume"], capture_output=True, env=env, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    after = lines_of(out.read_text())
    assert sorted(line["id"] for line in after) == list(range(1, 41))  # nothing lost, nothing twice
    for ident in done_before:
        assert server.attempts[f"prompt {ident - 1} #slow"] == 1


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setpgrp()


# --- progress -----------------------------------------------------------------------------------------


def test_a_terminal_gets_a_progress_bar_on_stderr(tmp_path: Path) -> None:
    source = tmp_path / "prompts.txt"
    source.write_text("".join(f"prompt {number}\n" for number in range(20)))
    out = tmp_path / "out.jsonl"
    argv = [*CHATSTREAM[1:], "batch", str(source), "-m", "builtin:echo", "-o", "delay_ms", "5", "--out", str(out)]
    child = pexpect.spawn(CHATSTREAM[0], argv, env=cli_env(TERM="xterm"), dimensions=(10, 160), timeout=30)
    shown = child.read().decode()
    child.close()
    assert child.exitstatus == 0
    screen = pyte.Screen(160, 10)
    pyte.Stream(screen).feed(shown.replace("\n", "\r\n"))
    bar = next(line for line in screen.display if "20/20" in line)
    assert "0 failed · 0 running" in bar and "/s" in bar and "ETA" in bar
    assert len(lines_of(out.read_text())) == 20


# --- the Python API -----------------------------------------------------------------------------------


class GatedModel(ChatModel):
    """Replies with the prompt; the prompt "first" waits until the test opens the gate."""

    provider = "gated"

    def __init__(self) -> None:
        super().__init__("gated")
        self.gate = asyncio.Event()
        self.started_while_closed: list[str] = []

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        prompt = str(messages[-1].content)
        if not self.gate.is_set():
            self.started_while_closed.append(prompt)
        if prompt == "first":
            await self.gate.wait()
        yield AIMessageChunk(content=prompt)


def test_run_batch_yields_results_as_they_finish_tagged_with_their_index_within_a_window() -> None:
    model = GatedModel()
    items = read_items(["first\n", *(f"p{number}\n" for number in range(300))])
    window = 64  # at -j 4: max(64, 8 x 4)

    async def main() -> list[BatchResult]:
        finished = []
        async for result in run_batch(items, model, concurrency=4):
            finished.append(result)
            if len(finished) == window - 1:  # every prompt the window allows has finished: "first" may go on
                model.gate.set()
        return finished

    finished = asyncio.run(main())
    assert {result.index for result in finished} == set(range(301))
    assert finished[0].index == 1 and finished[window - 1].index == 0  # "first" came once the gate opened
    assert all(
        result.line["content"] == ("first" if result.index == 0 else f"p{result.index - 1}") for result in finished
    )
    # While "first" waited, nothing past the window started: the results waiting for it stayed few.
    assert model.started_while_closed == ["first", *(f"p{number}" for number in range(window - 1))]


def test_in_input_order_puts_them_back_in_order() -> None:
    model = GatedModel()
    model.gate.set()

    async def main() -> list[int]:
        results = run_batch(read_items(["first\n", "a\n", "b\n"]), model, concurrency=3)
        return [result.index async for result in in_input_order(results)]

    assert asyncio.run(main()) == [0, 1, 2]


def test_abatch_takes_langchains_config_max_concurrency(server: BatchServer) -> None:
    server.slow_s = 0.05
    model = get_model("openai:m", base_url=f"{server.base_url}/v1", retries=0)
    replies = asyncio.run(model.abatch([f"q{number} #slow" for number in range(8)], config={"max_concurrency": 2}))
    assert [reply.content for reply in replies] == [f"echo: q{number} #slow" for number in range(8)]
    assert server.peak == 2
