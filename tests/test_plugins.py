"""Provider plugins: examples/chatstream-provider-example installed into a venv (pip, no build isolation, no
network) and used through the CLI, --events and `models`; a plugin that cannot load is one warning line."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env, error_line, imported_modules

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "chatstream-provider-example"


@pytest.fixture(scope="module")
def plugin_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv beside the machine's packages with the example plugin installed into it for real."""
    pytest.importorskip("wheel")
    where = tmp_path_factory.mktemp("plugin-venv")
    venv.create(where, system_site_packages=True, with_pip=False)
    python = where / "bin" / "python"
    install = (
        [sys.executable, "-m", "pip", "--python", str(python)] if _pip_knows_python() else [str(python), "-m", "pip"]
    )
    subprocess.run(
        [*install, "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", str(EXAMPLE)],
        check=True,
        capture_output=True,
        cwd=where,
    )
    return python


def _pip_knows_python() -> bool:
    """pip 22.3 and later can install into another environment (so the venv needs no pip of its own)."""
    version = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout
    major, minor = (int(part) for part in version.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)


def chatstream(python: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(PYTHONPATH=str(ROOT), CHATSTREAM_HOME=str(home))
    return subprocess.run(
        [str(python), "-m", "chatstream_cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_plugin_answers_through_the_cli(plugin_python: Path, isolated_env: Path) -> None:
    result = chatstream(plugin_python, isolated_env, "-m", "reverse:words", "one two three")
    assert (result.returncode, result.stdout, result.stderr) == (0, "three two one\n", "")
    result = chatstream(plugin_python, isolated_env, "-m", "reverse", "-o", "upper", "true", "--max-tokens", "2",
                        "--json", "one two three")  # fmt: skip
    record = json.loads(result.stdout)
    assert (record["content"], record["stop_reason"], record["provider"]) == ("THREE TWO", "max_tokens", "reverse")
    assert record["usage"] == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert "the reply was cut at 2 tokens (max_tokens)" in result.stderr


def test_the_plugin_streams_events(plugin_python: Path, isolated_env: Path) -> None:
    result = chatstream(plugin_python, isolated_env, "-m", "reverse:words", "--events", "one two")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    assert [event["event"] for event in events] == ["on_chat_model_start", *["on_chat_model_stream"] * 4,
                                                    "on_chat_model_end"]  # fmt: skip
    assert {event["name"] for event in events} == {"ReverseChatModel"}
    assert events[0]["metadata"]["ls_provider"] == "reverse"
    assert [event["data"]["chunk"]["content"] for event in events[1:5]] == ["two", " one", "", ""]
    output = events[-1]["data"]["output"]
    assert (output["content"], output["response_metadata"]["stop_reason"]) == ("two one", "end_turn")


def test_the_plugins_errors_keep_their_exit_codes(plugin_python: Path, isolated_env: Path) -> None:
    result = chatstream(plugin_python, isolated_env, "-m", "reverse:words", "-o", "loud", "1", "hi")
    assert (result.returncode, result.stderr.strip()) == (
        2, "chatstream: error: reverse has no option -o loud (its only option is -o upper true)"
    )  # fmt: skip
    result = chatstream(plugin_python, isolated_env, "-m", "reverse:words", "--events", "a" * 41)
    assert result.returncode == 4
    assert "reverse cannot say a word of 41 letters (at most 40)" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["event"] == "on_chat_model_error"


def test_models_lists_the_plugin_with_its_package(plugin_python: Path, isolated_env: Path) -> None:
    result = chatstream(plugin_python, isolated_env, "models")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("reverse:"))
    assert line == (
        "reverse: the prompt's words backwards (an example plugin) [plugin: chatstream-provider-example] "
        "(no key needed)"
    )
    listing = json.loads(chatstream(plugin_python, isolated_env, "models", "--json").stdout)
    entry = next(entry for entry in listing["providers"] if entry["name"] == "reverse")
    assert (entry["package"], entry["models"]) == ("chatstream-provider-example", ["words"])


# -- a broken plugin: a distribution whose entry point names a module that fails to import ----------


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    info = site / "broken_provider-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-provider\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[chatstream.providers]\nbroken = broken_provider:Model\n")
    (site / "broken_provider.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_a_plugin_that_cannot_load_is_one_warning_line_in_models(broken_plugin: Path) -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    assert result.stderr == (
        "chatstream: warning: the provider plugin 'broken' (package broken-provider) cannot be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module_anywhere'\n"
    )
    assert "builtin:poet" in result.stdout


def test_a_plugin_that_cannot_load_fails_only_the_command_that_uses_it(broken_plugin: Path) -> None:
    assert CliRunner().invoke(app, ["-m", "builtin:echo", "hi"]).stdout == "hi\n"
    result = CliRunner().invoke(app, ["-m", "broken:any", "hi"])
    assert result.exit_code == 3
    assert error_line(result).startswith("the provider plugin 'broken' (package broken-provider) cannot be loaded")


def test_the_docs_show_the_example_plugin_as_it_is() -> None:
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    shown = page.split("and its model is, in full:\n\n```python\n", 1)[1].split("```\n", 1)[0]
    source = (EXAMPLE / "chatstream_provider_example" / "__init__.py").read_text(encoding="utf-8")
    assert source.endswith(shown)
    assert source[: -len(shown)].rstrip().endswith("from __future__ import annotations")


def test_a_built_in_provider_never_reads_the_entry_points(isolated_env: Path) -> None:
    """Start-up stays as fast: the installed packages' metadata is read only for a name nothing built in has."""
    argv = [sys.executable, "-X", "importtime", *CHATSTREAM[1:], "-m", "builtin:echo", "hi"]
    done = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "importlib.metadata" not in imported_modules(done.stderr)
    unknown = [sys.executable, "-X", "importtime", *CHATSTREAM[1:], "-m", "nosuchprovider:x", "hi"]
    done = subprocess.run(unknown, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert done.returncode == 3
    assert "importlib.metadata" in imported_modules(done.stderr)  # the check above can fail
