"""The shell and Python examples of the README and docs/ run as written, offline, and show what they print.

Every ```console block is run command by command and its output compared with what the page shows
(run ids masked). Every ```bash block and ```python block runs in a sandbox: a working folder holding
the files the examples name, a fresh CHATSTREAM_HOME and HOME, ``chatstream`` on the PATH being this
checkout, and the offline echo model as the default. What cannot run offline (a real provider, an
install, a benchmark) is listed below with why, and a listed example that is gone fails too.
Examples run concurrently, once per module: the whole file takes a few seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CHATSTREAM, DATA, REPO, cli_env

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# How a block that does not run offline begins, and why; the block is left out whole.
NOT_OFFLINE = {
    "python3 -m venv .venv && . .venv/bin/activate": "installs: .ci/run does (test_readme_install runs the venv step)",
    "pipx install chatstream": "installs from the package index",
    "pipx install .          # pipx": "installs into pipx's and uv's own environments",
    "chatstream --version                    # chatstream 0.2.0": "installs into the shell; .ci/run checks --version",
    "export ANTHROPIC_API_KEY=sk-ant-...": "a real provider",
    'pip install -e ".[test]" && python -m pytest': "the whole suite: .ci/run runs it",
    "ruff check . && ruff format --check .": "development tooling: .ci/run runs it",
    "python -m venv ~/.venvs/chatstream-docs": "installs mkdocs: .ci/run builds the site",
    'pip install -e ".[test,bench]"': "benchmarks: minutes, and peers from the package index",
    'pip install "chatstream[bedrock]"': "Amazon Bedrock and Google Vertex AI",
    'chatstream -m gpt-4o-mini "write a haiku"': "OpenAI and servers that are not here",
    'chatstream -m claude-haiku-4-5 "Name a capital city"': "a real provider (the README's tour runs the same offline)",
    'printf \'%s\\n\' "Name a colour" "Name a fish" "Name a planet"': "a real provider (the README batches offline)",
    'chatstream chat -m claude-haiku-4-5 -s "Be brief."': "a real provider",
    "chatstream batch big.jsonl -m claude-haiku-4-5 --provider-batch --out results.jsonl": "a provider's batch service",
    "chatstream keys set openai": "asks for a key on the terminal",
    '$ chatstream --stats -m claude-haiku-4-5 "Write me a haiku"': "a real provider",
    "chatstream -m openrouter:openai/gpt-4o --header": "a real provider (OpenRouter)",
    "export AZURE_OPENAI_ENDPOINT=": "Azure OpenAI",
    "export GEMINI_API_KEY=": "the Gemini API",
    'pip install "chatstream[vertex]"': "Google Vertex AI",
    "chatstream mcp add files -- npx": "MCP servers from npm and the internet",
}
# Lines left out of a block that otherwise runs: a real provider, or an id from a history that is not here.
NOT_OFFLINE_LINES = {
    "chatstream logs delete --cid 3f2a9c    # a conversation; --before 2026-01-01 for everything older",
    "chatstream logs --schema 3f2a9c --data-ids        # each with its exchange_id",
    'chatstream -m claude-3-haiku "write a song"                         # pick a model (see Models and providers)',
    "export ANTHROPIC_API_KEY=sk-ant-...                                 # or: chatstream keys set anthropic",
    'chatstream -m claude-3-haiku "write a song"                         # pick a model: claude-*, gpt-*, ollama:NAME'
    " ...",
}
# Run by the test files that check their output in detail.
RUN_ELSEWHERE = {REPO / "docs" / "giving-more.md": "tests/test_giving_more.py"}
# The functions docs/tools.md shows with `cat tools.py` (the example checks the page shows this file).
TOOLS_PY = """from typing import Annotated, Literal

def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b

def convert(celsius: Annotated[float, "a temperature in °C"], to: Literal["F", "K"] = "F") -> float:
    \"\"\"Convert a temperature from Celsius.\"\"\"
    return celsius * 9 / 5 + 32 if to == "F" else celsius + 273.15
"""
JQ_RECIPE = 'chatstream --events "write a song" | jq'  # tests/test_jq_recipes.py runs these with the poet


@dataclass(frozen=True)
class Example:
    page: Path
    kind: str  # console, bash or python
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0]

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(REPO)}: {self.first_line[:60]}"


def examples() -> Iterator[Example]:
    for page in PAGES:
        for kind, text in re.findall(r"^```(console|bash|python)\n(.*?)^```", page.read_text(), re.DOTALL | re.M):
            yield Example(page, kind, text)


def runnable(example: Example) -> bool:
    if example.page in RUN_ELSEWHERE or example.first_line.startswith(tuple(NOT_OFFLINE)):
        return False
    return not example.first_line.startswith(JQ_RECIPE) and "ttft.sh" not in example.text


def commands(example: Example) -> list[tuple[str, str]]:
    """A console block's commands, each with the output the page shows for it."""
    found: list[tuple[str, str]] = []
    for line in example.text.splitlines(keepends=True):
        if line.startswith("$ "):
            found.append((line[2:].rstrip("\n"), ""))
        else:
            command, shown = found[-1]
            found[-1] = (command, shown + line)
    return found


def sandbox(root: Path) -> dict[str, str]:
    """A working folder with what the examples name, and the environment they run in."""
    work, home, bin_dir = root / "work", root / "home" / "me", root / "bin"
    for folder in (work / "src", home / ".local/share/bash-completion/completions", home / ".zfunc", bin_dir):
        folder.mkdir(parents=True)
    (home / ".config/fish/completions").mkdir(parents=True)
    (work / "app.py").write_text("def add(a, b):\n    return a - b\n")
    (work / "test_app.py").write_text("from app import add\n\nassert add(2, 2) == 4\n")
    (work / "src" / "mod.py").write_text("def unused():\n    pass\n")
    (work / "notes.txt").write_text("Remember the goldfish.\n")
    (work / "question.txt").write_text("Why is the sky blue?\n")
    (work / "tools.py").write_text(TOOLS_PY)
    subprocess.run(["git", "init", "-q", str(work)], check=True)  # for `git diff | chatstream ...`
    shutil.copy(DATA / "dot.png", work / "screenshot.png")
    launcher = bin_dir / "chatstream"
    launcher.write_text(f'#!/bin/sh\nexec {" ".join(CHATSTREAM)} "$@"\n')
    launcher.chmod(0o755)
    env = {key: value for key, value in cli_env().items() if not key.startswith(("XDG_", "CHATSTREAM_"))}
    env.update(
        PATH=f"{bin_dir}:{env['PATH']}",
        HOME=str(home),
        SHELL="/bin/bash",
        CHATSTREAM_HOME=str(root / "chatstream-home"),
        CHATSTREAM_MODEL="builtin:echo",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run_example(example: Example, root: Path) -> list[tuple[str, str, Outcome]]:
    """Run the example in a sandbox of its own under ``root``: (command, shown output, outcome) for each."""
    env = sandbox(root)
    work = root / "work"

    def shell(script: str) -> Outcome:
        done = subprocess.run(
            ["bash", "-c", "set -eu\n" + script],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Outcome(done.returncode, done.stdout.replace(str(root), ""), done.stderr)

    if example.kind == "console":
        return [(command, shown, shell(command)) for command, shown in commands(example)]
    if example.kind == "python":
        if "history." in example.text:  # it reads the history: give it an exchange to read
            shell('chatstream "a goldfish song"')
        done = subprocess.run(
            [sys.executable, "-c", example.text], cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        return [(example.first_line, "", Outcome(done.returncode, done.stdout, done.stderr))]
    lines = [line for line in example.text.splitlines() if line not in NOT_OFFLINE_LINES]
    return [(example.first_line, "", shell("\n".join(lines)))]


EXAMPLES = [example for example in examples() if runnable(example)]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[Example, list[tuple[str, str, Outcome]]]:
    root = tmp_path_factory.mktemp("examples")
    with ThreadPoolExecutor(max_workers=6) as pool:  # most of an example is waiting: the models' reading pace
        runs = {example: pool.submit(run_example, example, root / str(n)) for n, example in enumerate(EXAMPLES)}
        return {example: run.result() for example, run in runs.items()}


def masked(text: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "RUN-ID", text)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.name)
def test_the_example_runs_and_prints_what_the_page_shows(
    example: Example, outcomes: dict[Example, list[tuple[str, str, Outcome]]]
) -> None:
    for command, shown, outcome in outcomes[example]:
        assert outcome.returncode == 0, f"{command}\n{outcome.stderr}"
        assert "Traceback" not in outcome.stderr, outcome.stderr
        if example.kind == "console":
            assert masked(outcome.stdout) == masked(shown), command


def test_the_console_examples_are_there() -> None:
    """The pages show the chunk delimiter, the events and --json as the program prints them."""
    shown = [command for example in EXAMPLES if example.kind == "console" for command, _ in commands(example)]
    assert any(' -d "|" ' in command for command in shown)
    assert any("--events" in command for command in shown)
    assert any("--json" in command for command in shown)
    assert len([example for example in EXAMPLES if example.kind == "bash"]) >= 8


def test_no_example_is_left_out_by_a_stale_entry() -> None:
    blocks = list(examples())
    stale = [start for start in NOT_OFFLINE if not any(example.first_line.startswith(start) for example in blocks)]
    assert not stale
    all_lines = {line for example in blocks for line in example.text.splitlines()}
    assert all_lines >= NOT_OFFLINE_LINES, NOT_OFFLINE_LINES - all_lines


def test_the_python_api_page_lists_every_public_name() -> None:
    import chatstream_cli

    page = (REPO / "docs" / "python-api.md").read_text()
    table = page.split("## What the package exports", 1)[1].split("\n\n| name |", 1)[1].split("\n\n", 1)[0]
    first_cells = re.findall(r"^\| (.*?) \|", table, re.M)
    listed = {name for cell in first_cells for name in re.findall(r"`(\w+)", cell)}
    assert listed == set(chatstream_cli.__all__)


def test_the_python_api_page_names_every_model_setting() -> None:
    import dataclasses

    from chatstream_cli import ModelSettings

    page = (REPO / "docs" / "python-api.md").read_text()
    internal = {"on_notice", "on_request"}  # the CLI's hooks for its notices and --stats clock
    for setting in {field.name for field in dataclasses.fields(ModelSettings)} - internal:
        assert f"`{setting}`" in page, setting
