"""Issue 21, item 1: a continued conversation sends every earlier turn as it was first sent, attachments
and -f contents included (-c, --cid, --events -c, chat --cid); what can no longer be sent is said on stderr.

The provider is faked at the network: the loopback server records what the Anthropic endpoint receives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli import history
from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env, error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import anthropic_stream

DATA = Path(__file__).parent / "data"
PNG = (DATA / "dot.png").read_bytes()
PDF = (DATA / "empty.pdf").read_bytes()
CLAUDE = ["-m", "anthropic:claude-haiku-4-5"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def anthropic(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    loopback_server.enqueue_many([Reply.sse(anthropic_stream(f"Reply {n}.")) for n in range(1, 4)])
    return loopback_server


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "paper.pdf").write_bytes(PDF)
    (tmp_path / "notes.txt").write_text("the notes\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


FIRST_MESSAGE = {
    "role": "user",
    "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)}},
        {"type": "text", "text": '<file path="notes.txt">\nthe notes\n</file>\n\nwhat is this?'},
    ],
}


def sent_messages(server: LoopbackServer, index: int) -> list[dict[str, Any]]:
    return server.requests[index].json["messages"]


def first_turn(*extra: str) -> None:
    result = run(*CLAUDE, *extra, "-a", "dot.png", "-a", "paper.pdf", "-f", "notes.txt", "what is this?")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("how", [["-c"], ["--cid"], ["--events", "-c"]])
def test_a_continued_conversation_sends_the_attachments_and_files_again(
    workdir: Path, anthropic: LoopbackServer, how: list[str]
) -> None:
    first_turn()
    if how == ["--cid"]:
        how = ["--cid", history.conversations()[0].cid[:6]]
    result = run(*how, "more about it")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert sent_messages(anthropic, 0) == [FIRST_MESSAGE]
    assert sent_messages(anthropic, 1) == [
        FIRST_MESSAGE,
        {"role": "assistant", "content": "Reply 1."},
        {"role": "user", "content": "more about it"},
    ]
    result = run("-c", "and then?")  # a third turn: still the first turn as it was sent
    assert result.exit_code == 0, result.stderr
    assert sent_messages(anthropic, 2)[:3] == sent_messages(anthropic, 1)


def test_chat_with_cid_continues_with_the_attachments(workdir: Path, anthropic: LoopbackServer) -> None:
    first_turn()
    cid = history.conversations()[0].cid
    env = cli_env(ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=anthropic.base_url)
    result = subprocess.run(
        [*CHATSTREAM, "chat", "--cid", cid], input="more\n", env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert sent_messages(anthropic, 1)[0] == FIRST_MESSAGE


def test_the_bytes_are_kept_once_and_go_with_the_conversation(
    workdir: Path, anthropic: LoopbackServer, isolated_env: Path
) -> None:
    first_turn()
    assert run("-c", *CLAUDE, "-a", "dot.png", "the same picture again").exit_code == 0
    with sqlite3.connect(isolated_env / "history.db") as db:
        kept = sorted(bytes(row[0]) for row in db.execute("SELECT content FROM attachments"))
    assert kept == sorted([PNG, PDF])
    with sqlite3.connect(isolated_env / "history.db") as db:
        stored = json.loads(db.execute("SELECT messages_json FROM exchanges ORDER BY id DESC").fetchone()[0])
    earlier = [block for block in stored[0]["content"] if "sha256" in block]
    assert [block["sha256"] for block in earlier] == [hashlib.sha256(PNG).hexdigest(), hashlib.sha256(PDF).hexdigest()]
    assert b64(PNG) not in json.dumps(stored), "the earlier turn's bytes are recorded by hash, not again"
    assert run("logs", "delete", "--cid", history.conversations()[0].cid).exit_code == 0
    with sqlite3.connect(isolated_env / "history.db") as db:
        assert db.execute("SELECT count(*) FROM attachments").fetchone() == (0,)


def test_an_attachment_whose_bytes_were_not_kept_is_said_on_stderr(
    workdir: Path, anthropic: LoopbackServer, isolated_env: Path
) -> None:
    first_turn()
    with sqlite3.connect(isolated_env / "history.db") as db:  # as a history written before they were kept
        db.execute("UPDATE attachments SET content = NULL WHERE type = 'image/png'")
    result = run("-c", "more about it")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "chatstream: warning: turn 1's dot.png is not sent again: the history has no copy of it "
        "(recorded before chatstream kept attachments); attach it again with -a\n"
    )
    assert sent_messages(anthropic, 1)[0]["content"] == [FIRST_MESSAGE["content"][1], FIRST_MESSAGE["content"][2]]


def test_a_url_attachment_is_sent_again_as_its_url(workdir: Path, anthropic: LoopbackServer) -> None:
    url = f"{anthropic.base_url}/files/chart"
    anthropic.enqueue(Reply(status=206, headers=[("content-range", "bytes 0-68/69")], body=PNG), path="/files/chart")
    assert run(*CLAUDE, "-a", url, "chart?").exit_code == 0
    result = run("-c", "more")
    assert result.exit_code == 0, result.stderr
    earlier = sent_messages(anthropic, 2)[0]["content"]
    assert earlier[0] == {"type": "image", "source": {"type": "url", "url": url}}


def test_a_model_that_cannot_take_an_earlier_attachment_is_a_usage_error(workdir: Path) -> None:
    assert run("-m", "builtin:echo", "-o", "delay_ms", "0", "-a", "paper.pdf", "read it").exit_code == 0
    result = run("-c", "-m", "ollama:llava", "and now?")
    assert result.exit_code == 2
    assert error_line(result).startswith("ollama cannot take PDFs")
