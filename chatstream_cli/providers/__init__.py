"""The provider registry: names to lazily imported model classes, aliases, model resolution.

Nothing here imports a provider module until a model of that provider is built, so listing
providers or resolving a name never pays for the anthropic SDK or httpx.

Providers other packages add are read from the ``chatstream.providers`` entry points, and only for a
name that is not built in (:func:`plugin_provider`), so start-up never scans the installed packages.

The registry reads the settings (config.toml's ``[providers.NAME]``, ``default_model`` and aliases;
the stored keys), never the other way round: ``active_config`` loads the file and makes its
providers known, and the checks that need provider names (``review_config``) live here.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UnknownModelError, did_you_mean
from ..keys import key_for, key_source

if TYPE_CHECKING:
    from ..config import Config, Problem, ProviderConfig
    from ..runnable import ChatModel


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What the registry knows about a provider without importing it."""

    name: str
    target: str  # "package.module:ClassName"
    description: str
    key_env: str | None = None
    #: Further variables the key may be in, looked at after ``key_env`` (Gemini: GOOGLE_API_KEY).
    also_key_envs: tuple[str, ...] = ()
    default_model: str | None = None
    models: tuple[str, ...] = ()
    #: Only these models exist (the built-in ones); other providers accept any id.
    closed_catalog: bool = False
    base_url: str | None = None
    base_url_env: str | None = None
    #: A variable naming the server as ``[scheme://]host[:port]``, as OLLAMA_HOST does (after base_url_env).
    host_env: str | None = None
    needs_key: bool = True
    temperature_max: float = 2.0
    defaults: dict[str, Any] = field(default_factory=dict)
    #: The kinds of attachment (-a) the provider takes: "image", "pdf".
    attachment_kinds: frozenset[str] = frozenset({"image"})
    #: Keyword arguments for the model class, e.g. which OpenAI-compatible preset it talks to.
    init_args: dict[str, Any] = field(default_factory=dict)
    #: The distribution a plugin provider comes from (None: built in).
    package: str | None = None
    #: Models served by another class than ``target`` (``vertex:gemini-*`` is Gemini's, not Claude's).
    routes: tuple[Route, ...] = ()
    #: config.toml's ``headers`` for this provider, sent with every request ("$NAME" values unread yet).
    headers: dict[str, str] = field(default_factory=dict)

    def route(self, model: str) -> Route | None:
        return next((route for route in self.routes if model.startswith(route.prefix)), None)

    def load(self, model: str = "") -> type[ChatModel]:
        route = self.route(model)
        module_name, _, class_name = (route.target if route else self.target).partition(":")
        return getattr(importlib.import_module(module_name), class_name)


@dataclass(frozen=True, slots=True)
class Route:
    """The models of a provider, named by a prefix, that another class serves."""

    prefix: str
    target: str
    temperature_max: float = 2.0


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    provider: ProviderSpec
    model: str
    #: Said on stderr (when it is a terminal) when the model was chosen for the user.
    notice: str | None = None
    #: Why this model: "name" (asked for by name), "CHATSTREAM_MODEL", "config", "key" or "fallback".
    source: str = "name"

    @property
    def full_name(self) -> str:
        return f"{self.provider.name}:{self.model}"

    @property
    def temperature_max(self) -> float:
        route = self.provider.route(self.model)
        return route.temperature_max if route else self.provider.temperature_max


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
    ("gemini-", "gemini"),
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
    providers: Mapping[str, ProviderSpec] | None = None,
) -> ResolvedModel:
    """Turn ``provider:model``, a provider, a bare name, an alias or nothing into a provider and model id."""
    env = os.environ if env is None else env
    providers = PROVIDERS if providers is None else providers
    lookup = key_lookup or (lambda spec: key_for(spec, env))
    source = "name"
    if not name and env.get("CHATSTREAM_MODEL"):
        name, source = env["CHATSTREAM_MODEL"], "CHATSTREAM_MODEL"
    elif not name:
        name, source = default_model, "config"
    if not name:
        return _default_model(lookup, providers)
    return dataclasses.replace(_named(name, {**ALIASES, **(aliases or {})}, providers), source=source)


def _named(name: str, table: Mapping[str, str], providers: Mapping[str, ProviderSpec]) -> ResolvedModel:
    seen = set()
    while name in table and name not in seen:  # aliases may point at aliases
        seen.add(name)
        name = table[name]
    provider_name, sep, model = name.partition(":")
    if sep or name in providers:  # `-m ollama` is `-m ollama:`, the provider's default model
        return _in_provider(provider_name, model, providers)
    for prefix, provider_name in _PREFIXES:
        if name.startswith(prefix):
            return ResolvedModel(providers[provider_name], name)
    if providers is PROVIDERS and plugin_provider(name) is not None:  # `-m reverse`: a plugin's default model
        return _in_provider(name, "", providers)
    raise UnknownModelError(
        f"unknown model {name!r}",
        "use provider:model, e.g. anthropic:claude-haiku-4-5 or builtin:poet; "
        + did_you_mean(name, [*table, *providers, *all_model_names(providers)]).replace(
            "choose one of", "known models"
        ),
    )


class NoDefaultModel(UnknownModelError):
    """A provider named alone that has no default model (a local server's ids are its own): the caller
    may ask the server which it serves (commands/served_model.py)."""

    def __init__(self, spec: ProviderSpec) -> None:
        super().__init__(
            f"provider {spec.name!r} has no default model",
            f"use {spec.name}:MODEL, or set [providers.{spec.name}] default_model in the config file",
        )
        self.provider = spec


def provider_named(name: str) -> ProviderSpec:
    """The provider called ``name``; an UnknownModelError naming the close ones otherwise."""
    spec = PROVIDERS.get(name) or plugin_provider(name)
    if spec is None:
        raise UnknownModelError(f"unknown provider {name!r}", did_you_mean(name, PROVIDERS))
    return spec


def _in_provider(provider_name: str, model: str, providers: Mapping[str, ProviderSpec]) -> ResolvedModel:
    spec = providers.get(provider_name)
    if spec is None and providers is PROVIDERS:
        spec = plugin_provider(provider_name)
    if spec is None:
        raise UnknownModelError(
            f"unknown provider {provider_name!r}",
            did_you_mean(provider_name, providers).replace("choose one of", "providers are")
            + "; `chatstream models` lists them",
        )
    model = model or spec.default_model or ""
    if not model:
        raise NoDefaultModel(spec)
    if spec.closed_catalog and model not in spec.models:
        raise UnknownModelError(
            f"unknown model {spec.name}:{model}",
            did_you_mean(model, spec.models).replace("choose one of", f"{spec.name} has"),
        )
    return ResolvedModel(spec, model)


def _default_model(lookup: KeyLookup, providers: Mapping[str, ProviderSpec]) -> ResolvedModel:
    for provider_name in ("anthropic", "openai"):
        spec = providers.get(provider_name)
        if spec and spec.default_model and lookup(spec):
            notice = (
                f"using {spec.name}:{spec.default_model}, since a key for {spec.name} is set; "
                "-m or default_model choose another (`chatstream models` says which is used and why)"
            )
            return ResolvedModel(spec, spec.default_model, notice=notice, source="key")
    return ResolvedModel(providers["builtin"], "poet", notice=BUILTIN_NOTICE, source="fallback")


def all_model_names(providers: Mapping[str, ProviderSpec] | None = None) -> list[str]:
    providers = PROVIDERS if providers is None else providers
    return [f"{spec.name}:{model}" for spec in providers.values() for model in spec.models]


def resolve_configured(name: str | None, config: Config, env: Mapping[str, str] | None = None) -> ResolvedModel:
    """``resolve`` with config.toml's aliases and default_model; a name from the file that fails says so."""
    try:
        return resolve(name, aliases=config.aliases, default_model=config.default_model, env=env)
    except NoDefaultModel:
        raise
    except UnknownModelError as exc:
        location = _config_location_of(name, config, os.environ if env is None else env)
        if location is None:
            raise
        raise UnknownModelError(
            f"{exc.message}, from {'.'.join(location)} in {config.where(location)}", exc.hint
        ) from None


def _config_location_of(name: str | None, config: Config, env: Mapping[str, str]) -> tuple[str, ...] | None:
    """The setting of config.toml a name to resolve comes from: default_model, an alias, or none."""
    if not name and not env.get("CHATSTREAM_MODEL") and config.default_model:
        return ("default_model",)
    if name in config.aliases:
        return ("aliases", name)
    return None


def default_reason(resolved: ResolvedModel, config: Config) -> str:
    """Why ``chatstream PROMPT`` (no -m) uses ``resolved``, for `models`."""
    if resolved.source == "CHATSTREAM_MODEL":
        return "the CHATSTREAM_MODEL environment variable names it"
    if resolved.source == "config":
        return f"default_model in {config.where(('default_model',))}"
    if resolved.source == "key":
        return f"a key for {resolved.provider.name} is set ({key_source(resolved.provider)})"
    return "the offline fallback: no key for anthropic or openai, no default_model, no CHATSTREAM_MODEL"


def build(resolved: ResolvedModel, settings: Any = None) -> ChatModel:
    """Instantiate the model class of a resolved name (imports the provider module now)."""
    return resolved.provider.load(resolved.model)(resolved.model, settings, **resolved.provider.init_args)


def get_model(name: str | None = None, **settings: Any) -> ChatModel:
    """A ready chat model for ``name`` (see cli.md "Models"), e.g. ``get_model("claude-3-haiku")``.

    As on the command line, config.toml's aliases, ``default_model`` and ``[providers.NAME]`` count;
    the file is read on each call (not at import, which stays cheap).
    """
    resolved = resolve_configured(name, active_config())
    return resolved.provider.load(resolved.model)(resolved.model, **resolved.provider.init_args, **settings)


# -- config.toml: its providers made known, its names checked ------------------------------------

_REPLACED: dict[
    str, ProviderSpec | None
] = {}  # provider name -> the spec a config replaced (None: the config added it)


def active_config() -> Config:
    """Load config.toml and make its providers known: what every command does first."""
    from ..config import load_config

    config = load_config()
    activate(config)
    return config


def activate(config: Config) -> None:
    """Register the config's providers, undoing what an earlier config registered in this process."""
    base = _built_in()
    problem = _tables_problem(config, base)
    if problem is not None:
        raise config.error_at(*problem)
    configured = _with_config(config, base)
    _REPLACED.clear()
    _REPLACED.update({name: base.get(name) for name in config.providers})
    PROVIDERS.clear()
    PROVIDERS.update(configured)


def known_provider_names() -> set[str]:
    """The providers chatstream itself defines (not those a config file added)."""
    return set(_built_in())


def review_config(config: Config, location: tuple[str, ...]) -> Problem:
    """What `config set` refuses beyond the file's own rules: a table of no known provider, and a
    default_model or alias (the one at ``location``) that names no model."""
    base = _built_in()
    problem = _tables_problem(config, base)
    if problem is not None or location not in (("default_model",), *(("aliases", name) for name in config.aliases)):
        return problem
    name = config.default_model if location == ("default_model",) else config.aliases[location[1]]
    try:
        resolve(
            name, aliases=config.aliases, env={}, key_lookup=lambda spec: None, providers=_with_config(config, base)
        )
    except NoDefaultModel:  # a provider alone: its server chooses when the model is used
        return None
    except UnknownModelError as exc:
        return location, str(exc)
    return None


def _built_in() -> dict[str, ProviderSpec]:
    """The registered providers as they are without any config file."""
    table = {name: _REPLACED.get(name, spec) for name, spec in PROVIDERS.items()}
    return {name: spec for name, spec in table.items() if spec is not None}


def _tables_problem(config: Config, base: Mapping[str, ProviderSpec]) -> Problem:
    for provider in config.providers.values():
        if provider.kind is None and provider.name not in base:
            hint = 'add kind = "openai" and a base_url to declare an OpenAI-compatible endpoint'
            return ("providers", provider.name), f"[providers.{provider.name}] names no known provider ({hint})"
    return None


def _with_config(config: Config, base: Mapping[str, ProviderSpec]) -> dict[str, ProviderSpec]:
    """``base`` with the config's ``[providers.NAME]`` tables applied (nothing is registered)."""
    table = dict(base)
    for provider in config.providers.values():
        table[provider.name] = _spec_for(provider, base.get(provider.name))
    return table


def _spec_for(provider: ProviderConfig, known: ProviderSpec | None) -> ProviderSpec:
    from ..config import CONFIG_NAME, OPENAI_KIND

    spec = known
    if provider.kind == OPENAI_KIND or spec is None:
        spec = openai_compatible(
            provider.name,
            base_url=provider.base_url or "",
            description=f"OpenAI-compatible endpoint from {CONFIG_NAME}",
            key_env=provider.api_key_env,
            needs_key=bool(provider.api_key_env),
        )
    changes: dict[str, Any] = {}
    if provider.base_url:
        changes["base_url"] = provider.base_url
    if provider.api_key_env:
        changes["key_env"] = provider.api_key_env
    if provider.default_model:
        changes["default_model"] = provider.default_model
    if provider.models:
        changes["models"] = provider.models
    if provider.stream_usage is not None:
        changes["defaults"] = {**spec.defaults, "stream_usage": provider.stream_usage}
    if provider.model_options:
        changes["defaults"] = {**changes.get("defaults", spec.defaults), **provider.model_options}
    if provider.headers:
        changes["headers"] = {**spec.headers, **provider.headers}
    return dataclasses.replace(spec, **changes)


# -- extra request headers: config.toml's, then --header ---------------------------------------

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))|\$\$")


def request_headers(provider: str, given: Mapping[str, str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers to add to a provider's requests: its config.toml ``headers``, then ``given`` (--header,
    ``get_model(headers=...)``), which replace them whatever the case; ``$NAME`` or ``${NAME}`` in a value is
    that environment variable (``$$`` is a dollar), so a secret need not be written in the file."""
    env = os.environ if env is None else env
    spec = PROVIDERS.get(provider)
    merged: dict[str, tuple[str, str]] = {}
    for origin, headers in ((f"[providers.{provider}] headers", spec.headers if spec else {}), ("--header", given)):
        for name, value in headers.items():
            merged[name.lower()] = (name, _expanded(value, name, origin, env))
    return dict(merged.values())


def _expanded(value: str, name: str, origin: str, env: Mapping[str, str]) -> str:
    def variable(match: re.Match[str]) -> str:
        wanted = match.group(1) or match.group(2)
        if wanted is None:
            return "$"
        if wanted not in env:
            raise ConfigError(
                f"the {name} header ({origin}) names ${wanted}, which is not set",
                f"export {wanted}=... or change the header",
            )
        return env[wanted]

    return _VARIABLE.sub(variable, value)


register(
    ProviderSpec(
        name="builtin",
        target="chatstream_cli.providers.builtin:BuiltinChatModel",
        description="offline models shipped with chatstream",
        models=("poet", "echo"),
        default_model="poet",
        closed_catalog=True,
        needs_key=False,
        attachment_kinds=frozenset({"image", "pdf"}),
    ),
    aliases={"poet": "poet", "echo": "echo"},
)

# Current model ids from anthropic 2.14 (types/model.py, minus _data.DEPRECATED_MODELS); any other id is passed on.
register(
    ProviderSpec(
        name="anthropic",
        target="chatstream_cli.providers.anthropic.model:AnthropicChatModel",
        description="Claude: the Messages API directly (-o transport sdk: through the anthropic SDK)",
        key_env="ANTHROPIC_API_KEY",
        base_url_env="ANTHROPIC_BASE_URL",
        temperature_max=1.0,
        attachment_kinds=frozenset({"image", "pdf"}),
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
        target="chatstream_cli.providers.anthropic.bedrock:BedrockChatModel",
        description="Claude on Amazon Bedrock (AWS credentials; pip install chatstream[bedrock])",
        needs_key=False,
        temperature_max=1.0,
        default_model="anthropic.claude-haiku-4-5-20251001-v1:0",
    )
)
register(
    ProviderSpec(
        name="vertex",
        target="chatstream_cli.providers.anthropic.vertex:VertexChatModel",
        description="Claude and Gemini on Google Vertex AI (gcloud credentials; pip install chatstream[vertex])",
        needs_key=False,
        temperature_max=1.0,
        default_model="claude-haiku-4-5@20251001",
        routes=(Route("gemini-", "chatstream_cli.providers.gemini.vertex:GeminiVertexChatModel"),),
    )
)

register(
    ProviderSpec(
        name="gemini",
        target="chatstream_cli.providers.gemini.model:GeminiChatModel",
        description="Gemini: the Gemini API over httpx",
        key_env="GEMINI_API_KEY",
        also_key_envs=("GOOGLE_API_KEY",),
        base_url_env="GOOGLE_GEMINI_BASE_URL",
        attachment_kinds=frozenset({"image", "pdf"}),
        default_model="gemini-2.5-flash",
        models=(
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-2.5-pro",
            "gemini-3-pro-preview",
            "gemini-3-flash-preview",
        ),
    )
)


_OPENAI_MODEL = "chatstream_cli.providers.openai.chat:ChatOpenAI"


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
        attachment_kinds=frozenset({"image", "pdf"}),
        default_model="gpt-4o-mini",
        models=("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini"),
    )
)
# Local servers need no key (one is sent when given); their model ids are whatever the server serves.
for _name, _url, _key_env, _host_env, _what in (
    ("ollama", "http://localhost:11434/v1", "OLLAMA_API_KEY", "OLLAMA_HOST", "Ollama"),
    ("lmstudio", "http://localhost:1234/v1", None, None, "LM Studio"),
    ("vllm", "http://localhost:8000/v1", "VLLM_API_KEY", None, "vLLM (vllm serve MODEL)"),
    ("llamacpp", "http://127.0.0.1:8080/v1", "LLAMA_API_KEY", None, "llama.cpp's llama-server"),
):
    register(
        openai_compatible(
            _name,
            base_url=_url,
            description=f"{_what}, local",
            key_env=_key_env,
            host_env=_host_env,
            needs_key=False,
        )
    )
register(
    ProviderSpec(
        name="azure",
        target="chatstream_cli.providers.openai.azure:AzureChatOpenAI",
        description="Azure OpenAI: a deployment's Chat Completions (api-key, or Entra ID with -o auth entra)",
        key_env="AZURE_OPENAI_API_KEY",
        base_url_env="AZURE_OPENAI_ENDPOINT",
        needs_key=False,  # Entra ID needs none; the model asks for a key when it uses one
        attachment_kinds=frozenset({"image", "pdf"}),
    )
)
register(
    openai_compatible(
        "openrouter",
        base_url="https://openrouter.ai/api/v1",
        description="OpenRouter (models named vendor/model)",
        key_env="OPENROUTER_API_KEY",
        default_model="openrouter/auto",  # OpenRouter's own router: it picks a model for each prompt
        attachment_kinds=frozenset({"image", "pdf"}),
    )
)


# -- the plugin door: providers other packages add ---------------------------------------------------

PLUGIN_GROUP = "chatstream.providers"
"""The entry-point group: each entry names a provider and its model class (``name = "package.module:Class"``)."""


def plugin_provider(name: str) -> ProviderSpec | None:
    """The plugin provider called ``name``, registered now; None when no installed package offers one.
    Entry points are read only here, for a name that is not built in, so start-up never pays for them."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=PLUGIN_GROUP, name=name):
        spec = plugin_spec(entry)
        register(spec)
        return spec
    return None


def plugin_spec(entry: Any) -> ProviderSpec:
    """The spec of one entry point, from its model class's attributes; a ConfigError when it cannot load."""
    package = entry.dist.name if entry.dist is not None else entry.value.partition(".")[0]
    try:
        model_class = entry.load()
    except Exception as exc:  # a broken plugin is the plugin's fault, said in one line
        from ..errors import ConfigError

        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ConfigError(
            f"the provider plugin {entry.name!r} (package {package}) cannot be loaded: {detail}",
            f"reinstall or update {package}, or uninstall it",
        ) from None
    return ProviderSpec(
        name=entry.name,
        target=entry.value,
        description=getattr(model_class, "description", None) or f"provider plugin from {package}",
        key_env=getattr(model_class, "key_env", None),
        default_model=getattr(model_class, "default_model", None),
        models=tuple(getattr(model_class, "models", ())),
        needs_key=bool(getattr(model_class, "needs_key", False)),
        attachment_kinds=frozenset(getattr(model_class, "attachment_kinds", ())),
        package=package,
    )


def plugin_providers(warn: Callable[[str], None]) -> list[ProviderSpec]:
    """Every installed plugin provider not shadowed by a built-in one (``models`` lists them); one that cannot
    load is one warning line, and the others are still listed."""
    from importlib.metadata import entry_points

    from ..errors import ConfigError

    specs = []
    for entry in entry_points(group=PLUGIN_GROUP):
        if entry.name in PROVIDERS and PROVIDERS[entry.name].package is None:
            continue
        try:
            spec = plugin_spec(entry)
        except ConfigError as exc:
            warn(exc.message)
            continue
        register(spec)
        specs.append(spec)
    return specs
