"""The provider registry: names to lazily imported model classes, aliases, model resolution.

Nothing here imports a provider module until a model of that provider is built, so listing
providers or resolving a name never pays for the anthropic SDK or httpx.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UnknownModelError, did_you_mean
from ..keys import key_for

if TYPE_CHECKING:
    from ..runnable import ChatModel


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What the registry knows about a provider without importing it."""

    name: str
    target: str  # "package.module:ClassName"
    description: str
    key_env: str | None = None
    default_model: str | None = None
    models: tuple[str, ...] = ()
    #: Only these models exist (the built-in ones); other providers accept any id.
    closed_catalog: bool = False
    base_url: str | None = None
    base_url_env: str | None = None
    needs_key: bool = True
    temperature_max: float = 2.0
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Keyword arguments for the model class, e.g. which OpenAI-compatible preset it talks to.
    init_args: dict[str, Any] = field(default_factory=dict)

    def load(self) -> type[ChatModel]:
        module_name, _, class_name = self.target.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    provider: ProviderSpec
    model: str
    #: Said on stderr (when it is a terminal) when the model was chosen for the user.
    notice: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.provider.name}:{self.model}"


PROVIDERS: dict[str, ProviderSpec] = {}
ALIASES: dict[str, str] = {}

# Bare model names that imply a provider (cli.md "Models").
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
)

BUILTIN_NOTICE = (
    "using the offline builtin:poet model; set ANTHROPIC_API_KEY or OPENAI_API_KEY, "
    "run `chatstream keys set NAME`, or pass -m provider:model to use a real model"
)


def register(spec: ProviderSpec, aliases: Mapping[str, str] | None = None) -> None:
    PROVIDERS[spec.name] = spec
    for alias, target in (aliases or {}).items():
        ALIASES[alias] = target if ":" in target else f"{spec.name}:{target}"


KeyLookup = Callable[[ProviderSpec], "str | None"]


def resolve(
    name: str | None,
    *,
    aliases: Mapping[str, str] | None = None,
    default_model: str | None = None,
    env: Mapping[str, str] | None = None,
    key_lookup: KeyLookup | None = None,
) -> ResolvedModel:
    """Turn ``provider:model``, a bare name, an alias or nothing into a provider and model id."""
    env = os.environ if env is None else env
    lookup = key_lookup or (lambda spec: key_for(spec, env))
    if not name:
        name = env.get("CHATSTREAM_MODEL") or default_model
    if not name:
        return _default_model(lookup)
    table = {**ALIASES, **(aliases or {})}
    seen = set()
    while name in table and name not in seen:  # aliases may point at aliases
        seen.add(name)
        name = table[name]
    provider_name, sep, model = name.partition(":")
    if sep:
        return _in_provider(provider_name, model, table)
    for prefix, provider_name in _PREFIXES:
        if name.startswith(prefix):
            return ResolvedModel(PROVIDERS[provider_name], name)
    raise UnknownModelError(
        f"unknown model {name!r}",
        "use provider:model, e.g. anthropic:claude-haiku-4-5 or builtin:poet; "
        + did_you_mean(name, [*table, *all_model_names()]).replace("choose one of", "known models"),
    )


def provider_named(name: str) -> ProviderSpec:
    """The provider called ``name``; an UnknownModelError naming the close ones otherwise."""
    spec = PROVIDERS.get(name)
    if spec is None:
        raise UnknownModelError(f"unknown provider {name!r}", did_you_mean(name, PROVIDERS))
    return spec


def _in_provider(provider_name: str, model: str, aliases: Mapping[str, str]) -> ResolvedModel:
    spec = PROVIDERS.get(provider_name)
    if spec is None:
        raise UnknownModelError(
            f"unknown provider {provider_name!r}",
            did_you_mean(provider_name, PROVIDERS).replace("choose one of", "providers are")
            + "; `chatstream models` lists them",
        )
    model = model or spec.default_model or ""
    if not model:
        raise UnknownModelError(f"provider {spec.name!r} needs a model name", f"use {spec.name}:MODEL")
    if spec.closed_catalog and model not in spec.models:
        raise UnknownModelError(
            f"unknown model {spec.name}:{model}",
            did_you_mean(model, spec.models).replace("choose one of", f"{spec.name} has"),
        )
    return ResolvedModel(spec, model)


def _default_model(lookup: KeyLookup) -> ResolvedModel:
    for provider_name in ("anthropic", "openai"):
        spec = PROVIDERS.get(provider_name)
        if spec and spec.default_model and lookup(spec):
            return ResolvedModel(spec, spec.default_model)
    return ResolvedModel(PROVIDERS["builtin"], "poet", notice=BUILTIN_NOTICE)


def all_model_names() -> list[str]:
    return [f"{spec.name}:{model}" for spec in PROVIDERS.values() for model in spec.models]


def build(resolved: ResolvedModel, settings: Any = None) -> ChatModel:
    """Instantiate the model class of a resolved name (imports the provider module now)."""
    return resolved.provider.load()(resolved.model, settings, **resolved.provider.init_args)


def get_model(name: str | None = None, **settings: Any) -> ChatModel:
    """A ready chat model for ``name`` (see cli.md "Models"), e.g. ``get_model("claude-3-haiku")``.

    As on the command line, config.toml's aliases, ``default_model`` and ``[providers.NAME]`` count;
    the file is read on each call (not at import, which stays cheap).
    """
    from ..config import active_config

    config = active_config()
    resolved = resolve(name, aliases=config.aliases, default_model=config.default_model)
    return resolved.provider.load()(resolved.model, **resolved.provider.init_args, **settings)


register(
    ProviderSpec(
        name="builtin",
        target="chatstream_cli.providers.builtin:BuiltinChatModel",
        description="offline models shipped with chatstream",
        models=("poet", "echo"),
        default_model="poet",
        closed_catalog=True,
        needs_key=False,
    ),
    aliases={"poet": "poet", "echo": "echo"},
)

# Current model ids from anthropic 2.14 (types/model.py, minus _data.DEPRECATED_MODELS); any other id is passed on.
register(
    ProviderSpec(
        name="anthropic",
        target="chatstream_cli.providers.anthropic:AnthropicChatModel",
        description="Claude: the Messages API directly (-o transport sdk: through the anthropic SDK)",
        key_env="ANTHROPIC_API_KEY",
        base_url_env="ANTHROPIC_BASE_URL",
        temperature_max=1.0,
        default_model="claude-haiku-5-5",
        models=(
            "claude-haiku-5-5",
            "claude-sonnet-5-5",
            "claude-opus-5-5",
            "claude-fable-5-2",
            "claude-mythos-5-2",
            "claude-sonnet-5",
            "claude-opus-5",
            "claude-opus-4-8",
            "claude-opus-4-7",
            "claude-opus-4-6",
            "claude-sonnet-4-6",
            "claude-haiku-4-5",
            "claude-3-haiku-20240307",
        ),
    ),
    aliases={
        "claude-3-haiku": "claude-3-haiku-20240307",  # the reference document's model
        "haiku": "claude-haiku-5-5",
        "sonnet": "claude-sonnet-5-5",
        "opus": "claude-opus-5-5",
        "fable": "claude-fable-5-2",
        "mythos": "claude-mythos-5-2",
    },
)


# Claude on the cloud platforms, through the SDK's clients for them (pip extras [bedrock] and [vertex]).
register(
    ProviderSpec(
        name="bedrock",
        target="chatstream_cli.providers.bedrock:BedrockChatModel",
        description="Claude on Amazon Bedrock (AWS credentials; pip install chatstream[bedrock])",
        needs_key=False,
        temperature_max=1.0,
        default_model="anthropic.claude-haiku-4-5-20251001-v1:0",
    )
)
register(
    ProviderSpec(
        name="vertex",
        target="chatstream_cli.providers.vertex:VertexChatModel",
        description="Claude on Google Vertex AI (gcloud credentials; pip install chatstream[vertex])",
        needs_key=False,
        temperature_max=1.0,
        default_model="claude-haiku-4-5@20251001",
    )
)


_OPENAI_MODEL = "chatstream_cli.providers.openai:ChatOpenAI"


def openai_compatible(name: str, *, base_url: str, description: str, **details: Any) -> ProviderSpec:
    """The spec of an endpoint that speaks OpenAI's Chat Completions (served by ChatOpenAI)."""
    return ProviderSpec(
        name=name,
        target=_OPENAI_MODEL,
        description=description,
        base_url=base_url,
        init_args={"provider": name},
        **details,
    )


register(
    openai_compatible(
        "openai",
        base_url="https://api.openai.com/v1",
        base_url_env="OPENAI_BASE_URL",
        description="OpenAI Chat Completions over httpx",
        key_env="OPENAI_API_KEY",
        default_model="gpt-4o-mini",
        models=("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini"),
    )
)
# Local servers need no key (one is sent when given); their model ids are whatever the server serves.
for _name, _url, _key_env, _what in (
    ("ollama", "http://localhost:11434/v1", "OLLAMA_API_KEY", "Ollama"),
    ("lmstudio", "http://localhost:1234/v1", None, "LM Studio"),
    ("vllm", "http://localhost:8000/v1", "VLLM_API_KEY", "vLLM (vllm serve MODEL)"),
    ("llamacpp", "http://127.0.0.1:8080/v1", "LLAMA_API_KEY", "llama.cpp's llama-server"),
):
    register(openai_compatible(_name, base_url=_url, description=f"{_what}, local", key_env=_key_env, needs_key=False))
register(
    openai_compatible(
        "openrouter",
        base_url="https://openrouter.ai/api/v1",
        description="OpenRouter (models named vendor/model)",
        key_env="OPENROUTER_API_KEY",
    )
)
