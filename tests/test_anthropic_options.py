"""Anthropic options through -o and config.toml, over both transports: prompt caching (and its reads and
writes in --stats and --json), metadata.user_id, service_tier, betas, fields passed through as given;
and that a Claude reply on the direct path imports neither the SDK nor httpx2."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import Result

from tests import test_anthropic_cli
from tests.conftest import CHATSTREAM, cli_env, imported_modules
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import GREETING, KEY, MODEL, anthropic_stream

pytestmark = pytest.mark.usefixtures("anthropic_transport")
CACHE = {"type": "ephemeral"}


server = test_anthropic_cli.server  # the fixture: the loopback server, with the key and endpoint pointing at it


def run(*args: str) -> Result:
    return test_anthropic_cli.run(*args, "Greet me")


def cached_stream() -> str:
    usage = {"input_tokens": 4, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 1200}
    return anthropic_stream(usage=usage)


def test_cache_marks_the_system_prompt_and_the_conversation(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(cached_stream()))
    result = run("-s", "Be brief.", "-o", "cache", "true", "--stats")
    assert result.exit_code == 0, result.stderr
    body = server.requests[0].json
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": CACHE}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Greet me", "cache_control": CACHE}]}
    ]
    assert " · 1504 in · 1200 cache read · 300 cache write · 10 out · " in result.stderr


def test_json_shows_cache_reads_and_writes(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(cached_stream()))
    result = run("-o", "cache", "true", "--json")
    usage = json.loads(result.stdout)["usage"]
    assert usage == {
        "input_tokens": 1504,
        "output_tokens": 10,
        "total_tokens": 1514,
        "cache_read": 1200,
        "cache_creation": 300,
    }


def test_without_cache_the_body_is_plain(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    result = run("-s", "Be brief.", "--json")
    body = server.requests[0].json
    assert (body["system"], body["messages"][0]["content"]) == ("Be brief.", "Greet me")
    assert "cache_read" not in json.loads(result.stdout)["usage"]  # none were reported


def test_user_id_service_tier_betas_and_fields_passed_through(server: LoopbackServer) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    args = ["-o", "user_id", "u-42", "-o", "service_tier", "standard_only", "-o", "betas", "a-1,b-2"]
    result = run(*args, "-o", "container", '{"id": "c1"}', "-o", "inference_geo", "eu")
    assert (result.exit_code, result.stdout) == (0, GREETING + "\n"), result.stderr
    request = server.requests[0]
    assert request.json["metadata"] == {"user_id": "u-42"}
    assert request.json["service_tier"] == "standard_only"
    assert (request.json["container"], request.json["inference_geo"]) == ({"id": "c1"}, "eu")
    assert request.headers["anthropic-beta"] == "a-1,b-2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "stream", "false"], "-o stream cannot be set (chatstream sets model, messages and stream itself)"),
        (["-o", "service_tier", "turbo"], "-o service_tier 'turbo' is not valid (use auto or standard_only)"),
        (["-o", "user_id", "7"], "-o user_id 7 is not valid"),
    ],
)
def test_known_fields_are_still_checked(server: LoopbackServer, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"chatstream: error: {message}")
    assert server.requests == []


def test_a_claude_reply_on_the_direct_path_imports_neither_the_sdk_nor_httpx2(
    server: LoopbackServer, anthropic_transport: str
) -> None:
    server.enqueue(Reply.sse(anthropic_stream()))
    env = cli_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=server.base_url)
    python, *module = CHATSTREAM
    argv = [python, "-X", "importtime", *module, "-m", f"anthropic:{MODEL}", "hi"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, GREETING + "\n"), done.stderr
    imported = imported_modules(done.stderr)
    assert "chatstream_cli.providers.anthropic.wire" in imported  # the test does see the imports
    sdk = sorted(name for name in imported if name.split(".")[0] in ("anthropic", "httpx2"))
    if anthropic_transport == "httpx":
        assert sdk == []
        assert "httpx" in imported
    else:
        assert "anthropic" in sdk and "httpx2" in sdk  # -o transport sdk does load them


def test_a_reply_does_not_import_httpx_s_command_line_client(
    server: LoopbackServer, anthropic_transport: str, tmp_path: Path
) -> None:
    """Where click is installed, ``import httpx`` also loads httpx's own CLI (click, rich, pygments);
    chatstream blocks it. A stand-in click on the path makes httpx try: it would fail without the block."""
    (tmp_path / "click").mkdir()
    (tmp_path / "click" / "__init__.py").write_text('"""Not click: httpx._main cannot run with it."""\n')
    server.enqueue(Reply.sse(anthropic_stream()))
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = cli_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=server.base_url, PYTHONPATH=path)
    python, *module = CHATSTREAM
    bare = subprocess.run([python, "-c", "import httpx"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "httpx/_main.py" in bare.stderr  # without chatstream's block, httpx tries its CLI, and fails here
    argv = [python, "-X", "importtime", *module, "-m", f"anthropic:{MODEL}", "hi"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, GREETING + "\n"), done.stderr[-2000:]
    imported = imported_modules(done.stderr)
    assert "httpx" in imported or "httpx2" in imported
    assert "click" not in imported  # httpx._main, blocked, never got as far as its first import
    assert not {name for name in imported if name.startswith(("pygments", "rich.syntax", "rich.progress"))}
