"""The command reference (docs/reference/) and the man page are generated from the commands' own help and
are current: a new option, a changed default or help text fails here until scripts/reference.py is rerun."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import CHATSTREAM, REPO, cli_env


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference", REPO / "scripts" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["reference"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(reference: ModuleType) -> dict[Path, str]:
    return reference.generated()


def test_every_generated_file_is_committed_and_current(generated: dict[Path, str]) -> None:
    stale = [
        str(path.relative_to(REPO)) for path, text in generated.items() if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"stale: {stale}; run PYTHONPATH=. python scripts/reference.py"


def test_no_reference_page_is_left_from_a_command_that_is_gone(
    generated: dict[Path, str], reference: ModuleType
) -> None:
    assert set(reference.DOCS.glob("*.md")) == {path for path in generated if path.suffix == ".md"}


def _help(*words: str) -> str:
    done = subprocess.run([*CHATSTREAM, *words, "--help"], env=cli_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", ["prompt", "chat", "batch run", "logs", "models"])
def test_each_option_the_live_help_shows_is_on_the_command_s_page(command: str) -> None:
    """Read from the program's --help output, not from the generator: the page shows what users see."""
    text = (REPO / "docs" / "reference" / f"{command.split()[0]}.md").read_text()
    listed = _help(*command.split()).split("\nOptions:\n", 1)[1]  # not the description (chat's names -f and -a)
    options = [line.strip().split("  ")[0] for line in listed.splitlines() if line.startswith("  -")]
    assert len(options) > 3
    for option in options:
        assert f"- `{option}`" in text, f"{option} of chatstream {command} is not in docs/reference/{command}.md"


def test_defaults_and_environment_variables_are_shown(generated: dict[Path, str], reference: ModuleType) -> None:
    prompt = generated[reference.DOCS / "prompt.md"]
    assert "- `-m, --model MODEL`: " in prompt and "environment: `CHATSTREAM_MODEL`" in prompt
    assert "`x>=0`" in prompt  # --timeout's range
    logs = generated[reference.DOCS / "logs.md"]
    assert "- `-n, --count N`: How many, newest last (0: all). (default: `3`; `x>=0`)" in logs


def test_the_man_page_holds_every_command_and_option(generated: dict[Path, str], reference: ModuleType) -> None:
    page = generated[reference.MAN_PAGE]
    for command in reference.walk(reference.root()):
        assert command.path.replace("-", "\\-") in page
        for option in command.options:
            assert option.names.replace("-", "\\-") in page


def test_the_man_page_renders_without_warnings(reference: ModuleType) -> None:
    man = subprocess.run(["which", "man"], capture_output=True, text=True).stdout.strip()
    if not man:
        pytest.skip("man is not installed")
    done = subprocess.run(
        [man, "-l", str(reference.MAN_PAGE)],
        env=cli_env(MANWIDTH="80"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    shown = re.sub(".\b", "", done.stdout)  # the bold and underline of a terminal
    assert "chatstream prompt [OPTIONS] [PROMPT]" in shown
    assert "--max-tokens N" in shown


def test_the_exit_status_section_matches_the_exit_codes(reference: ModuleType) -> None:
    from chatstream_cli.errors import ExitCode

    assert {int(code) for code, _ in reference.EXIT_STATUS} == {int(code) for code in ExitCode} | {1}


def test_help_says_where_the_man_page_is() -> None:
    text = " ".join(_help().split())
    from chatstream_cli.cli import MAN_PAGE

    assert f"The manual: man chatstream, or man {MAN_PAGE}" in text
    assert MAN_PAGE.is_file()
