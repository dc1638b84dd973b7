"""Shared fixtures: an isolated environment for every test, the CLI runner, paths to the test data."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # copied from the spec (see its README); nothing reads ../shared
WIRE = DATA / "wire"
FIXTURES = DATA / "fixtures"

# Variables that would make a test depend on the developer's machine.
_LEAKY_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
    "CHATSTREAM_MODEL",
    "CHATSTREAM_NO_LOG",
    "FORCE_COLOR",
    "NO_COLOR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_BEARER_TOKEN_BEDROCK",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "CLOUD_ML_REGION",
    "ANTHROPIC_VERTEX_PROJECT_ID",
    "ANTHROPIC_VERTEX_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_VERTEX_BASE_URL",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
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


def imported_modules(importtime_report: str) -> set[str]:
    """Module names from ``python -X importtime`` lines: ``import time: self | cumulative | name``."""
    names = set()
    for line in importtime_report.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def error_line(result: Any) -> str:
    """The one stderr line of a failed CLI run (a CliRunner result), without its prefix; and no traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chatstream: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0].removeprefix("chatstream: error: ")


ANTHROPIC_TRANSPORTS = ("httpx", "sdk")


@pytest.fixture(params=ANTHROPIC_TRANSPORTS)
def anthropic_transport(request: pytest.FixtureRequest, isolated_env: Path) -> Iterator[str]:
    """Each transport of the anthropic provider in turn, chosen as a user does: config.toml's
    ``[providers.anthropic] transport``, which CLI runs, subprocesses and models built here all read."""
    from chatstream_cli.config import Config
    from chatstream_cli.providers import activate, active_config

    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(f'[providers.anthropic]\ntransport = "{request.param}"\n')
    active_config()
    yield request.param
    activate(Config())
