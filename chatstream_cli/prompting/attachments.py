"""``-a/--attach``: images (PNG, JPEG, GIF, WebP) and PDFs, their type read from the bytes.

A file (or ``-``, stdin) is read once, hashed and base64-encoded once; only the base64 text is kept.
A URL is not downloaded: its first bytes are fetched (``Range: bytes=0-1023``) to learn its type, and
the provider gets the URL itself. Each attachment becomes a LangChain standard content block
(``{"type": "image"|"file", "base64"|"url": ..., "mime_type": ...}``), which each provider module
converts to its API's form.

The limits the APIs document are checked before anything is sent (``LIMITS``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import tls
from ..errors import NetworkError, UsageError
from .media import PDF, sniff_media_type

if TYPE_CHECKING:
    from .stdin import Stdin

_SNIFF_BYTES = 1024
_READ_PIECE = 3 * 1024 * 1024  # a multiple of 3: each piece's base64 joins the next's without padding
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment: where it came from, what it is, and (for a file) its bytes as base64."""

    source: str  # the path or URL as given; "-" for stdin
    media_type: str
    size: int | None  # bytes; None for a URL whose server did not say
    sha256: str | None  # of the bytes; None for a URL
    base64: str | None = None
    url: str | None = None

    @property
    def kind(self) -> str:
        """``"pdf"`` or ``"image"``: what providers accept or refuse."""
        return "pdf" if self.media_type == PDF else "image"

    @property
    def filename(self) -> str:
        return "stdin" if self.source == "-" else Path(self.source.rstrip("/")).name or self.source

    def content_block(self) -> dict[str, Any]:
        """The LangChain standard content block for this attachment."""
        block: dict[str, Any] = {"type": "file" if self.kind == "pdf" else "image"}
        if self.url is not None:
            block["url"] = self.url
        else:
            block["base64"] = self.base64
        block["mime_type"] = self.media_type
        if self.kind == "pdf":
            block["filename"] = self.filename  # ChatOpenAI sends it; OpenAI requires one for a file part
        return block

    def record(self) -> dict[str, Any]:
        """What --json (and the history) keeps of it: no bytes."""
        return {"path": self.source, "type": self.media_type, "size": self.size, "sha256": self.sha256}


def load_attachments(sources: tuple[str, ...], stdin: Stdin, timeout: float | None) -> list[Attachment]:
    return [load_attachment(source, stdin, timeout) for source in sources]


def load_attachment(source: str, stdin: Stdin, timeout: float | None) -> Attachment:
    """The attachment ``source`` names: a file, ``-`` (stdin) or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        return _url_attachment(source, timeout)
    if source == "-":
        if stdin.is_tty:
            raise UsageError(
                "-a - reads an image or PDF from stdin, which is a terminal", "pipe it: cat x.png | chatstream -a - ..."
            )
        return _encoded("-", "stdin", [stdin.take("-a -")])
    try:
        with open(source, "rb") as file:
            return _encoded(source, source, iter(lambda: file.read(_READ_PIECE), b""))
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file", "check the path; -a takes a file, - (stdin) or a URL") from None
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}", "check the path and its permissions") from None


def _encoded(source: str, name: str, pieces: Iterable[bytes]) -> Attachment:
    """Hash and base64-encode the bytes piece by piece, so the whole file is never held beside its base64."""
    digest, encoded, size, media_type = hashlib.sha256(), [], 0, None
    for piece in pieces:
        if media_type is None:
            media_type = _checked_type(piece, name)
        digest.update(piece)
        encoded.append(base64.b64encode(piece).decode("ascii"))
        size += len(piece)
    if media_type is None:
        raise UsageError(f"{name} is empty", "attach a PNG, JPEG, GIF or WebP image or a PDF")
    return Attachment(source, media_type, size, digest.hexdigest(), base64="".join(encoded))


def _checked_type(data: bytes, name: str) -> str:
    media_type = sniff_media_type(data)
    if media_type is None:
        hint = "text goes in with -f" if _is_text(data) else "attach a PNG, JPEG, GIF or WebP image or a PDF"
        raise UsageError(f"{name} is not a PNG, JPEG, GIF or WebP image or a PDF", hint)
    return media_type


def _is_text(data: bytes) -> bool:
    try:
        data[:_SNIFF_BYTES].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= _SNIFF_BYTES - 3  # a character cut at the probe's end
    return True


def _url_attachment(url: str, timeout: float | None) -> Attachment:
    """Fetch the first bytes of ``url`` to learn its type (and size, where the server tells)."""
    import httpx

    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, verify=tls.context()) as client,
            client.stream("GET", url, headers={"range": f"bytes=0-{_SNIFF_BYTES - 1}"}) as response,
        ):
            if response.status_code not in (200, 206):
                raise UsageError(f"{url} answered HTTP {response.status_code}", "check the URL")
            head = b""
            for piece in response.iter_bytes():
                head += piece
                if len(head) >= _SNIFF_BYTES:
                    break
            size = _size_from(response.headers, response.status_code)
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot fetch {url}: {exc}", "check the URL and your connection") from None
    return Attachment(url, _checked_type(head, url), size, None, url=url)


def _size_from(headers: Any, status: int) -> int | None:
    total = headers.get("content-range", "").rpartition("/")[2]
    if status == 206 and total.isdigit():
        return int(total)
    length = headers.get("content-length", "")
    return int(length) if status == 200 and length.isdigit() else None


@dataclass(frozen=True, slots=True)
class Limits:
    """An API's documented limits on what it is sent (bytes)."""

    image: int  # one image file
    pdf_total: int  # all PDFs of a request
    request: int  # everything attached, as base64, in one request
    source: str  # where the API documents them


LIMITS: dict[str, Limits] = {
    "anthropic": Limits(5 * MB, 32 * MB, 32 * MB, "Anthropic: 5 MB per image, 32 MB per request"),
    "openai": Limits(20 * MB, 32 * MB, 50 * MB, "OpenAI: 20 MB per image, 32 MB of PDFs, 50 MB per request"),
}


def check_limits(attachments: list[Attachment], provider: str) -> None:
    """A usage error, before anything is sent, when the attachments break ``provider``'s documented limits."""
    limits = LIMITS.get(provider)
    if limits is None or not attachments:
        return
    for item in attachments:
        if item.kind == "image" and item.size is not None and item.size > limits.image:
            raise UsageError(
                f"{item.source} is {_mb(item.size)}, over {provider}'s {_mb(limits.image)} limit per image",
                f"shrink it first ({limits.source})",
            )
    pdfs = sum(item.size or 0 for item in attachments if item.kind == "pdf")
    if pdfs > limits.pdf_total:
        raise UsageError(
            f"the PDFs come to {_mb(pdfs)}, over {provider}'s {_mb(limits.pdf_total)} limit",
            f"send fewer or smaller PDFs ({limits.source})",
        )
    encoded = sum(len(item.base64) for item in attachments if item.base64 is not None)
    if encoded > limits.request:
        raise UsageError(
            f"the attachments come to {_mb(encoded)} as base64, over {provider}'s {_mb(limits.request)} request limit",
            f"send fewer or smaller files ({limits.source})",
        )


def check_accepted(attachments: list[Attachment], provider: str, accepting: dict[str, frozenset[str]]) -> None:
    """A usage error naming the providers that can take a kind of attachment ``provider`` cannot."""
    refused = sorted({item.kind for item in attachments} - accepting.get(provider, frozenset()))
    if not refused:
        return
    kind = refused[0]
    able = [name for name, kinds in accepting.items() if kind in kinds]
    plural = "PDFs" if kind == "pdf" else "images"
    raise UsageError(f"{provider} cannot take {plural}", f"providers that can: {', '.join(able)}")


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"
