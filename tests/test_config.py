"""config.toml: where it lives, what it may say, broken files, `chatstream config`, and settings precedence
(flags > environment > config file > defaults). Every test has its own CHATSTREAM_HOME (conftest)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.commands import prompt
from chatstream_cli.config import Config, ProviderConfig, config_path, home, load_config
from chatstream_cli.errors import ConfigError
from chatstream_cli.providers import PROVIDERS, activate, known_provider_names
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

ECHO = ["-o", "delay_ms", "0"]
OK_STREAM = b'data: {"choices": [{"index": 0, "delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def write_config(text: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def forget_config_providers() -> Any:
    """Undo what a test's config registered, so the next test sees the built-in providers only."""
    yield
    activate(Config())


# --- where ---------------------------------------------------------------------------------------------


def test_home_is_chatstream_home(isolated_env: Path) -> None:
    assert home() == isolated_env
    assert config_path() == isolated_env / "config.toml"


def test_home_defaults_to_the_user_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHATSTREAM_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert home() == tmp_path / "xdg" / "chatstream"


def test_no_file_is_an_empty_config() -> None:
    loaded = load_config()
    assert (loaded.default_model, loaded.timeout, loaded.aliases, loaded.providers) == (None, None, {}, {})


def test_every_setting_is_read() -> None:
    write_config(
        'default_model = "ollama:llama3.2"\ntimeout = 30\nretries = 4\nmarkdown = false\nlog = false\n'
        '[aliases]\nfast = "openai:gpt-4o-mini"\n'
        '[providers.work]\nkind = "openai"\nbase_url = "https://llm.example/v1"\napi_key_env = "WORK_KEY"\n'
        'models = ["a", "b"]\nstream_usage = false\n'
    )
    loaded = load_config()
    assert (loaded.default_model, loaded.timeout, loaded.retries, loaded.markdown, loaded.log) == (
        "ollama:llama3.2",
        30.0,
        4,
        False,
        False,
    )
    assert loaded.aliases == {"fast": "openai:gpt-4o-mini"}
    assert loaded.providers["work"] == ProviderConfig(
        "work", "openai", "https://llm.example/v1", "WORK_KEY", None, ("a", "b"), False
    )


# --- broken files ----------------------------------------------------------------------------------------

BROKEN = [
    ("timeout = 30\nretries = \n", 2, "invalid value"),
    ('[aliases]\nfast = "openai:gpt\n', 2, "illegal character"),
    ("[aliases]\n[aliases]\n", 2, "cannot declare"),
    ('timeout = "soon"\n', 1, "timeout must be a number of seconds"),
    ("retries = -1\n", 1, "retries must be a whole number"),
    ("markdown = 1\n", 1, "markdown must be true or false"),
    ("tiemout = 3\n", 1, "did you mean timeout"),
    ("[aliases]\nfast = 3\n", 2, "alias 'fast' must name a model"),
    ('default_model = "x"\n[providers.work]\nkind = "openai"\n', 2, 'has kind = "openai" but no base_url'),
    ('[providers.work]\nbase_url = "http://x/v1"\n', 1, "names no known provider"),
    ('\n[providers.ollama]\nbase_url = "localhost:11434"\n', 3, "must be an http:// or https:// URL"),
    ('[providers.ollama]\ncolour = "red"\n', 2, "unknown setting 'colour' in [providers.ollama]"),
    ('[providers.builtin]\nbase_url = "http://x"\n', 1, "builtin provider cannot be configured"),
]


@pytest.mark.parametrize(("text", "line", "what"), BROKEN)
def test_a_broken_config_names_the_file_the_line_and_the_problem(text: str, line: int | None, what: str) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        activate(load_config())  # what every command does; the registry knows which providers exist
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert str(path) in message
    assert what.lower() in message.lower()
    if line is not None:
        assert f"line {line}:" in message


def test_a_broken_config_stops_the_prompt_with_exit_3_and_one_line() -> None:
    write_config("timeout = 30\nretries = \n")
    result = run("-m", "builtin:echo", *ECHO, "hi")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("chatstream: error: broken config file ")
    assert ", line 2: invalid value" in result.stderr
    assert result.stderr.count("\n") == 1


def test_values_are_never_echoed_in_errors() -> None:
    write_config('[providers.openai]\napi_key = "sk-pasted-by-mistake"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert "sk-pasted" not in str(caught.value)


@pytest.mark.parametrize("args", [["set", "retries", "3"], ["unset", "timeout"], ["show"]])
def test_a_broken_file_is_never_overwritten(args: list[str]) -> None:
    path = write_config('timeout = 5\ncolour = "red"\n')
    before = path.read_bytes()
    result = run("config", *args)
    assert result.exit_code == 3
    assert "line 2: unknown setting 'colour'" in result.stderr
    assert path.read_bytes() == before


def test_a_byte_order_mark_is_not_a_broken_file() -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_bytes(b"\xef\xbb\xbftimeout = 7\n")  # as Windows Notepad saves UTF-8
    assert load_config().timeout == 7.0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.mkdir(parents=True), "Is a directory"),
        (lambda path: path.write_bytes(b"timeout = 5 # \xff\n"), "it is not UTF-8 text"),
    ],
)
def test_an_unreadable_config_file_says_why_in_one_line(make: Any, reason: str) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    make(config_path())
    for args in (["-m", "builtin:echo", *ECHO, "hi"], ["config", "set", "retries", "3"]):
        result = run(*args)
        assert result.exit_code == 3, args
        expected = f"chatstream: error: cannot read the config file {config_path()}: {reason} (fix or remove the file)"
        assert result.stderr == expected + "\n"


@pytest.mark.parametrize("name", ["", "a:b", "my host"])
def test_a_provider_name_that_cannot_be_written_before_a_colon_is_refused(name: str) -> None:
    result = run("config", "set", f"providers.{name}.base_url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2
    assert f"provider name {name!r} may hold only letters, digits, - and _" in result.stderr
    assert not config_path().exists()


def test_config_set_kind_of_a_new_name_is_checked_not_replaced() -> None:
    result = run("config", "set", "providers.work.kind", "anthropic")
    assert result.exit_code == 2
    assert 'providers.work.kind must be "openai"' in result.stderr
    assert not config_path().exists()


def test_config_set_takes_a_negative_value_as_a_value() -> None:
    result = run("config", "set", "timeout", "-1")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "chatstream: error: cannot set timeout: timeout must be a number of seconds >= 0 (0 = no limit)"
        " (e.g. chatstream config set timeout 30)\n"
    )


# --- chatstream config ------------------------------------------------------------------------------------


def test_config_path() -> None:
    result = run("config", "path")
    assert (result.exit_code, result.stdout) == (0, f"{config_path()}\n")


def test_config_set_writes_typed_values() -> None:
    for key, value in [("timeout", "30"), ("retries", "3"), ("markdown", "no"), ("default_model", "builtin:echo")]:
        assert run("config", "set", key, value).exit_code == 0
    assert run("config", "set", "aliases.fast", "openai:gpt-4o-mini").exit_code == 0
    assert config_path().read_text() == (
        'timeout = 30\nretries = 3\nmarkdown = false\ndefault_model = "builtin:echo"\n\n'
        '[aliases]\nfast = "openai:gpt-4o-mini"\n'
    )


def test_config_set_base_url_of_a_new_name_declares_an_endpoint() -> None:
    assert run("config", "set", "providers.work.base_url", "http://127.0.0.1:9/v1").exit_code == 0
    assert load_config().providers["work"].kind == "openai"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("retries", "many", "retries must be a whole number >= 0"),
        ("markdown", "maybe", "markdown must be true or false"),
        ("colour", "red", "unknown config key 'colour'"),
        ("providers.ollama.base_url", "ollama:11434", "must be an http:// or https:// URL"),
        ("providers.builtin.base_url", "http://x", "builtin provider cannot be configured"),
    ],
)
def test_config_set_refuses_bad_values_with_exit_2(key: str, value: str, message: str) -> None:
    result = run("config", "set", key, value)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not config_path().exists()


def test_config_unset() -> None:
    write_config('timeout = 5\n[aliases]\nfast = "builtin:echo"\n')
    assert run("config", "unset", "aliases.fast").exit_code == 0
    assert config_path().read_text() == "timeout = 5\n"  # an emptied table goes too
    result = run("config", "unset", "aliases.fast")
    assert result.exit_code == 2
    assert "aliases.fast is not set" in result.stderr


def test_config_show_lists_the_file_and_the_defaults_it_leaves() -> None:
    write_config('timeout = 5\n[aliases]\nfast = "builtin:echo"\n')
    result = run("config", "show")
    assert result.stdout == (
        f"# {config_path()}\n"
        'timeout = 5\n\n[aliases]\nfast = "builtin:echo"\n'
        "# retries = 2  (default)\n# markdown = true  (default)\n# log = true  (default)\n"
        "# max_files_size = 1048576  (default)\n"
    )


def test_config_file_is_written_atomically_with_a_normal_mode() -> None:
    run("config", "set", "timeout", "5")
    assert config_path().stat().st_mode & 0o777 == 0o644
    assert [p.name for p in config_path().parent.iterdir()] == ["config.toml"]  # no temporary file left


# --- precedence: flags > environment > config > defaults ---------------------------------------------------


def test_default_model_and_aliases_from_the_config() -> None:
    write_config('default_model = "builtin:echo"\n[aliases]\nparrot = "builtin:echo"\n')
    assert run(*ECHO, "hello").stdout == "hello\n"
    assert run("-m", "parrot", *ECHO, "again").stdout == "again\n"


def test_the_environment_model_beats_the_config_default() -> None:
    write_config('default_model = "builtin:poet"\n')
    result = run(*ECHO, "hello", env={"CHATSTREAM_MODEL": "builtin:echo"})
    assert result.stdout == "hello\n"


def stalling_server(server: LoopbackServer) -> str:
    server.default = Reply.sse(b'data: {"choices": []}\n\n', stall_after=0)
    return server.base_url + "/v1"


def test_timeout_from_the_config_and_the_flag_beats_it(loopback_server: LoopbackServer) -> None:  # noqa: F811
    base = stalling_server(loopback_server)
    write_config(f'timeout = 0.2\n[providers.ollama]\nbase_url = "{base}"\n')
    from_config = run("-m", "ollama:m", "--retries", "0", "hi")
    from_flag = run("-m", "ollama:m", "--retries", "0", "--timeout", "0.3", "hi")
    assert from_config.exit_code == from_flag.exit_code == 5
    assert "no data from Ollama for 0.2 s" in from_config.stderr
    assert "no data from Ollama for 0.3 s" in from_flag.stderr


def test_retries_from_the_config_and_the_flag_beats_them(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.default = Reply.json({"error": {"message": "busy"}}, status=503, headers=[("retry-after", "0")])
    write_config(f'retries = 0\n[providers.ollama]\nbase_url = "{loopback_server.base_url}/v1"\n')
    assert run("-m", "ollama:m", "hi").exit_code == 4
    assert len(loopback_server.requests) == 1
    assert run("-m", "ollama:m", "--retries", "1", "hi").exit_code == 4
    assert len(loopback_server.requests) == 3


def test_markdown_from_the_config_and_the_flag_beats_it(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[bool] = []
    original = prompt.choose_renderer

    def spy(delimiter: str | None, markdown: bool, *rest: Any) -> Any:
        chosen.append(markdown)
        return original(delimiter, markdown, *rest)

    monkeypatch.setattr(prompt, "choose_renderer", spy)
    run("-m", "builtin:echo", *ECHO, "hi")
    write_config("markdown = false\n")
    run("-m", "builtin:echo", *ECHO, "hi")
    run("-m", "builtin:echo", *ECHO, "--markdown", "hi")
    assert chosen == [True, False, True]


def test_a_declared_endpoint_with_its_key_variable(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.sse(OK_STREAM))
    write_config(
        f'[providers.work]\nkind = "openai"\nbase_url = "{loopback_server.base_url}/v1"\napi_key_env = "WORK_KEY"\n'
    )
    missing = run("-m", "work:m", "hi")
    assert missing.exit_code == 3
    assert "set WORK_KEY or run `chatstream keys set work`" in missing.stderr
    result = run("-m", "work:m", "hi", env={"WORK_KEY": "sk-work"})
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert loopback_server.requests[0].headers["authorization"] == "Bearer sk-work"


def test_openai_base_url_beats_the_config_and_the_flag_beats_both(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.default = Reply.sse(OK_STREAM)
    write_config('[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\n')
    env = {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": f"{loopback_server.base_url}/v1"}
    assert run("-m", "gpt-4o-mini", "hi", env=env).stdout == "ok\n"
    dead = {**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    assert run("-m", "gpt-4o-mini", "--base-url", f"{loopback_server.base_url}/v1", "hi", env=dead).stdout == "ok\n"
    assert len(loopback_server.requests) == 2


def test_activating_another_config_undoes_the_last_one() -> None:
    original = PROVIDERS["ollama"]
    activate(
        Config(
            providers={
                "work": ProviderConfig("work", "openai", "http://x/v1"),
                "ollama": ProviderConfig("ollama", base_url="http://gpu:11434/v1"),
            }
        )
    )
    assert PROVIDERS["ollama"].base_url == "http://gpu:11434/v1"
    assert PROVIDERS["work"].init_args == {"provider": "work"}
    activate(Config())
    assert "work" not in PROVIDERS
    assert PROVIDERS["ollama"] is original
    assert known_provider_names() >= {"openai", "ollama"}


def test_help_reads_no_config(tmp_path: Path) -> None:
    """`chatstream --help` stays fast: neither tomllib, platformdirs, tomlkit nor httpx is imported."""
    result = subprocess.run(
        [*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], "--help"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.count("|") == 2}
    assert not imported & {"tomllib", "platformdirs", "tomlkit", "httpx"}
    assert "chatstream_cli.cli" in imported


def test_json_defaults_in_show_are_valid_toml() -> None:
    import tomllib

    shown = run("config", "show").stdout
    uncommented = "\n".join(line[2:].split("  (default)")[0] for line in shown.splitlines()[1:])
    assert tomllib.loads(uncommented) == {
        "timeout": 60.0,
        "retries": 2,
        "markdown": True,
        "log": True,
        "max_files_size": 1048576,
    }
