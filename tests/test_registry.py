"""Tests for the provider registry: names, aliases, bare-name inference, default model, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import chatstream_cli
from chatstream_cli import providers
from chatstream_cli.errors import UnknownModelError
from chatstream_cli.providers import BUILTIN_NOTICE, ProviderSpec, build, register, resolve
from chatstream_cli.providers.builtin import BuiltinChatModel
from chatstream_cli.runnable import ModelSettings

VENDOR_KEYS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
VENDOR_DEFAULTS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-4o-mini"}


def stand_in(name: str, **details: object) -> ProviderSpec:
    return ProviderSpec(
        name=name, target="chatstream_cli.providers.builtin:BuiltinChatModel", description="a stand-in", **details
    )


@pytest.fixture(autouse=True)
def private_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the registry for each test, with anthropic and openai in it even before their modules are."""
    monkeypatch.setattr(providers, "PROVIDERS", dict(providers.PROVIDERS))
    monkeypatch.setattr(providers, "ALIASES", dict(providers.ALIASES))
    for name, key_env in VENDOR_KEYS.items():
        providers.PROVIDERS.setdefault(name, stand_in(name, key_env=key_env, default_model=VENDOR_DEFAULTS[name]))


def keys_for(*names: str) -> Callable[[ProviderSpec], str | None]:
    return lambda spec: "sk-test" if spec.name in names else None


def full_name(name: str | None, **kwargs: object) -> str:
    kwargs.setdefault("env", {})
    kwargs.setdefault("key_lookup", keys_for())
    return resolve(name, **kwargs).full_name  # type: ignore[arg-type]


# --- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("builtin:poet", "builtin:poet"),
        ("builtin:echo", "builtin:echo"),
        ("openai:gpt-4o", "openai:gpt-4o"),
        ("anthropic:claude-3-haiku-20240307", "anthropic:claude-3-haiku-20240307"),
        ("openai:some-future-model", "openai:some-future-model"),  # open catalogue: any id goes
    ],
)
def test_provider_colon_model(name: str, expected: str) -> None:
    assert full_name(name) == expected


def test_provider_alone_means_its_default_model() -> None:
    assert full_name("builtin:") == "builtin:poet"


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("claude-3-haiku-20240307", "anthropic"),
        ("claude-sonnet-4-5", "anthropic"),
        ("gpt-4o-mini", "openai"),
        ("o1-preview", "openai"),
        ("o3", "openai"),
        ("o4-mini", "openai"),
        ("chatgpt-4o-latest", "openai"),
    ],
)
def test_bare_names_imply_the_provider(name: str, provider: str) -> None:
    resolved = resolve(name, env={})
    assert (resolved.provider.name, resolved.model) == (provider, name)


@pytest.mark.parametrize("name", ["gpt4", "llama3", "mistral-large"])
def test_other_bare_names_are_errors(name: str) -> None:
    with pytest.raises(UnknownModelError, match="provider:model"):
        resolve(name, env={})


def test_builtin_aliases() -> None:
    assert full_name("poet") == "builtin:poet"
    assert full_name("echo") == "builtin:echo"


def test_alias_chains_resolve_through_registry_and_user_aliases() -> None:
    providers.ALIASES["verse"] = "builtin:poet"
    user = {"quick": "rhyme", "rhyme": "verse", "mini": "gpt-4o-mini"}
    assert full_name("quick", aliases=user) == "builtin:poet"
    assert full_name("mini", aliases=user) == "openai:gpt-4o-mini"


def test_user_alias_overrides_a_built_in_one() -> None:
    assert full_name("poet", aliases={"poet": "builtin:echo"}) == "builtin:echo"


def test_alias_cycle_is_an_error_not_a_hang() -> None:
    with pytest.raises(UnknownModelError):
        resolve("ping", aliases={"ping": "pong", "pong": "ping"}, env={})


def test_register_qualifies_bare_alias_targets() -> None:
    register(stand_in("local"), aliases={"tiny": "tiny-1b", "other": "builtin:echo"})
    assert providers.ALIASES["tiny"] == "local:tiny-1b"
    assert providers.ALIASES["other"] == "builtin:echo"
    assert full_name("tiny") == "local:tiny-1b"


# --- the default model ------------------------------------------------------------------------------


def test_no_model_and_no_key_is_builtin_poet_with_a_notice() -> None:
    resolved = resolve(None, env={}, key_lookup=keys_for())
    assert resolved.full_name == "builtin:poet"
    assert resolved.notice == BUILTIN_NOTICE
    assert "ANTHROPIC_API_KEY" in resolved.notice and "OPENAI_API_KEY" in resolved.notice


def test_openai_key_picks_openai() -> None:
    resolved = resolve(None, env={}, key_lookup=keys_for("openai"))
    assert resolved.full_name == f"openai:{providers.PROVIDERS['openai'].default_model}"
    # The default changed because a key appeared: a person on a terminal is told (stderr notice).
    assert (
        resolved.notice is not None and f"using {resolved.full_name}, since a key for openai is set" in resolved.notice
    )
    assert resolved.source == "key"


def test_anthropic_key_beats_openai_key() -> None:
    assert full_name(None, key_lookup=keys_for("openai", "anthropic")) == (
        f"anthropic:{providers.PROVIDERS['anthropic'].default_model}"
    )


def test_keys_come_from_the_environment_by_default() -> None:
    env = {VENDOR_KEYS["openai"]: "sk-from-env"}
    assert resolve(None, env=env).provider.name == "openai"
    assert resolve(None, env={}).full_name == "builtin:poet"


def test_config_default_beats_keys() -> None:
    assert full_name(None, default_model="echo", key_lookup=keys_for("anthropic")) == "builtin:echo"


def test_chatstream_model_env_beats_config_default() -> None:
    assert full_name(None, env={"CHATSTREAM_MODEL": "builtin:echo"}, default_model="openai:gpt-4o") == "builtin:echo"


def test_explicit_name_beats_everything() -> None:
    assert (
        full_name("poet", env={"CHATSTREAM_MODEL": "builtin:echo"}, default_model="echo", key_lookup=keys_for("openai"))
        == "builtin:poet"
    )


def test_explicit_choice_has_no_notice() -> None:
    assert resolve("builtin:poet", env={}).notice is None


# --- errors -----------------------------------------------------------------------------------------


def test_unknown_provider_names_what_exists() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve("nosuch:model", env={})
    message = str(caught.value)
    assert "nosuch" in message
    assert "builtin" in message
    assert caught.value.exit_code == 3


def test_misspelt_provider_gets_a_close_match() -> None:
    with pytest.raises(UnknownModelError, match="did you mean builtin"):
        resolve("bultin:poet", env={})


def test_unknown_builtin_model_names_close_matches() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve("builtin:peot", env={})
    assert "did you mean poet" in str(caught.value)


def test_unknown_builtin_model_with_no_close_match_lists_all() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve("builtin:xyzzy", env={})
    assert "echo" in str(caught.value) and "poet" in str(caught.value)


def test_unknown_bare_name_suggests_a_close_alias() -> None:
    with pytest.raises(UnknownModelError, match="poet"):
        resolve("poett", env={})


# --- building ---------------------------------------------------------------------------------------


def test_get_model_is_exported_and_builds_a_ready_model() -> None:
    model = chatstream_cli.get_model("builtin:echo", delay_ms=0, max_tokens=3)
    assert isinstance(model, BuiltinChatModel)
    assert model.model == "echo"
    assert (model.settings.max_tokens, model.settings.options) == (3, {"delay_ms": 0})
    assert model.invoke("one two three four").content == "one two three"


def test_get_model_without_a_name_uses_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSTREAM_MODEL", "builtin:echo")
    assert chatstream_cli.get_model(delay_ms=0).model == "echo"


def test_build_passes_the_settings() -> None:
    settings = ModelSettings(max_tokens=2, options={"delay_ms": 0})
    model = build(resolve("echo", env={}), settings)
    assert model.invoke("a b c").content == "a b"


@pytest.mark.parametrize(("name", "expected"), [("builtin", "builtin:poet"), ("openai", "openai:gpt-4o-mini")])
def test_a_provider_name_alone_is_its_default_model(name: str, expected: str) -> None:
    assert resolve(name).full_name == expected
