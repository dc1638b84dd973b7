"""The documentation's jq recipes for --events, run as written through bash, chatstream and jq.

The recipes are read from docs/events.md, so the tests follow what users copy.
``chatstream`` on the PATH is this checkout; the built-in poet stands in for a real model.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chatstream_cli import get_model
from chatstream_cli.events import to_json
from chatstream_cli.messages import content_text
from tests.conftest import CHATSTREAM, REPO, cli_env

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (.ci/run installs it)")

PROMPT = "write a song"
RECIPE_COMMAND = f'chatstream --events "{PROMPT}" | '
POET = '-m builtin:poet -o delay_ms 0 -o verses 2 "write a song"'


def events_section() -> str:
    return (REPO / "docs" / "events.md").read_text()


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", events_section(), re.DOTALL)


def recipe(marker: str) -> str:
    """The one-liner that mentions ``marker``, with the poet as its model."""
    (line,) = [
        line
        for block in bash_blocks()
        for line in block.splitlines()
        if line.startswith(RECIPE_COMMAND) and marker in line
    ]
    return line.replace(f'"{PROMPT}"', POET, 1)


@pytest.fixture
def path_with_chatstream(tmp_path: Path) -> str:
    """A PATH whose ``chatstream`` runs this checkout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "chatstream"
    launcher.write_text(f'#!/bin/sh\nexec {" ".join(CHATSTREAM)} "$@"\n')
    launcher.chmod(0o755)
    return f"{bin_dir}:{cli_env()['PATH']}"


def shell(command: str, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command, "bash", *args],
        env=cli_env(PATH=path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def poet_events(**settings: Any) -> list[dict[str, Any]]:
    model = get_model("builtin:poet", delay_ms=0, verses=2, **settings)
    return [json.loads(to_json(event)) for event in model.stream_events(PROMPT)]


@pytest.mark.parametrize("thinking", [False, True])
def test_text_only_recipe_prints_the_reply_text(path_with_chatstream: str, thinking: bool) -> None:
    command = recipe("-rj")
    if thinking:
        command = command.replace("--events", "--events --thinking", 1)
    result = shell(command, path_with_chatstream)
    assert result.returncode == 0, result.stderr
    expected = content_text(get_model("builtin:poet", delay_ms=0, verses=2).invoke(PROMPT).content)
    assert result.stdout == expected
    assert "rhyme" not in result.stdout  # the poet's thinking is about rhymes; none of it may leak


def test_usage_recipe_prints_the_usage_of_the_whole_reply(path_with_chatstream: str) -> None:
    result = shell(recipe("usage_metadata"), path_with_chatstream)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == poet_events()[-1]["data"]["output"]["usage_metadata"]
    assert result.stdout.count("\n") == 1


def test_one_type_recipe_keeps_only_that_type(path_with_chatstream: str) -> None:
    result = shell(recipe("--arg type"), path_with_chatstream)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {event["event"] for event in events} == {"on_chat_model_stream"}
    expected = [event["data"]["chunk"]["content"] for event in poet_events()[1:-1]]
    assert [event["data"]["chunk"]["content"] for event in events] == expected


def ttft_script(tmp_path: Path) -> Path:
    (script,) = [block for block in bash_blocks() if block.startswith("#!/usr/bin/env bash") and "ttft.sh" in block]
    path = tmp_path / "ttft.sh"
    path.write_text(script)
    return path


def test_time_to_first_token_script(path_with_chatstream: str, tmp_path: Path) -> None:
    script = ttft_script(tmp_path)
    delay_ms = 300
    model = ["-m", "builtin:echo", "-o", "delay_ms", str(delay_ms), "Hi"]  # one token: a short run
    result = shell('bash "$@"', path_with_chatstream, str(script), *model)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"first token after (\d+) ms\n", result.stdout)
    assert match, result.stdout
    # The model sleeps delay_ms before its first token, so no correct measurement can be shorter.
    assert int(match.group(1)) >= delay_ms


def test_time_to_first_token_script_fails_when_chatstream_fails(path_with_chatstream: str, tmp_path: Path) -> None:
    result = shell('bash "$@"', path_with_chatstream, str(ttft_script(tmp_path)), "-m", "builtin:nope", PROMPT)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr.startswith("chatstream: error: unknown model builtin:nope")
