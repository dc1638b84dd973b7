"""The prompt as built from its parts, and the messages it becomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..messages import BaseMessage, HumanMessage, SystemMessage

if TYPE_CHECKING:
    from .attachments import Attachment
    from .files import ContextFile


class Prompt:
    """What is asked: the text (words or stdin, through a role's template), the system prompt, files, attachments.

    A plain class, not a dataclass: every prompt makes one, and a dataclass costs a millisecond to define."""

    __slots__ = ("attachments", "files", "system", "text")

    def __init__(
        self,
        text: str,
        system: str | None = None,
        files: list[ContextFile] | None = None,
        attachments: list[Attachment] | None = None,
    ) -> None:
        self.text = text
        self.system = system
        self.files = files or []
        self.attachments = attachments or []

    def words(self) -> str:
        """The human message's text: each file in its block, then the prompt text."""
        return "\n\n".join([*(file.block() for file in self.files), *([self.text] if self.text else [])])

    def human_content(self) -> str | list[dict[str, Any]]:
        """A string, or with attachments LangChain standard content blocks: the attachments, then the text."""
        if not self.attachments:
            return self.words()
        words = self.words()
        return [item.content_block() for item in self.attachments] + (
            [{"type": "text", "text": words}] if words else []
        )

    def messages(self) -> list[BaseMessage]:
        system: list[BaseMessage] = [SystemMessage(content=self.system)] if self.system else []
        return [*system, HumanMessage(content=self.human_content())]

    def record(self) -> dict[str, Any]:
        """What --json reports of the prompt (no file contents, no attachment bytes)."""
        return {
            "prompt": self.text,
            "system": self.system,
            "files": [{"path": file.path, "size": file.size} for file in self.files],
            "attachments": [item.record() for item in self.attachments],
        }


def joined_system(system: str | None, appended: list[str]) -> str | None:
    """``-s`` (or the role's system prompt) with each ``--sf`` file's text after a blank line."""
    parts = [part.rstrip("\n") for part in (system, *appended) if part]
    return "\n\n".join(parts) or None
