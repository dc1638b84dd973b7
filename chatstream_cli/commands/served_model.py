"""``-m ollama``: the model of a provider named alone that has no default of its own (a local server, an
OpenAI-compatible endpoint from config.toml) is the one its server lists, or the one used last of those."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UnknownModelError
from ..providers import NoDefaultModel, resolve_configured

if TYPE_CHECKING:
    from ..config import Config
    from ..providers import ProviderSpec, ResolvedModel


def model_named(name: str | None, config: Config, timeout: float | None, base_url: str | None) -> ResolvedModel:
    """What ``name`` (or the defaults) stands for; a provider alone with no default model asks its server
    (at ``base_url``: --base-url, waiting ``timeout`` seconds at most)."""
    try:
        return resolve_configured(name, config)
    except NoDefaultModel as exc:
        return served_default(exc.provider, timeout, base_url)


def served_default(spec: ProviderSpec, timeout: float | None, base_url: str | None) -> ResolvedModel:
    """The server's only model, else the one of its models a conversation went on with last; an
    UnknownModelError naming them (and ``models --remote``) when neither settles it."""
    from ..providers import ResolvedModel
    from ..providers.openai.chat import remote_models

    served = remote_models(spec, timeout, base_url)
    listing = f"`chatstream models --remote -p {spec.name}` lists them"
    if len(served) == 1:
        return ResolvedModel(spec, served[0], notice=f"using {spec.name}:{served[0]}, the one model it serves")
    if not served:
        raise UnknownModelError(
            f"{spec.name} serves no model yet", f"load or pull one there, then use -m {spec.name} again"
        )
    last = _used_last(spec.name, served)
    if last is None:
        shown = ", ".join(served[:8]) + (f" and {len(served) - 8} more" if len(served) > 8 else "")
        raise UnknownModelError(
            f"{spec.name} serves {len(served)} models ({shown}) and has no default",
            f"choose one with -m {spec.name}:MODEL, or set [providers.{spec.name}] default_model in the config "
            f"file; {listing}",
        )
    return ResolvedModel(
        spec,
        last,
        notice=f"using {spec.name}:{last}, the one of its {len(served)} models used last ({listing})",
    )


def _used_last(provider: str, served: list[str]) -> str | None:
    """The served model the history saw last; None without a usable history (it only breaks a tie)."""
    from .. import history

    try:
        found = history.latest_used([f"{provider}:{model}" for model in served])
    except history.HistoryError:
        return None
    return found.partition(":")[2] if found else None
