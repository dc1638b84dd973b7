"""--events for a tool chain against LangChain's own: the recorded ``tests/data/tools/<case>.<provider>.json``
(scripts/langchain_tool_events.py: ``bind_tools(...).astream_events`` for each model call,
``StructuredTool.astream_events`` for each tool run) and ``chatstream --events --functions`` over the same
bytes, compared line by line as JSON text (key order counts), with what varies masked as for the other
event fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatstream_cli.cli import app
from tests.conftest import DATA
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_events_compat import masked_lines

TOOLS = DATA / "tools"
CASES = sorted(TOOLS.glob("*.*.json"))
KEY_ENV = {
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", ""),
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "/v1"),
}


def test_every_case_the_issue_names_is_recorded() -> None:
    names = {path.name for path in CASES}
    for case in ("text_then_call", "parallel_calls", "many_fragments", "empty_arguments"):
        assert {f"{case}.anthropic.json", f"{case}.openai.json"} <= names
    assert "thinking_then_call.anthropic.json" in names


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_the_chains_events_are_langchains(
    path: Path,
    loopback_server: LoopbackServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    provider = record["provider"]
    key_env, url_env, suffix = KEY_ENV[provider]
    monkeypatch.setenv(key_env, "sk-TESTKEY-0123456789")
    monkeypatch.setenv(url_env, loopback_server.base_url + suffix)
    case = path.name.split(".")[0]
    for name in (f"{case}.{provider}.sse", f"answer.{provider}.sse"):
        loopback_server.enqueue(Reply.sse((TOOLS / name).read_bytes()))
    model = f"{provider}:{record['model']}"
    result = CliRunner().invoke(
        app, ["-m", model, "-q", "--events", "--functions", str(TOOLS / "weather.py"), record["prompt"]]
    )
    assert result.exit_code == 0, result.stderr
    ours = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [event["event"] for event in ours]
    assert kinds.count("on_tool_start") == kinds.count("on_tool_end") >= 1
    mine, theirs = masked_lines(ours), masked_lines(record["events"])
    for index, (line, wanted) in enumerate(zip(mine, theirs, strict=False)):
        assert line == wanted, f"event {index} ({record['events'][index]['event']}) differs"
    assert len(mine) == len(theirs)


def test_a_tool_that_raises_gives_langchains_tool_error(
    tmp_path: Path,
    loopback_server: LoopbackServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shape of LangChain's ``on_tool_error``; its ``data.error`` is the exception object, which JSON
    cannot carry: chatstream gives its type and message."""
    failing = tmp_path / "failing.py"
    failing.write_text(
        'def get_weather(city: str) -> str:\n    """The weather."""\n    raise RuntimeError("no station")\n'
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-TESTKEY-0123456789")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    for name in ("text_then_call.anthropic.sse", "answer.anthropic.sse"):
        loopback_server.enqueue(Reply.sse((TOOLS / name).read_bytes()))
    result = CliRunner().invoke(
        app, ["-m", "anthropic:claude-haiku-4-5", "-q", "--events", "--functions", str(failing), "hi"]
    )
    assert result.exit_code == 0, result.stderr
    ours = [event for event in map(json.loads, result.stdout.splitlines()) if event["event"].startswith("on_tool")]
    theirs = json.loads((TOOLS / "tool_error.json").read_text())["events"]
    assert ours[1]["data"]["error"] == {"type": "RuntimeError", "message": "no station"}
    assert theirs[1]["data"]["error"] == "RuntimeError('no station')"
    for event in (ours[1], theirs[1]):
        event["data"]["error"] = "<the error>"
    assert masked_lines(ours) == masked_lines(theirs)
