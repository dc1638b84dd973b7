"""chatstream: stream chat-model replies into the terminal, token by token.

The Python API mirrors LangChain's Runnable chat models::

    from chatstream_cli import get_model

    chat = get_model("builtin:poet")
    for chunk in chat.stream("Write me a 1 verse song about goldfish on the moon"):
        print(chunk.content, end="|", flush=True)

Importing this package is cheap: providers are imported when a model is built.
"""

from __future__ import annotations

from .messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from .providers import get_model
from .runnable import ChatModel, ModelSettings

__version__ = "0.1.0"

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
]
