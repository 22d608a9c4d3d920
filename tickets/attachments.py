"""Serving attachments: the type comes from the file's bytes and a short allow-list.

The type a mail or browser claimed is never trusted (``evil.png`` claimed as ``text/html``
would otherwise run as a page of ours). A handful of magic numbers cover the allow-list, so no
detection library is needed; anything else is ``application/octet-stream``. A download is
``Content-Disposition: attachment``; every answer carries ``X-Content-Type-Options: nosniff``
(the security middleware's default).

A preview (the thumbnails in the timelines, a PDF opened in the browser) is ``inline`` only
for :data:`INLINE_TYPES`, as sniffed from the bytes: PNG, JPEG, GIF, WebP and PDF. Whatever
else is asked for as a preview, an SVG or HTML file named ``.png`` included, is still served
as an ``attachment`` of its sniffed type, so it never runs as a page of ours. Thumbnails are
the image itself, scaled by CSS and loaded lazily: no imaging library decodes untrusted
images on the server (no Pillow, no decompression bombs); attachments are at most 10 MB.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.http import FileResponse, Http404

OCTET_STREAM = "application/octet-stream"
PLAIN_TEXT = "text/plain; charset=utf-8"
HEAD_BYTES = 4096
"""How much of the file is read to decide its type."""

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
INLINE_TYPES = IMAGE_TYPES | {"application/pdf"}
"""The sniffed types a browser may show inline: none of them can carry script."""

_TEXT_CONTROLS = {"\t", "\n", "\r", "\f"}


def _is_plain_text(head: bytes) -> bool:
    """UTF-8 (a sequence cut at the end of ``head`` allowed) without control characters."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return bool(text) and not any(ch < " " and ch not in _TEXT_CONTROLS for ch in text)


def detected_content_type(head: bytes) -> str:
    """The allow-listed type of a file that starts with ``head``, else octet-stream."""
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return PLAIN_TEXT if _is_plain_text(head) else OCTET_STREAM


def file_content_type(handle: Any) -> str:
    """The allow-listed type of an open file (read from its start, then rewound)."""
    handle.seek(0)
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    return detected_content_type(head)


def attachment_response(attachment: Any, *, inline: bool = False) -> FileResponse:
    """A stored attachment: a download, or with ``inline`` a preview when its bytes are one
    of :data:`INLINE_TYPES` (a download otherwise); a file missing from storage is a 404."""
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:  # FileNotFoundError included
        raise Http404 from exc
    content_type = file_content_type(handle)
    return FileResponse(
        handle,
        as_attachment=not (inline and content_type in INLINE_TYPES),
        filename=attachment.filename,
        content_type=content_type,
    )
