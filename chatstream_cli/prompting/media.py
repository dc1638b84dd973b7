"""What a file's first bytes say it is: the image and PDF types chatstream can attach."""

from __future__ import annotations

PDF = "application/pdf"
_LABELS = {"image/png": "a PNG image", "image/jpeg": "a JPEG image", "image/gif": "a GIF image"}
_LABELS |= {"image/webp": "a WebP image", PDF: "a PDF"}
_SNIFF_BYTES = 1024


def sniff_media_type(data: bytes) -> str | None:
    """The media type the bytes start with (magic numbers), or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if b"%PDF-" in data[:_SNIFF_BYTES]:  # the header may follow a little junk (PDF 1.7, 7.5.2)
        return PDF
    return None


def media_label(media_type: str) -> str:
    return _LABELS.get(media_type, media_type)
