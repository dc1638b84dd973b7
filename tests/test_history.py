"""The history package on a real SQLite file: schema and migrations, attachments, limits, disk full,
parallel writers and exact round trips."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatstream_cli import history
from chatstream_cli.cli import app
from chatstream_cli.history import queries, store
from chatstream_cli.history.records import Attachment, Exchange, Outcome
from tests.conftest import CHATSTREAM, cli_env, imported_modules
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (its fixture)
from tests.test_faults import OPENAI

ECHO = [*CHATSTREAM, "-m", "builtin:echo", "-o", "delay_ms", "0"]


def exchange(prompt: str = "hi", reply: str = "hello", **fields) -> Exchange:
    return Exchange(cid=fields.pop("cid", "c0ffee00c0ffee00"), model="echo", provider="builtin", prompt=prompt,
                    reply=reply, outcome=fields.pop("outcome", Outcome.COMPLETED), **fields)  # fmt: skip


def test_a_new_history_has_the_latest_schema_in_wal_mode(isolated_env: Path) -> None:
    history.record(exchange())
    with sqlite3.connect(isolated_env / "history.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION == 3
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "exchanges", "attachments", "exchange_attachments", "exchanges_fts"} <= tables


def test_migrations_run_from_an_empty_version_0_file(isolated_env: Path) -> None:
    isolated_env.mkdir()
    sqlite3.connect(isolated_env / "history.db").close()  # an empty database: schema version 0
    history.record(exchange())
    assert [item.prompt for item in history.exchanges()] == ["hi"]


def test_attachments_round_trip_stored_once_by_hash(isolated_env: Path) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    attachment = Attachment(sha256=hashlib.sha256(picture).hexdigest(), type="image/png", size=len(picture))
    pdf = Attachment(sha256=hashlib.sha256(b"%PDF").hexdigest(), type="application/pdf", size=4, name="a.pdf")
    history.record(exchange(attachments=(replace(attachment, name="cat.png"), pdf)))
    history.record(exchange(prompt="again", attachments=(replace(attachment, name="same-cat.png"),)))
    first, second = history.exchanges()
    assert first.attachments == (replace(attachment, name="cat.png"), pdf)
    assert second.attachments == (replace(attachment, name="same-cat.png"),)
    with sqlite3.connect(isolated_env / "history.db") as db:
        assert db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0] == 2
    assert history.exchanges()[0].to_dict()["attachments"][0] == {
        "sha256": attachment.sha256, "type": "image/png", "size": len(picture), "name": "cat.png"
    }  # fmt: skip
    with history.opened() as db:
        assert db is not None
        queries.delete(db, cid="c0ffee00c0ffee00")
        assert db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0] == 0


def test_role_files_and_options_round_trip() -> None:
    recorded = exchange(role="reviewer", files=("src/a.py", "notes.md"), options={"temperature": 0.2, "stop": ["x"]})
    history.record(recorded)
    (back,) = history.exchanges()
    assert (back.role, back.files, back.options) == ("reviewer", ("src/a.py", "notes.md"), recorded.options)


def test_search_keeps_up_with_deletes() -> None:
    history.record(exchange(prompt="about otters", cid="aaaa000000000000"))
    history.record(exchange(prompt="about badgers", cid="bbbb000000000000"))
    assert [item.prompt for item in history.search("otters")] == ["about otters"]
    with history.opened() as db:
        assert db is not None
        queries.delete(db, cid="aaaa000000000000")
    assert history.search("otters") == []
    assert [item.prompt for item in history.search("about")] == ["about badgers"]


def test_a_retried_reply_is_left_out_of_the_conversation() -> None:
    first = history.record(exchange(prompt="q", reply="bad answer"))
    history.record(exchange(prompt="q", reply="good answer", retry_of=first))
    assert [turn.reply for turn in history.conversation_turns("c0ffee00c0ffee00")] == ["good answer"]
    assert len(history.exchanges()) == 2, "the replaced reply stays in the history"


def test_disk_full_while_recording_keeps_what_was_there(isolated_env: Path) -> None:
    history.record(exchange(prompt="kept"))
    path = isolated_env / "history.db"
    db = store.connect(path, create=False)
    assert db is not None
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLite's own "disk full"
    with pytest.raises(store.HistoryError, match="the disk is full"), store.translated_errors(path):
        queries.record(db, exchange(prompt="x" * 1_000_000))
    assert not db.in_transaction
    db.close()
    assert [item.prompt for item in history.exchanges()] == ["kept"]


def _file_size_limit(path: Path):
    def limit() -> None:  # runs in the child: writes past the file's current size fail (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        size = path.stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_full_disk_while_recording_keeps_the_reply_on_screen(isolated_env: Path) -> None:
    subprocess.run([*ECHO, "first"], env=cli_env(), check=True, capture_output=True)
    prompt = "a long prompt that will not fit " * 20_000
    limited = _file_size_limit(isolated_env / "history.db")
    result = subprocess.run(ECHO, input=prompt.encode(), env=cli_env(), capture_output=True, preexec_fn=limited)
    assert result.returncode == 0 and result.stdout.decode() == prompt + "\n"
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chatstream: warning: this reply was not recorded:"), lines
    assert "Traceback" not in result.stderr.decode()
    assert [item.prompt for item in history.exchanges()] == ["first"]


def test_twenty_processes_replying_at_once_record_twenty_exchanges() -> None:
    children = [
        subprocess.Popen([*ECHO, f"writer {number}"], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for number in range(20)
    ]
    results = [(child.wait(timeout=120), child.stdout.read(), child.stderr.read()) for child in children]  # type: ignore[union-attr]
    for number, (code, out, err) in enumerate(results):
        assert (code, out, err) == (0, f"writer {number}\n".encode(), b"")
    recorded = history.exchanges()
    assert sorted(item.prompt for item in recorded) == sorted(f"writer {number}" for number in range(20))
    assert len({item.cid for item in recorded}) == 20


ALL_PLANES = "".join(chr(plane * 0x10000 + offset) for plane in range(17) for offset in (0x41, 0x100, 0xFFFD))
"""Characters from every Unicode plane (0 to 16); surrogates aside, which UTF-8 cannot carry."""


def test_a_multi_megabyte_prompt_and_every_unicode_plane_round_trip(loopback_server: LoopbackServer) -> None:  # noqa: F811
    prompt = ("Ünïcødé " + ALL_PLANES * 20 + "\x00tab\tline\n") * 900
    assert len(prompt.encode()) > 3_000_000
    reply_pieces = [ALL_PLANES[start : start + 7] for start in range(0, len(ALL_PLANES), 7)]
    loopback_server.enqueue(Reply.sse(OPENAI.stream(reply_pieces), split="byte"))
    args = ["-m", OPENAI.model, "--base-url", loopback_server.base_url + "/v1", "--retries", "0"]
    result = CliRunner().invoke(app, args, input=prompt, env={"OPENAI_API_KEY": "sk-test"})
    assert (result.exit_code, result.stdout) == (0, ALL_PLANES + "\n")
    assert loopback_server.requests[0].json["messages"][0]["content"] == prompt
    (back,) = history.exchanges()
    assert (back.prompt, back.reply) == (prompt, ALL_PLANES)
    assert back.messages[-1]["content"] == prompt


def test_the_python_api_reads_without_creating(isolated_env: Path) -> None:
    assert history.conversations() == [] and history.exchanges() == [] and history.search("x") == []
    assert not (isolated_env / "history.db").exists()
    assert history.path() == isolated_env / "history.db"


def test_history_path_defaults_to_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_data_dir

    monkeypatch.delenv("CHATSTREAM_HOME")
    assert history.path() == Path(user_data_dir("chatstream")) / "history.db"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--help"], id="--help"),
        pytest.param(["-m", "builtin:echo", "-o", "delay_ms", "0", "--no-log", "hi"], id="--no-log reply"),
    ],
)
def test_sqlite3_is_not_imported_unless_the_history_is_used(argv: list[str]) -> None:
    result = subprocess.run([*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], *argv], env=cli_env(),
                            capture_output=True, check=True)  # fmt: skip
    imported = imported_modules(result.stderr.decode())
    assert "sqlite3" not in imported and "_sqlite3" not in imported
    assert "prompt_toolkit" not in imported
    recorded = subprocess.run([*CHATSTREAM[:1], "-X", "importtime", *ECHO[1:], "hi"], env=cli_env(),
                              capture_output=True, check=True)  # fmt: skip
    assert "sqlite3" in recorded.stderr.decode(), "the check above would pass whatever was imported"


def test_interrupted_reply_is_recorded_as_interrupted(isolated_env: Path) -> None:
    child = subprocess.Popen(
        [*CHATSTREAM, "-m", "builtin:poet", "-o", "delay_ms", "40", "goldfish"],
        env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    first = child.stdout.read(8)  # the reply has begun
    child.send_signal(signal.SIGINT)
    rest = child.stdout.read()
    assert child.wait(timeout=30) == 130
    (recorded,) = history.exchanges()
    assert (recorded.outcome, recorded.exit_code) == ("interrupted", 130)
    shown = (first + rest).decode()
    assert recorded.reply and shown.startswith(recorded.reply)
    assert os.path.getsize(isolated_env / "history.db") > 0


def test_a_writer_commits_in_groups_on_one_connection_and_the_rest_when_it_closes(isolated_env: Path) -> None:
    from chatstream_cli.history.bulk import Writer

    def stored() -> list[str]:
        with sqlite3.connect(isolated_env / "history.db") as db:
            return [row[0] for row in db.execute("SELECT prompt FROM exchanges ORDER BY id")]

    with Writer(every=2, seconds=3600) as writer:
        for n in range(3):
            writer.add(exchange(f"p{n}", cid=history.new_cid()))
        assert stored() == ["p0", "p1"]  # the first group is in; the third waits for the next group or the close
    assert stored() == ["p0", "p1", "p2"] and writer.recorded == 3 and not writer.is_open
    with pytest.raises(KeyboardInterrupt), Writer(every=100) as writer:
        writer.add(exchange("p3", cid=history.new_cid()))
        raise KeyboardInterrupt
    assert stored()[-1] == "p3"  # recorded even though the run was interrupted
