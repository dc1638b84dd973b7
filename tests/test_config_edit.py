"""`config set` and `config unset` on hand-written files: comments kept, VALUE read as TOML, names checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.config import Config, config_path, load_config
from chatstream_cli.keys import keys_path, store_key, stored_keys
from chatstream_cli.providers import activate
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

ECHO = ["-o", "delay_ms", "0"]
OK_STREAM = b'data: {"choices": [{"index": 0, "delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'

COMMENTED = """\
# chatstream settings, written by hand
timeout = 30      # seconds

[aliases]
# the quick one
fast = "builtin:echo"

[providers.work]  # the office endpoint
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def write_config(text: str) -> Path:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(text)
    return config_path()


@pytest.fixture(autouse=True)
def forget_config_providers() -> Iterator[None]:
    yield
    activate(Config())


def test_set_keeps_comments_order_and_layout() -> None:
    write_config(COMMENTED)
    assert run("config", "set", "timeout", "45").exit_code == 0
    assert run("config", "set", "aliases.slow", "builtin:poet").exit_code == 0
    assert run("config", "set", "retries", "4").exit_code == 0
    assert config_path().read_text() == (
        COMMENTED.replace("timeout = 30      # seconds", "timeout = 45      # seconds\nretries = 4").replace(
            'fast = "builtin:echo"\n', 'fast = "builtin:echo"\nslow = "builtin:poet"\n'
        )
    )


def test_unset_keeps_the_rest_of_the_file() -> None:
    write_config(COMMENTED)
    assert run("config", "unset", "timeout").exit_code == 0
    assert config_path().read_text() == COMMENTED.replace("timeout = 30      # seconds\n", "")


@pytest.mark.parametrize("value", ['["mock-model", "big"]', '["mock-model","big"]', "mock-model,big"])
def test_a_list_is_read_as_toml_json_or_words(value: str) -> None:
    assert run("config", "set", "providers.mock.base_url", "http://127.0.0.1:9/v1").exit_code == 0
    result = run("config", "set", "providers.mock.models", value)
    assert result.exit_code == 0, result.stderr
    assert load_config().providers["mock"].models == ("mock-model", "big")
    assert "  mock:big\n" in run("models").stdout


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("markdown", "false", False),
        ("markdown", "no", False),
        ("timeout", "2.5", 2.5),
        ("default_model", '"echo"', "echo"),
    ],
)
def test_a_scalar_is_read_as_toml_first(key: str, value: str, stored: object) -> None:
    assert run("config", "set", key, value).exit_code == 0
    assert load_config().data[key] == stored


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("default_model", "nonsense", "unknown model 'nonsense'"),
        ("default_model", "builtin:poem", "unknown model builtin:poem (did you mean poet?"),
        ("default_model", "olama:llama3.2", "unknown provider 'olama' (did you mean ollama"),
        ("aliases.x", "nope", "unknown model 'nope'"),
    ],
)
def test_a_name_that_names_no_model_is_refused_with_exit_2(key: str, value: str, message: str) -> None:
    write_config(COMMENTED)
    result = run("config", "set", key, value)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"chatstream: error: cannot set {key}: {message}")
    assert result.stderr.count("\n") == 1
    assert config_path().read_text() == COMMENTED


def test_an_unknown_key_suggests_the_close_one() -> None:
    result = run("config", "set", "default_modle", "echo")
    assert result.exit_code == 2
    assert "(did you mean default_model or" in result.stderr


def test_names_of_a_declared_provider_and_of_open_catalogs_are_accepted() -> None:
    write_config(COMMENTED)
    for key, value in [("default_model", "work:anything"), ("aliases.big", "claude-opus-5"), ("aliases.f2", "fast")]:
        result = run("config", "set", key, value)
        assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "argv", "key", "line"),
    [
        ('timeout = 3\ndefault_model = "nonsense"\n', [], "default_model", 2),
        ('[aliases]\n\nx = "nope"\n', ["-m", "x"], "aliases.x", 3),
    ],
)
def test_a_bad_name_in_the_file_is_blamed_on_its_key_and_line(text: str, argv: list[str], key: str, line: int) -> None:
    write_config(text)
    result = run(*argv, *ECHO, "hi")
    assert result.exit_code == 3
    assert f", from {key} in {config_path()}, line {line} (" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_explicit_model_does_not_trip_over_a_bad_default() -> None:
    write_config('default_model = "nonsense"\n')
    assert run("-m", "echo", *ECHO, "fine").stdout == "fine\n"


def test_a_provider_alone_is_its_configured_default_model(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.sse(OK_STREAM))
    write_config(
        f'[providers.mock]\nbase_url = "{loopback_server.base_url}/v1"\ndefault_model = "big"\n'
        'models = ["mock-model", "big"]\nkind = "openai"\n'
    )
    result = run("-m", "mock", "hi")
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert loopback_server.requests[0].json["model"] == "big"


def test_keys_set_keeps_the_comments_of_keys_toml() -> None:
    keys_path().parent.mkdir(parents=True, exist_ok=True)
    keys_path().write_text('# my keys\nopenai = "sk-one"  # the work account\n')
    store_key("anthropic", "sk-ant-two")
    store_key("openai", "sk-three")
    assert keys_path().read_text() == ('# my keys\nopenai = "sk-three"  # the work account\nanthropic = "sk-ant-two"\n')
    assert stored_keys() == {"openai": "sk-three", "anthropic": "sk-ant-two"}


def test_unset_that_would_break_the_file_is_refused() -> None:
    write_config(COMMENTED)
    result = run("config", "unset", "providers.work.base_url")
    assert result.exit_code == 2
    assert result.stderr == (
        "chatstream: error: cannot unset providers.work.base_url:"
        ' [providers.work] has kind = "openai" but no base_url\n'
    )
    assert config_path().read_text() == COMMENTED
