"""What issue 16's prompt parts leave in the history (issue 12's hooks): attachments by hash, once, files, role."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from chatstream_cli import history
from chatstream_cli.cli import app

DATA = Path(__file__).parent / "data"
PNG = (DATA / "dot.png").read_bytes()
ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]


def run(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def test_an_attachment_is_recorded_once_by_its_hash_however_many_turns_send_it(
    tmp_path: Path, isolated_env: Path
) -> None:
    picture = tmp_path / "dot.png"
    picture.write_bytes(PNG)
    notes = tmp_path / "notes.txt"
    notes.write_text("the notes\n")
    run(*ECHO, "-a", str(picture), "-f", str(notes), "what is this?")
    run(*ECHO, "-c", "-a", str(picture), "and again?")
    first, second = history.exchanges(limit=None)
    digest = hashlib.sha256(PNG).hexdigest()
    for exchange in (first, second):
        assert [(item.sha256, item.type, item.size) for item in exchange.attachments] == [
            (digest, "image/png", len(PNG))
        ]
    assert first.files == (str(notes),)
    assert first.cid == second.cid
    with sqlite3.connect(isolated_env / "history.db") as db:
        assert db.execute("SELECT count(*) FROM attachments").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM exchange_attachments").fetchone() == (2,)
        stored = [json.loads(row[0]) for row in db.execute("SELECT messages_json FROM exchanges ORDER BY id")]
    text = json.dumps(stored)
    assert base64.b64encode(PNG).decode() not in text, "the bytes are not duplicated into every turn's messages"
    image_blocks = [block for block in stored[1][-1]["content"] if block.get("type") == "image"]
    assert image_blocks == [{"type": "image", "mime_type": "image/png", "sha256": digest}]


def test_the_role_is_recorded() -> None:
    run("--role", "shell", *ECHO, "count lines in a file")
    (exchange,) = history.exchanges(limit=None)
    assert exchange.role == "shell"
