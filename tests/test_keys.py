"""Stored API keys: keys.toml's mode, `chatstream keys`, environment precedence, and keys never shown."""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.errors import ConfigError
from chatstream_cli.keys import key_for, key_source, keys_path, require_key, store_key, stored_keys
from chatstream_cli.providers import PROVIDERS, resolve
from chatstream_cli.retry import HTTP_TRACE
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

SECRET = "sk-secret-7f3a9c1e5b"


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=env)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the file -------------------------------------------------------------------------------------------


def test_keys_set_from_stdin_creates_a_private_file(isolated_env: Path) -> None:
    result = run("keys", "set", "openai", input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert keys_path() == isolated_env / "keys.toml"
    assert mode_of(keys_path()) == 0o600
    assert mode_of(isolated_env) == 0o700
    assert stored_keys() == {"openai": SECRET}


def test_the_mode_is_0600_whatever_the_umask() -> None:
    previous = os.umask(0)
    try:
        store_key("openai", SECRET)
        store_key("anthropic", "sk-ant")
    finally:
        os.umask(previous)
    assert mode_of(keys_path()) == 0o600


def test_a_loose_file_is_made_private_on_the_next_write() -> None:
    store_key("openai", SECRET)
    keys_path().chmod(0o644)
    store_key("anthropic", "sk-ant")
    assert mode_of(keys_path()) == 0o600
    assert stored_keys() == {"openai": SECRET, "anthropic": "sk-ant"}


def test_set_replaces_and_remove_forgets() -> None:
    run("keys", "set", "openai", input="sk-old")
    run("keys", "set", "openrouter", input="sk-router")
    run("keys", "set", "openai", input="sk-new")
    assert stored_keys() == {"openai": "sk-new", "openrouter": "sk-router"}
    result = run("keys", "remove", "openai")
    assert (result.exit_code, result.stdout) == (0, "removed the key for openai\n")
    assert stored_keys() == {"openrouter": "sk-router"}
    missing = run("keys", "remove", "openai")
    assert missing.exit_code == 2
    assert "no stored key for openai" in missing.stderr


def test_keys_path() -> None:
    result = run("keys", "path")
    assert (result.exit_code, result.stdout) == (0, f"{keys_path()}\n")


@pytest.mark.parametrize(
    ("name", "input", "code", "message"),
    [
        ("opneai", SECRET, 3, "did you mean openai"),
        ("builtin", SECRET, 3, "builtin provider needs no key"),
        ("openai", "\n", 2, "no key given"),
        ("openai", "sk-one sk-two", 2, "spaces"),
        ("openai", "sk-secret-\u2019pasted", 2, "the key contains characters that are not printable ASCII"),
    ],
)
def test_bad_keys_set(name: str, input: str, code: int, message: str) -> None:
    result = run("keys", "set", name, input=input)
    assert result.exit_code == code
    assert message in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not keys_path().exists()


def test_keys_set_reads_without_echo_on_a_terminal() -> None:
    child = pexpect.spawn(
        sys.executable, [*CHATSTREAM[1:], "keys", "set", "openai"], env=cli_env(), encoding="utf-8", timeout=20
    )
    child.expect("API key for openai: ")
    child.sendline(SECRET)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert SECRET not in (child.before or "")  # not echoed
    assert stored_keys() == {"openai": SECRET}


def test_a_broken_keys_file_is_an_error_naming_the_line_and_never_the_key() -> None:
    keys_path().parent.mkdir(parents=True, exist_ok=True)
    keys_path().write_text(f'openrouter = "sk-fine"\nopenai = {SECRET}\n')
    before = keys_path().read_bytes()
    for args in (["keys", "list"], ["keys", "set", "anthropic"], ["-m", "gpt-4o-mini", "hi"]):
        result = run(*args, input="sk-other")
        assert result.exit_code == 3, args
        assert f"{keys_path()}, line 2" in result.stderr
        assert SECRET not in result.stdout + result.stderr
    assert keys_path().read_bytes() == before  # nothing overwritten


def test_a_key_that_is_not_a_string() -> None:
    keys_path().parent.mkdir(parents=True, exist_ok=True)
    keys_path().write_text('openrouter = "sk-fine"\n[openai]\nkey = "sk-nested"\n')
    with pytest.raises(ConfigError, match=r"line 2: the key for openai must be a string") as caught:
        stored_keys()
    assert "sk-nested" not in str(caught.value)


# --- lookups --------------------------------------------------------------------------------------------


def test_the_environment_wins_over_the_stored_key(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = PROVIDERS["openai"]
    assert key_for(spec) is None
    store_key("openai", "sk-stored")
    assert (key_for(spec), str(key_source(spec))) == ("sk-stored", f"file {keys_path()}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert (key_for(spec), str(key_source(spec))) == ("sk-env", "env OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "")  # an empty variable is no key
    assert key_for(spec) == "sk-stored"


def test_require_key_says_both_ways_to_give_one() -> None:
    with pytest.raises(ConfigError) as caught:
        require_key(PROVIDERS["openrouter"])
    assert str(caught.value) == (
        "no API key for openrouter (set OPENROUTER_API_KEY or run `chatstream keys set openrouter`)"
    )


def test_whitespace_around_a_key_variable_is_not_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"  {SECRET}\r\n")  # a .env file written on Windows
    assert key_for(PROVIDERS["openai"]) == SECRET
    monkeypatch.setenv("OPENAI_API_KEY", " \n")
    assert key_source(PROVIDERS["openai"]) is None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_key_that_cannot_be_sent_is_one_line_naming_where_it_is(
    provider: str,
    loopback_server: LoopbackServer,  # noqa: F811
) -> None:
    spec = PROVIDERS[provider]
    model = f"{provider}:{spec.default_model}"
    from_env = run("-m", model, "--base-url", loopback_server.base_url, "hi", env={str(spec.key_env): "sk-a b"})
    store_key(provider, f"{SECRET}\u00e9")  # hand-edited into keys.toml: `keys set` refuses such a key
    from_file = run("-m", model, "--base-url", loopback_server.base_url, "hi")
    for result, where, problem in (
        (from_env, str(spec.key_env), "contains spaces or line breaks"),
        (from_file, f"{keys_path()} (for {provider})", "contains characters that are not printable ASCII"),
    ):
        assert result.exit_code == 3
        assert result.stderr.startswith(f"chatstream: error: the API key in {where} {problem} (set it again")
        assert result.stderr.count("\n") == 1
        assert SECRET not in result.stdout + result.stderr
    assert loopback_server.requests == []


def test_a_keys_file_that_cannot_be_read_is_one_line() -> None:
    keys_path().mkdir(parents=True)
    for args in (["keys", "list"], ["-m", "gpt-4o-mini", "hi"]):
        result = run(*args, input="sk-other")
        assert result.exit_code == 3, args
        assert result.stderr == (
            f"chatstream: error: cannot read the keys file {keys_path()}: Is a directory (fix or remove the file)\n"
        )


def test_a_keys_file_with_a_byte_order_mark_is_read() -> None:
    keys_path().parent.mkdir(parents=True, exist_ok=True)
    keys_path().write_bytes(f'\ufeffopenai = "{SECRET}"\n'.encode())
    assert key_for(PROVIDERS["openai"]) == SECRET


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_stored_key_chooses_the_default_model(provider: str) -> None:
    assert resolve(None, env={}).full_name == "builtin:poet"
    store_key(provider, SECRET)
    assert resolve(None, env={}).provider.name == provider


# --- never shown ----------------------------------------------------------------------------------------


def test_keys_list_shows_names_and_sources_never_values() -> None:
    store_key("anthropic", SECRET)
    store_key("retired", "sk-old-provider")
    result = run("keys", "list", env={"OPENAI_API_KEY": "sk-env-value"})
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()}
    assert rows["anthropic"] == f"file {keys_path()}"
    assert rows["openai"] == "env OPENAI_API_KEY"
    assert rows["openrouter"] == "none (set OPENROUTER_API_KEY or chatstream keys set openrouter)"
    assert rows["ollama"] == "none (not needed)"
    assert rows["retired"] == "file (no such provider)"
    for value in (SECRET, "sk-old-provider", "sk-env-value"):
        assert value not in result.stdout + result.stderr


@pytest.fixture
def quiet_trace_afterwards() -> Iterator[None]:
    """--debug in this process turns the HTTP trace on for good; turn it off again for the next tests."""
    yield
    HTTP_TRACE.setLevel(logging.NOTSET)
    HTTP_TRACE.handlers.clear()


@pytest.mark.usefixtures("quiet_trace_afterwards")
def test_no_command_shows_a_stored_key(loopback_server: LoopbackServer) -> None:  # noqa: F811
    store_key("openai", SECRET)
    loopback_server.default = Reply.json(
        {"error": {"message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error"}}, status=401
    )
    base = f"{loopback_server.base_url}/v1"
    outputs = [
        run("keys", "list"),
        run("models"),
        run("models", "--json", "--remote", "-p", "openai", env={"OPENAI_BASE_URL": base}),
        run("config", "show"),
        run("-m", "openai:gpt-4o-mini", "--base-url", base, "--debug", "hi"),
        run("-m", "openai:gpt-4o-mini", "--base-url", base, "--events", "hi"),
    ]
    assert [result.exit_code for result in outputs] == [0, 0, 3, 0, 3, 3]
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
    assert loopback_server.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # it was sent, only not shown


@pytest.mark.parametrize("group", ["keys", "config"])
def test_a_group_without_a_subcommand_is_one_usage_line(group: str) -> None:
    result = run(group)
    assert result.exit_code == 2
    assert result.stderr.startswith("chatstream: error: missing command")
    assert result.stderr.count("\n") == 1
