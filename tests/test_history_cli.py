"""The history through the command line: recording, -c/--cid, logs, --no-log and the failures the issue lists.

Every test writes a real SQLite file in the test's own CHATSTREAM_HOME; the network providers talk to
the loopback server, which records what chatstream sent.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatstream_cli import history
from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (its fixture)
from tests.test_faults import OPENAI, _openai_chunk

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]
FAKE_KEY = "sk-HISTORY-AUDIT-9d41c7"


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def db_path(home: Path) -> Path:
    return home / "history.db"


def openai_args(server: LoopbackServer) -> list[str]:
    return ["-m", OPENAI.model, "--base-url", server.base_url + OPENAI.url_suffix, "--retries", "0"]


@pytest.fixture
def server(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    return loopback_server


def test_continue_sends_the_earlier_turns_to_the_server(server: LoopbackServer) -> None:
    for pieces in (["Paris", "."], ["Bonjour", "!"], ["Au revoir", "."]):
        server.enqueue(Reply.sse(OPENAI.stream(pieces)))
    assert run(*openai_args(server), "-s", "Be brief.", "capital of France?")[0] == 0
    assert run(*openai_args(server), "-c", "and a greeting?")[0] == 0
    code, out, _ = run("-c", "--base-url", server.base_url + "/v1", "--retries", "0", "and in French?")
    assert (code, out) == (0, "Au revoir.\n")
    sent = server.requests[-1].json
    assert sent["model"] == "gpt-4o-mini", "-c keeps the conversation's model"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "and a greeting?"},
        {"role": "assistant", "content": "Bonjour!"},
        {"role": "user", "content": "and in French?"},
    ]


def test_cid_takes_a_unique_prefix_and_m_overrides_the_model() -> None:
    run(*ECHO, "first conversation")
    run(*ECHO, "second conversation")
    first, second = history.conversations()
    assert run("--cid", first.cid[:6], "-o", "delay_ms", "0", "more")[0] == 0
    turns = history.exchanges(cid=first.cid)
    assert [turn.prompt for turn in turns] == ["first conversation", "more"]
    assert turns[-1].messages[0] == {**turns[-1].messages[0], "content": "first conversation", "type": "human"}
    run("--cid", second.cid, "-m", "builtin:poet", "-o", "delay_ms", "0", "a poem")
    assert history.exchanges(cid=second.cid)[-1].full_model == "builtin:poet"


def test_a_cid_matching_nothing_or_several_is_a_usage_error() -> None:
    code, _, err = run("--cid", "zzzz", "hi")
    assert code == 2 and err.startswith("chatstream: error: no conversation id starts with 'zzzz'")
    for _ in range(20):  # twenty random ids: two of them share a first hex digit
        run(*ECHO, "hi")
    digits = [conversation.cid[0] for conversation in history.conversations()]
    shared = next(digit for digit in digits if digits.count(digit) > 1)
    code, _, err = run("--cid", shared, "hi")
    assert code == 2 and "starts more than one conversation id" in err and len(err.splitlines()) == 1


def test_continue_with_no_history_says_what_to_do() -> None:
    code, _, err = run("-c", "hi")
    assert code == 2 and "no conversation to continue" in err


def test_json_reports_the_real_cid() -> None:
    code, out, _ = run(*ECHO, "--json", "hi")
    cid = json.loads(out)["cid"]
    assert code == 0 and cid == history.conversations()[0].cid
    code, out, _ = run("-c", "-o", "delay_ms", "0", "--json", "again")
    assert json.loads(out)["cid"] == cid


def test_events_input_is_the_message_list_when_continuing() -> None:
    run(*ECHO, "hi")
    out = run("-c", "-o", "delay_ms", "0", "--events", "again")[1]
    start = json.loads(out.splitlines()[0])
    assert [(message["type"], message["content"]) for message in start["data"]["input"]] == [
        ("human", "hi"),
        ("ai", "hi"),
        ("human", "again"),
    ]


def test_every_recorded_field(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(OPENAI.stream(["Hel", "lo"])))
    run(*openai_args(server), "-t", "0.5", "--max-tokens", "50", "-o", "top_p", "0.9", "-s", "sys", "hey")
    (exchange,) = history.exchanges()
    assert (exchange.model, exchange.provider, exchange.prompt, exchange.reply) == (
        "gpt-4o-mini",
        "openai",
        "hey",
        "Hello",
    )
    assert (exchange.system, exchange.outcome, exchange.exit_code, exchange.stop_reason) == (
        "sys",
        "completed",
        0,
        "stop",
    )
    assert exchange.options["temperature"] == 0.5 and exchange.options["max_tokens"] == 50
    assert exchange.options["options"] == {"top_p": 0.9}
    assert exchange.first_token_ms is not None and exchange.total_ms >= exchange.first_token_ms
    assert exchange.run_id and exchange.turn == 1
    assert [message["type"] for message in exchange.messages] == ["system", "human"]


def test_a_dropped_connection_keeps_what_arrived_marked_failed(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(OPENAI.stream(["Hello", " there", " friend"]), drop_after=2))
    code, out, _ = run(*openai_args(server), "hi")
    (exchange,) = history.exchanges()
    assert code == 5 and exchange.outcome == "failed" and exchange.exit_code == 5
    assert exchange.reply == out.rstrip("\n") and exchange.reply.startswith("Hello")
    assert exchange.error
    server.enqueue(Reply.sse(OPENAI.stream(["ok"])))
    run("-c", "--base-url", server.base_url + "/v1", "next")
    assert server.requests[-1].json["messages"][1] == {"role": "assistant", "content": exchange.reply}


def test_max_tokens_is_recorded_as_cut() -> None:
    run("-m", "builtin:poet", "-o", "delay_ms", "0", "--max-tokens", "3", "goldfish")
    assert history.exchanges()[0].outcome == "max_tokens"


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({"args": ["--no-log"]}, id="--no-log"),
        pytest.param({"env": {"CHATSTREAM_NO_LOG": "1"}}, id="CHATSTREAM_NO_LOG"),
        pytest.param({"config": "log = false\n"}, id="config"),
    ],
)
def test_no_log_leaves_no_trace(how: dict, isolated_env: Path) -> None:
    if "config" in how:
        isolated_env.mkdir(parents=True)
        (isolated_env / "config.toml").write_text(how["config"])
    code, out, _ = run(*ECHO, *how.get("args", []), "secret plans", env=how.get("env"))
    assert (code, out) == (0, "secret plans\n")
    assert not db_path(isolated_env).exists()


def test_logs_off_and_on_edit_the_config(isolated_env: Path) -> None:
    assert run("logs", "off")[0] == 0
    run(*ECHO, "unrecorded")
    assert not db_path(isolated_env).exists()
    assert "log = false" in (isolated_env / "config.toml").read_text()
    run("logs", "on")
    run(*ECHO, "recorded")
    assert [exchange.prompt for exchange in history.exchanges()] == ["recorded"]


def test_logs_shows_the_latest_newest_last_plain_on_a_pipe() -> None:
    for word in ("alpha", "beta", "gamma", "delta"):
        run(*ECHO, word)
    code, out, _ = run("logs")
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("> ")] == ["> beta", "> gamma", "> delta"]
    assert out.count("## ") == 3 and "\x1b" not in out
    assert len(run("logs", "-n", "0")[1].split("## ")) == 5
    cid = history.conversations()[-1].cid
    assert f"## {cid[:8]} · turn 1 · builtin:echo" in out


def test_logs_json_and_jsonl_carry_every_field() -> None:
    run(*ECHO, "one")
    run("-c", "-o", "delay_ms", "0", "two")
    records = json.loads(run("logs", "--json")[1])
    assert [record["prompt"] for record in records] == ["one", "two"]
    assert set(records[0]) >= {"cid", "model", "provider", "system", "messages", "reply", "thinking", "options"}
    assert set(records[0]) >= {"input_tokens", "first_token_ms", "total_ms", "stop_reason", "outcome", "exit_code"}
    lines = run("logs", "--jsonl")[1].splitlines()
    assert [json.loads(line)["turn"] for line in lines] == [1, 2]


def test_logs_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    run(*ECHO, "the quick brown fox")
    run("-m", "builtin:poet", "-o", "delay_ms", "0", "goldfish")
    run(*ECHO, "lazy dog")
    assert [e["prompt"] for e in json.loads(run("logs", "--json", "-q", "brown")[1])] == ["the quick brown fox"]
    assert [e["prompt"] for e in json.loads(run("logs", "--json", "-q", "fox quick")[1])] == ["the quick brown fox"]
    assert json.loads(run("logs", "--json", "-q", 'fox" OR "dog')[1]) == []  # words, never FTS syntax
    assert [e["prompt"] for e in json.loads(run("logs", "--json", "-m", "builtin:poet")[1])] == ["goldfish"]
    assert [e["prompt"] for e in json.loads(run("logs", "--json", "-c")[1])] == ["lazy dog"]
    assert json.loads(run("logs", "--json", "--since", "2999-01-01")[1]) == []
    assert len(json.loads(run("logs", "--json", "--until", "2999-01-01")[1])) == 3
    code, _, err = run("logs", "--since", "yesterday")
    assert code == 2 and "is not a date" in err


def test_logs_search_finds_a_word_of_an_old_reply() -> None:
    run("-m", "builtin:poet", "-o", "delay_ms", "0", "goldfish on the moon")
    reply_word = max(history.exchanges()[0].reply.split(), key=len).strip(",.!?;:")
    for word in ("later", "much later"):
        run(*ECHO, word)
    found = json.loads(run("logs", "--json", "-q", reply_word)[1])
    assert [record["prompt"] for record in found] == ["goldfish on the moon"]


def test_logs_list_path_and_delete(isolated_env: Path) -> None:
    run(*ECHO, "keep me")
    run(*ECHO, "forget me")
    run("-c", "-o", "delay_ms", "0", "and me")
    keep, forget = history.conversations()
    listing = run("logs", "list")[1].splitlines()
    assert listing[1].startswith(forget.cid[:8]) and "2 turns" in listing[1] and listing[1].endswith("forget me")
    assert run("logs", "path")[1].strip() == str(db_path(isolated_env))
    code, out, _ = run("logs", "delete", "--cid", forget.cid[:8])
    assert (code, out.strip()) == (0, "deleted 2 exchanges and 1 conversation")
    assert [c.cid for c in history.conversations()] == [keep.cid]
    assert run("logs", "delete", "--before", "2999-01-01")[1].strip() == "deleted 1 exchange and 1 conversation"
    assert history.exchanges() == []
    assert run("logs", "delete")[0] == 2


def test_database_mode_is_private(isolated_env: Path) -> None:
    run(*ECHO, "hi")
    assert stat.S_IMODE(db_path(isolated_env).stat().st_mode) == 0o600


def test_a_fake_key_never_reaches_the_database(server: LoopbackServer, isolated_env: Path) -> None:
    server.enqueue(Reply.sse(OPENAI.stream(["fine"])))
    url = server.base_url.replace("http://", f"http://user:{FAKE_KEY}@") + "/v1"
    run("-m", OPENAI.model, "--base-url", url, "-o", "api_key", FAKE_KEY, "hello")
    server.enqueue(Reply.json(OPENAI.error_body("invalid_request_error", f"bad key {FAKE_KEY}"), status=401))
    run(*openai_args(server), "-c", "again")
    assert len(history.exchanges()) == 2
    for path in isolated_env.iterdir():
        assert FAKE_KEY.encode() not in path.read_bytes(), path
        assert b"HISTORY-AUDIT" not in path.read_bytes(), path


# -- a history that cannot be used --------------------------------------------------------------


def not_a_database(home: Path) -> None:
    db_path(home).write_bytes(b"these are my notes, not a database\n" * 100)


def unreadable(home: Path) -> None:
    db_path(home).mkdir()  # even root cannot open a directory as a database


def newer_schema(home: Path) -> None:
    with sqlite3.connect(db_path(home)) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute("PRAGMA user_version = 99")


BROKEN = [
    pytest.param(not_a_database, "not a usable SQLite database", id="not-a-database"),
    pytest.param(unreadable, "cannot be opened", id="unreadable"),
    pytest.param(newer_schema, "a newer chatstream wrote it (schema v99", id="newer-schema"),
]


def snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@pytest.mark.parametrize(("breaks", "why"), BROKEN)
def test_a_broken_history_never_costs_the_reply(breaks, why: str, isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    breaks(isolated_env)
    before = snapshot(db_path(isolated_env))
    code, out, err = run(*ECHO, "still answered")
    assert (code, out) == (0, "still answered\n")
    assert err.startswith("chatstream: warning: this reply was not recorded: cannot use the history ")
    assert why in err and str(db_path(isolated_env)) in err and len(err.splitlines()) == 1
    for args in (["-c", "hi"], ["--cid", "ab", "hi"], ["logs"], ["logs", "list"]):
        code, out, err = run(*args)
        assert code == 3, args
        assert err.startswith(f"chatstream: error: cannot use the history {db_path(isolated_env)}: ") and why in err
    assert snapshot(db_path(isolated_env)) == before, "the file was changed"
    assert sorted(path.name for path in isolated_env.iterdir()) == ["history.db"], "files were added beside it"


def test_a_locked_history(isolated_env: Path) -> None:
    run(*ECHO, "before the lock")
    holder = sqlite3.connect(db_path(isolated_env), isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM exchanges WHERE 0")  # takes the exclusive lock, even from WAL readers
    try:  # both wait out the busy timeout, so at once
        reply = subprocess.Popen([*CHATSTREAM, *ECHO, "during the lock"], env=cli_env(), **PIPES)
        logs = subprocess.Popen([*CHATSTREAM, "logs"], env=cli_env(), **PIPES)
        (out, err), (_, logs_err) = reply.communicate(timeout=60), logs.communicate(timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (reply.returncode, out) == (0, "during the lock\n")
    assert err.startswith("chatstream: warning: this reply was not recorded") and "locked by another process" in err
    assert logs.returncode == 3 and "locked by another process" in logs_err and str(db_path(isolated_env)) in logs_err
    assert [exchange.prompt for exchange in history.exchanges()] == ["before the lock"]


PIPES = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def test_logs_without_a_history_is_empty(isolated_env: Path) -> None:
    assert run("logs") == (0, "", "")
    assert run("logs", "--json")[1].strip() == "[]"
    assert not isolated_env.exists() or not db_path(isolated_env).exists()


def test_a_history_dir_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("CHATSTREAM_HOME", str(home))
    run(*ECHO, "hi")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert os.path.exists(home / "history.db")


def test_a_history_dir_someone_else_made_first_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory is made by trying mkdir, not by looking first: a look then a mkdir let another
    chatstream make it in between, and that reply went unrecorded (seen once in the twenty-writers test).
    One that is already there is used as it is."""
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    monkeypatch.setenv("CHATSTREAM_HOME", str(home))
    assert run(*ECHO, "hi") == (0, "hi\n", "")
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert stat.S_IMODE((home / "history.db").stat().st_mode) == 0o600
    assert [exchange.prompt for exchange in history.exchanges()] == ["hi"]


def test_logs_on_a_terminal_is_rendered_markdown() -> None:
    run(*ECHO, "**bold** \x1b]52;c;evil\x07 words")
    code, out, _ = run("logs", env={"FORCE_COLOR": "1", "COLUMNS": "80"})
    assert code == 0 and "\x1b[" in out, "Rich styles the heading and the text"
    assert "**bold**" not in out and "bold" in out, "the Markdown is rendered, not shown"
    assert "\x1b]52" not in out, "a control sequence from the history never reaches the terminal"


def test_a_refusal_is_recorded_as_refused(server: LoopbackServer) -> None:
    events = [OPENAI.head()[0], _openai_chunk({"refusal": "I can't help with that."}), *OPENAI.tail()]
    server.enqueue(Reply.sse("".join(events)))
    code, _, err = run(*openai_args(server), "something bad")
    assert code == 0 and "the model refused" in err
    (exchange,) = history.exchanges()
    assert (exchange.outcome, exchange.reply) == ("refused", "")
