"""Serving attachments: the type comes from the file's bytes and a short allow-list.

The type a mail or browser claimed is never trusted (``evil.png`` claimed as ``text/html``
would otherwise run as a page of ours). A handful of magic numbers cover the allow-list, so no
detection library is needed; anything else is ``application/octet-stream``. Every download
stays ``Content-Disposition: attachment`` and ``X-Content-Type-Options: nosniff`` (the
security middleware's default).
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


def attachment_response(attachment: Any) -> FileResponse:
    """The download of a stored attachment; a file missing from storage is a 404."""
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:  # FileNotFoundError included
        raise Http404 from exc
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=detected_content_type(head),
    )
