"""chatstream: stream chat-model replies into the terminal, token by token.

The Python API mirrors LangChain's Runnable chat models::

    from chatstream_cli import get_model

    chat = get_model("builtin:poet")
    for chunk in chat.stream("Write me a 1 verse song about goldfish on the moon"):
        print(chunk.content, end="|", flush=True)

Importing this package is cheap: the names above are imported when first used (so ``chatstream --help``
loads none of them), and providers when a model is built.

The house, top to bottom. A module imports only from its own layer or the layers below it, nothing
but ``__main__`` imports ``cli``, and there are no circles, not even through a lazy import
(tests/test_architecture.py draws the graph from the source, function-level and TYPE_CHECKING
imports included, and reads the layers from this list)::

    __main__, cli  -- the command line: the one module with Typer's app (commands declare the flags)
    commands  -- one module per subcommand: flags in, plain objects to the layers below; options they share
    chatstream_cli, providers, render, driver, history, prompting, batch, tools  -- models, output, features; the API
    config, keys  -- the settings: config.toml and keys.toml; they know no provider (the registry reads them)
    messages, runnable, events, errors, retry, sse, runs, jsonbody, usage, partial_json, schema, tls,
    defaults, toolspec -- core

``providers`` is the registry and the plugin door (``providers/__init__.py``), one package per wire family
(``anthropic/``: direct, SDK, Bedrock, Vertex; ``openai/``: Chat Completions, its presets and Azure;
``gemini/``: the Gemini API and Vertex), ``google_cloud`` (Vertex's credentials, which two families share)
and ``builtin``; ``render`` one module per output mode; ``driver`` runs one reply into a renderer.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

# Wherever click is installed, `import httpx` also imports httpx's own command-line client (click,
# rich.progress, rich.syntax, pygments): about 40 ms on a quiet machine, 90 ms on a busy one, for a
# program chatstream never runs. None in sys.modules makes that import fail, and httpx then defines
# its stand-in `httpx.main` instead, as it does where click is missing.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from .messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
    from .providers import get_model
    from .runnable import ChatModel, ModelSettings
    from .tools.loop import run_tools

__version__ = "0.2.0"

_PUBLIC = {
    "AIMessage": "messages",
    "AIMessageChunk": "messages",
    "BaseMessage": "messages",
    "HumanMessage": "messages",
    "SystemMessage": "messages",
    "get_model": "providers",
    "ChatModel": "runnable",
    "ModelSettings": "runnable",
    "run_tools": "tools.loop",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(__import__(f"{__name__}.{_PUBLIC[name]}", fromlist=[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "AIMessage",
    "AIMessageChunk",
    "BaseMessage",
    "ChatModel",
    "HumanMessage",
    "ModelSettings",
    "SystemMessage",
    "__version__",
    "get_model",
    "run_tools",
]
