"""Issue 21, item 16: the README's first commands work where the system pip refuses to install
(Debian's externally-managed-environment): Python 3.11+ said, the venv step shown and runnable, and
pipx and uv as the other ways; all of it agreeing with pyproject.toml.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

README = (REPO / "README.md").read_text("utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))


def install_section() -> str:
    """The README from its start to its first section heading: what a new user reads first."""
    return README.split("\n## ", 1)[0]


def bash_blocks(text: str) -> list[list[str]]:
    return [block.strip().splitlines() for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def test_the_python_it_needs_is_the_one_pyproject_requires() -> None:
    required = PYPROJECT["project"]["requires-python"]
    assert required == ">=3.11"
    assert "Python 3.11 or newer" in install_section()
    assert "externally-managed-environment" in install_section()


def test_the_first_commands_make_a_venv_then_install_and_run_the_script() -> None:
    first = bash_blocks(install_section())[0]
    assert first[0].startswith("python3 -m venv .venv && . .venv/bin/activate")
    assert first[1].startswith("pip install . && chatstream ")
    assert "chatstream" in PYPROJECT["project"]["scripts"]


def test_the_venv_step_runs_as_written(tmp_path: Path) -> None:
    """The first line, run by bash as a reader pastes it (without pip, to stay fast): the environment is
    made and active afterwards."""
    step = bash_blocks(install_section())[0][0].split("#", 1)[0].strip()
    step = step.replace("python3 -m venv", f"{sys.executable} -m venv --without-pip", 1)
    result = subprocess.run(
        ["bash", "-c", f'{step} && python -c "import sys; print(sys.prefix)"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == tmp_path / ".venv"


def test_pipx_and_uv_are_the_other_ways() -> None:
    commands = [line.split("#", 1)[0].strip() for block in bash_blocks(install_section()) for line in block]
    assert "pipx install ." in commands
    assert "uv tool install ." in commands
