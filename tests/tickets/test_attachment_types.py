"""Attachments are served with the type their bytes show, from an allow-list, never the type
the sender claimed; always as a download with ``nosniff``."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from tests.conftest import Cast, client_for
from tickets.attachments import detected_content_type
from tickets.choices import Channel
from tickets.models import Attachment
from tickets.services import ticket_create, ticket_reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTML = b"<html><script>alert(document.cookie)</script></html>"
FILES = [
    # (name, bytes, claimed type, served type)
    ("evil.png", HTML, "text/html", "text/plain; charset=utf-8"),
    ("evil.pdf", HTML, "application/pdf", "text/plain; charset=utf-8"),
    ("real.png", PNG, "text/html", "image/png"),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/svg+xml", "image/jpeg"),
    ("anim.gif", b"GIF89a" + b"\x00" * 20, "", "image/gif"),
    ("pic.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "text/html", "image/webp"),
    ("doc.pdf", b"%PDF-1.7\n%\xe2\xe3", "text/html", "application/pdf"),
    ("notes.txt", "Hej, här är loggen\n".encode(), "text/html", "text/plain; charset=utf-8"),
    ("logo.xml", b"<svg onload=alert(1)>\x00", "image/svg+xml", "application/octet-stream"),
    ("tool.zip", b"MZ\x90\x00\x03\x00", "image/png", "application/octet-stream"),
    ("empty.log", b"", "text/html", "application/octet-stream"),
]


@pytest.mark.parametrize(("name", "content", "claimed", "served"), FILES)
@pytest.mark.parametrize("who", ["agent", "customer"])
def test_a_download_has_the_type_of_its_bytes(
    cast: Cast, who: str, name: str, content: bytes, claimed: str, served: str
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Files",
            description="",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        ticket_reply(
            ticket=ticket,
            body="Attached",
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
            attachments=[SimpleUploadedFile(name, content, claimed)],
        )
        attachment = Attachment.objects.get(filename=name)
    prefix = "agent" if who == "agent" else "portal"
    client = client_for(getattr(cast, who), cast.tenant_a)
    response = client.get(f"/{prefix}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == served
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == content


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    head = ("å" * 2048).encode()[:4095]
    assert detected_content_type(head) == "text/plain; charset=utf-8"
    assert detected_content_type(b"\xc3\x28 not utf-8") == "application/octet-stream"
