"""The prompt as built from its parts, and the messages it becomes; stdin, read at most once, as bytes:
``-a -`` and ``-f -`` take it before the prompt may."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import UsageError
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


class Stdin:
    """stdin for one prompt: ignored with ``--no-stdin``, otherwise read whole on the first ``take``."""

    def __init__(self, stream: BinaryIO, *, is_tty: bool, ignored: bool = False) -> None:
        self.stream = stream
        self.is_tty = is_tty
        self.ignored = ignored
        self.taken_by: str | None = None

    @property
    def piped(self) -> bool:
        """Whether stdin still holds piped input the prompt would read (cli.md: a non-terminal stdin is read)."""
        return not (self.is_tty or self.ignored or self.taken_by)

    def take(self, by: str) -> bytes:
        """All of stdin, for ``by`` (the flag that asked); a usage error when it is ignored or already taken."""
        if self.ignored:
            raise UsageError(f"{by} reads stdin, which --no-stdin ignores", f"drop --no-stdin or {by}")
        if self.taken_by:
            raise UsageError(f"{by} and {self.taken_by} both read stdin", "stdin can be read once: choose one")
        self.taken_by = by
        return self.stream.read()


def decode_text(data: bytes, name: str, flag: str | None = "-f") -> str:
    """``data`` as UTF-8 text; a usage error naming ``name`` otherwise (pointing at ``-a`` for images and PDFs)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        from .attachments import media_label, sniff_media_type

        media_type = sniff_media_type(data)
        source = "-" if name == "stdin" else name
        attach_flag = "-a -" if source == "-" else "-a"
        if media_type:
            raise UsageError(
                f"{name} is {media_label(media_type)}, not text",
                f"attach it with -a {source}" + (f" instead of {flag}" if flag else ""),
            ) from None
        raise UsageError(
            f"{name} is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x})",
            "convert it first, e.g. iconv -f latin1 -t utf-8; images and PDFs go in with " + attach_flag,
        ) from None
