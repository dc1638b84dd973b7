"""``chatstream models [--json] [--remote] [-p NAME]``: providers, their models and aliases, which have a key,
and the one model ``chatstream PROMPT`` uses now, with why."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .groups import subcommand_app

if TYPE_CHECKING:
    from ..config import Config
    from ..providers import ProviderSpec

REMOTE_TIMEOUT_S = 10.0


def models_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of text.")] = False,
    remote: Annotated[
        bool, typer.Option("--remote", help="Also ask each usable provider's /v1/models what it serves.")
    ] = False,
    provider: Annotated[
        str | None,
        typer.Option(
            "-p", "--provider", metavar="NAME", help="Only this provider (with --remote: an error if it cannot)."
        ),
    ] = None,
) -> None:
    """Providers, their models and aliases; which providers have a key."""
    from ..errors import ChatstreamError, format_error
    from ..providers import PROVIDERS, active_config, plugin_providers, provider_named

    config = active_config()
    if provider:
        specs = [provider_named(provider)]
    else:
        plugins = plugin_providers(lambda note: print(f"chatstream: warning: {note}", file=sys.stderr))
        specs = [*(spec for spec in PROVIDERS.values() if spec not in plugins), *plugins]
    listing = catalog(specs, config)
    failure: ChatstreamError | None = None
    if remote:
        for entry, spec in zip(listing["providers"], specs, strict=True):
            if provider or _usable(entry, spec):
                try:
                    entry["remote_models"] = _remote(spec)
                except ChatstreamError as exc:
                    entry["remote_error"] = str(exc)
                    failure = exc
    print(json.dumps(listing, indent=2) if as_json else render_text(listing))
    if provider and failure is not None:  # asked about one provider: not knowing is an error
        print(format_error(failure), file=sys.stderr)
        raise typer.Exit(int(failure.exit_code))


def catalog(specs: list[ProviderSpec], config: Config) -> dict[str, Any]:
    """What `models` shows, as plain data (the --json output)."""
    from ..keys import key_source
    from ..providers import ALIASES

    default = default_entry(config)
    providers = []
    for spec in specs:
        source = key_source(spec)
        providers.append(
            {
                "name": spec.name,
                "description": spec.description,
                "base_url": spec.base_url,
                "key": {
                    "needed": spec.needs_key,
                    "env": source.detail if source and source.kind == "env" else spec.key_env,
                    "source": source.kind if source else None,
                },
                "default_model": spec.default_model,
                "models": list(spec.models),
                "any_model": not spec.closed_catalog,
                "package": spec.package,
            }
        )
    aliases = {**ALIASES, **config.aliases}
    names = {spec.name for spec in specs}
    return {
        **default,
        "providers": providers,
        "aliases": {name: aliases[name] for name in sorted(aliases) if aliases[name].partition(":")[0] in names},
    }


def default_entry(config: Config) -> dict[str, Any]:
    """The model `chatstream PROMPT` uses now (no -m) and why: a variable, the config, a key or the fallback."""
    from ..errors import UnknownModelError
    from ..providers import NoDefaultModel, default_reason, resolve_configured

    named_by = "CHATSTREAM_MODEL" if os.environ.get("CHATSTREAM_MODEL") else "config"
    try:
        resolved = resolve_configured(None, config)
    except NoDefaultModel as exc:  # asking the server is for when it is used, not for a listing
        reason = f"{exc.provider.name} alone: the one model its server serves, or the one of them used last"
        return {"default_model": exc.provider.name, "default_source": named_by, "default_reason": reason}
    except UnknownModelError as exc:  # a broken default: `models` is where one looks into it
        return {"default_model": None, "default_source": named_by, "default_reason": str(exc)}
    return {
        "default_model": resolved.full_name,
        "default_source": resolved.source,
        "default_reason": default_reason(resolved, config),
    }


def render_text(listing: dict[str, Any]) -> str:
    """The listing for people: a block per provider, then the aliases, then the default and why."""
    lines = []
    for entry in listing["providers"]:
        where = f", {entry['base_url']}" if entry["base_url"] else ""
        plugin = f" [plugin: {entry['package']}]" if entry.get("package") else ""
        lines.append(f"{entry['name']}: {entry['description']}{where}{plugin} ({_key_text(entry)})")
        for model in entry["models"]:
            full_name = f"{entry['name']}:{model}"
            marks = ["default"] if full_name == listing["default_model"] else []
            marks += [f"-m {entry['name']}"] if model == entry["default_model"] else []
            lines.append(f"  {full_name}" + (f" ({', '.join(marks)})" if marks else ""))
        if entry["any_model"]:
            lines.append(f"  {entry['name']}:MODEL (any model id the endpoint serves)")
        if "remote_models" in entry:
            served = entry["remote_models"]
            lines.append(f"  served now: {', '.join(served)}" if served else "  served now: none")
        if "remote_error" in entry:
            lines.append(f"  served now: unknown: {entry['remote_error']}")
    if listing["aliases"]:
        lines += ["", "aliases:"]
        lines += [f"  {name} = {target}" for name, target in listing["aliases"].items()]
    used = listing["default_model"] or "nothing"
    lines += ["", f'default: chatstream "hi" uses {used}: {listing["default_reason"]}']
    return "\n".join(lines)


def _key_text(entry: dict[str, Any]) -> str:
    key = entry["key"]
    if key["source"] == "env":
        return f"key: env {key['env']}"
    if key["source"] == "file":
        return "key: stored (chatstream keys list)"
    if not key["needed"]:
        return "no key needed"
    from ..keys import how_to_set_key

    return f"no key: {how_to_set_key(entry['name'], key['env'])}"


def _usable(entry: dict[str, Any], spec: ProviderSpec) -> bool:
    """Whether --remote asks this provider without being told to: a network one with a key or none needed."""
    return spec.name != "builtin" and (entry["key"]["source"] is not None or not spec.needs_key)


def _remote(spec: ProviderSpec) -> list[str]:
    from ..errors import UsageError
    from ..providers.openai.chat import remote_models

    if spec.closed_catalog:
        raise UsageError(f"{spec.name} is not a network provider", "its models are listed above")
    if spec.name == "gemini":
        from ..providers.gemini.model import remote_models as gemini_models

        return gemini_models(REMOTE_TIMEOUT_S)
    if spec.name == "azure":
        raise UsageError(
            "Azure OpenAI does not list a resource's deployments to an API key",
            "see them in the Azure portal or with `az cognitiveservices account deployment list`",
        )
    return remote_models(spec, REMOTE_TIMEOUT_S)


app = subcommand_app("models", models_command)
