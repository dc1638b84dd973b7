"""Shared fixtures: an isolated environment for every test, the CLI runner, paths to the spec."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO.parent / "shared" / "spec"
WIRE = SPEC / "wire"
FIXTURES = SPEC / "fixtures"

# Variables that would make a test depend on the developer's machine.
_LEAKY_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CHATSTREAM_MODEL",
    "CHATSTREAM_NO_LOG",
    "FORCE_COLOR",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No keys, models or colours from the outside world; a private CHATSTREAM_HOME."""
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "chatstream-home"
    monkeypatch.setenv("CHATSTREAM_HOME", str(home))
    return home


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a chatstream subprocess: this test's environment plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


CHATSTREAM = [sys.executable, "-m", "chatstream_cli"]
