"""`chatstream models`: providers, models, aliases, key status; --json; --remote against the loopback server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.config import Config, config_path
from chatstream_cli.keys import store_key
from chatstream_cli.providers import PROVIDERS, activate
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["models", *args], env=env)


def listing(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run("--json", *args, env=env)
    assert result.exit_code in (0, 3, 5), result.stderr
    return json.loads(result.stdout)


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in data["providers"]}


@pytest.fixture(autouse=True)
def forget_config_providers() -> Any:
    yield
    activate(Config())


def write_config(text: str) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(text)


def test_text_lists_every_provider_its_models_and_the_aliases() -> None:
    result = run()
    assert result.exit_code == 0
    out = result.stdout
    for name in PROVIDERS:
        assert f"\n{name}: " in "\n" + out
    assert "  builtin:poet (default, -m builtin)\n" in out  # the one default, and each provider's own
    assert "  openai:gpt-4o-mini (-m openai)\n" in out
    assert out.count("(default") == 1
    assert out.endswith(
        'default: chatstream "hi" uses builtin:poet: the offline fallback: no key for anthropic'
        " or openai, no default_model, no CHATSTREAM_MODEL\n"
    )
    assert "  ollama:MODEL (any model id the endpoint serves)\n" in out
    assert "  claude-3-haiku = anthropic:claude-3-haiku-20240307\n" in out
    assert "openai: OpenAI Chat Completions over httpx, https://api.openai.com/v1 (no key: set OPENAI_API_KEY" in out
    assert "ollama: Ollama, local, http://localhost:11434/v1 (no key needed)" in out


def test_key_status_follows_the_environment_and_the_stored_keys() -> None:
    store_key("openrouter", "sk-stored-router")
    data = by_name(listing(env={"OPENAI_API_KEY": "sk-env"}))
    assert data["openai"]["key"] == {"needed": True, "env": "OPENAI_API_KEY", "source": "env"}
    assert data["openrouter"]["key"]["source"] == "file"
    assert data["anthropic"]["key"]["source"] is None
    assert data["ollama"]["key"]["needed"] is False
    text = run(env={"OPENAI_API_KEY": "sk-env"}).stdout
    assert "(key: env OPENAI_API_KEY)" in text
    assert "(key: stored (chatstream keys list))" in text
    assert "sk-env" not in text and "sk-stored-router" not in text


def test_json_shape() -> None:
    data = listing()
    assert list(data) == ["default_model", "default_source", "default_reason", "providers", "aliases"]
    builtin = by_name(data)["builtin"]
    assert builtin == {
        "name": "builtin",
        "description": "offline models shipped with chatstream",
        "base_url": None,
        "key": {"needed": False, "env": None, "source": None},
        "default_model": "poet",
        "models": ["poet", "echo"],
        "any_model": False,
        "package": None,  # built in (a plugin provider names its distribution)
    }


def test_config_aliases_providers_and_default_model_are_listed() -> None:
    write_config(
        'default_model = "work:big"\n[aliases]\nfast = "work:small"\n'
        '[providers.work]\nbase_url = "http://llm.example/v1"\nkind = "openai"\nmodels = ["small", "big"]\n'
    )
    data = listing()
    assert by_name(data)["work"]["models"] == ["small", "big"]
    assert by_name(data)["work"]["base_url"] == "http://llm.example/v1"
    assert data["aliases"]["fast"] == "work:small"
    assert (data["default_model"], data["default_source"]) == ("work:big", "config")
    assert f'chatstream "hi" uses work:big: default_model in {config_path()}, line 1\n' in run().stdout


def test_one_provider_and_its_aliases_only() -> None:
    data = listing("-p", "builtin")
    assert [entry["name"] for entry in data["providers"]] == ["builtin"]
    assert data["aliases"] == {"echo": "builtin:echo", "poet": "builtin:poet"}


def test_unknown_provider_exits_3() -> None:
    result = run("-p", "olama")
    assert result.exit_code == 3
    assert "did you mean ollama" in result.stderr


MODELS = {"object": "list", "data": [{"id": "zeta", "object": "model"}, {"id": "alpha", "object": "model"}]}


def test_remote_openai_compatible(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.json(MODELS))
    env = {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": f"{loopback_server.base_url}/v1"}
    result = run("--remote", "-p", "openai", env=env)
    assert result.exit_code == 0, result.stderr
    assert "  served now: alpha, zeta\n" in result.stdout
    request = loopback_server.requests[0]
    assert (request.method, request.path, request.headers["authorization"]) == ("GET", "/v1/models", "Bearer sk-x")


def test_remote_anthropic(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.json({"data": [{"id": "claude-haiku-4-5", "type": "model"}], "has_more": False}))
    env = {"ANTHROPIC_API_KEY": "sk-ant-x", "ANTHROPIC_BASE_URL": loopback_server.base_url}
    data = by_name(listing("--remote", "-p", "anthropic", env=env))
    assert data["anthropic"]["remote_models"] == ["claude-haiku-4-5"]
    request = loopback_server.requests[0]
    assert request.path == "/v1/models?limit=1000"
    assert (request.headers["x-api-key"], request.headers["anthropic-version"]) == ("sk-ant-x", "2023-06-01")


def test_remote_declared_endpoint_without_a_key(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.json(MODELS))
    write_config(f'[providers.box]\nkind = "openai"\nbase_url = "{loopback_server.base_url}/v1"\n')
    assert by_name(listing("--remote", "-p", "box"))["box"]["remote_models"] == ["alpha", "zeta"]
    assert "authorization" not in loopback_server.requests[0].headers


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (
            Reply.json({"error": {"message": "bad key", "type": "invalid_api_key"}}, status=401),
            3,
            "rejected the API key",
        ),
        (Reply.json({"unexpected": True}), 4, "sent no model list"),
        (Reply(status=502, body=b"<html>proxy</html>"), 4, "HTTP 502"),
        (Reply(status=404, body=b"not found"), 3, "has no model list at http://127.0.0.1:"),
    ],
)
def test_remote_failures_for_one_provider_are_errors(
    loopback_server: LoopbackServer,  # noqa: F811
    reply: Reply,
    code: int,
    message: str,
) -> None:
    loopback_server.enqueue(reply)
    env = {"OPENROUTER_API_KEY": "sk-or"}
    write_config(f'[providers.openrouter]\nbase_url = "{loopback_server.base_url}/v1"\n')
    result = run("--remote", "-p", "openrouter", env=env)
    assert result.exit_code == code
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "openrouter: OpenRouter" in result.stdout  # the listing is still printed


def test_remote_refused_connection_exits_5() -> None:
    write_config('[providers.ollama]\nbase_url = "http://127.0.0.1:9/v1"\n')
    result = run("--remote", "-p", "ollama")
    assert result.exit_code == 5
    assert "connection refused" in result.stderr


def test_remote_builtin_is_a_usage_error() -> None:
    result = run("--remote", "-p", "builtin")
    assert result.exit_code == 2
    assert "not a network provider" in result.stderr


def test_remote_for_all_reports_each_failure_inline(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.json(MODELS))
    write_config(
        f'[providers.vllm]\nbase_url = "{loopback_server.base_url}/v1"\n'
        + "".join(
            f'[providers.{name}]\nbase_url = "http://127.0.0.1:9/v1"\n' for name in ("ollama", "lmstudio", "llamacpp")
        )
    )
    result = run("--json", "--remote")
    assert (result.exit_code, result.stderr) == (0, "")
    data = by_name(json.loads(result.stdout))
    assert data["vllm"]["remote_models"] == ["alpha", "zeta"]
    assert "connection refused" in data["ollama"]["remote_error"]
    assert "remote_models" not in data["openai"] and "remote_error" not in data["openai"]  # no key: not asked
    assert len(loopback_server.requests) == 1


# --- the one default: which model `chatstream "hi"` uses now, and why --------------------------------------


@pytest.mark.parametrize(
    ("env", "stored", "model", "source", "reason"),
    [
        ({}, {}, "builtin:poet", "fallback", "the offline fallback"),
        ({"OPENAI_API_KEY": "sk-x"}, {}, "openai:gpt-4o-mini", "key", "a key for openai is set (env OPENAI_API_KEY)"),
        ({}, {"anthropic": "sk-ant-x"}, "anthropic:claude-haiku-5-5", "key", "a key for anthropic is set (file "),
        (
            {"CHATSTREAM_MODEL": "echo"},
            {},
            "builtin:echo",
            "CHATSTREAM_MODEL",
            "the CHATSTREAM_MODEL environment variable names it",
        ),
    ],
)
def test_the_default_says_which_model_and_why(
    env: dict[str, str], stored: dict[str, str], model: str, source: str, reason: str
) -> None:
    for name, key in stored.items():
        store_key(name, key)
    data = listing(env=env)
    assert (data["default_model"], data["default_source"]) == (model, source)
    assert reason in data["default_reason"]
    text = run(env=env).stdout
    assert f'\ndefault: chatstream "hi" uses {model}: {reason}' in text
    assert f"  {model} (default" in text
    assert text.count("(default") == 1


def test_the_default_is_what_a_prompt_uses() -> None:
    """The default `models` names is the one a prompt without -m gets (the echo model answers with the prompt)."""
    write_config('default_model = "echo"\n')
    assert listing()["default_model"] == "builtin:echo"
    prompt = CliRunner().invoke(app, ["-o", "delay_ms", "0", "same"])
    assert prompt.stdout == "same\n"


def test_a_broken_default_is_shown_not_fatal() -> None:
    write_config('timeout = 3\ndefault_model = "nonsense"\n')
    data = listing()
    assert data["default_model"] is None
    assert f"unknown model 'nonsense', from default_model in {config_path()}, line 2" in data["default_reason"]


def test_a_broken_default_from_the_environment_says_so() -> None:
    data = listing(env={"CHATSTREAM_MODEL": "nonsense"})
    assert (data["default_model"], data["default_source"]) == (None, "CHATSTREAM_MODEL")
    assert "unknown model 'nonsense'" in data["default_reason"]
