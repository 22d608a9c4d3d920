"""Attachment previews: images as thumbnails in the timelines and PDFs opened in the browser,
``inline`` only for the allow-listed types their bytes show, through the download's checks."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from tests.conftest import Cast, client_for
from tickets.choices import Channel
from tickets.models import Attachment, Ticket
from tickets.services import ticket_create, ticket_reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
FILES = [
    # (name, bytes, claimed type, served type, inline)
    ("real.png", PNG, "image/png", "image/png", True),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg", "image/jpeg", True),
    ("anim.gif", b"GIF89a" + b"\x00" * 20, "", "image/gif", True),
    ("pic.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp", "image/webp", True),
    ("doc.pdf", b"%PDF-1.7\n%\xe2\xe3", "application/pdf", "application/pdf", True),
    ("disguised.png", SVG, "image/png", "text/plain; charset=utf-8", False),
    ("page.pdf", b"<html><script>alert(1)</script></html>", "application/pdf",
     "text/plain; charset=utf-8", False),
    ("logo.xml", SVG, "image/svg+xml", "text/plain; charset=utf-8", False),
    ("notes.txt", b"Hej\n", "text/plain", "text/plain; charset=utf-8", False),
    ("tool.zip", b"PK\x03\x04\x00\x00", "image/gif", "application/octet-stream", False),
]  # fmt: skip


def _ticket_with(cast: Cast, *files: tuple[str, bytes, str], public: bool = True) -> Ticket:
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
            public=public,
            channel=Channel.PORTAL,
            author=cast.agent,
            attachments=[SimpleUploadedFile(*f) for f in files],
        )
    return ticket


@pytest.mark.parametrize(("name", "content", "claimed", "served", "inline"), FILES)
@pytest.mark.parametrize("who", ["agent", "manager", "customer"])
def test_a_preview_is_inline_only_for_an_allow_listed_type_of_its_bytes(
    cast: Cast, who: str, name: str, content: bytes, claimed: str, served: str, inline: bool
) -> None:
    _ticket_with(cast, (name, content, claimed))
    with scope(tenant=cast.tenant_a):
        attachment = Attachment.objects.get(filename=name)
    prefix = "portal" if who == "customer" else "agent"
    client = client_for(getattr(cast, who), cast.tenant_a)
    response = client.get(f"/{prefix}/attachments/{attachment.pk}/preview/")
    assert response.status_code == 200
    assert response["Content-Type"] == served
    disposition = "inline;" if inline else "attachment;"
    assert response["Content-Disposition"].startswith(disposition)
    assert f'filename="{name}"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == content
    download = client.get(f"/{prefix}/attachments/{attachment.pk}/")
    assert download["Content-Disposition"].startswith("attachment;")


def test_the_stored_type_is_what_the_bytes_show_not_what_was_claimed(cast: Cast) -> None:
    _ticket_with(cast, ("disguised.png", SVG, "image/png"), ("real.gif", PNG, "text/html"))
    with scope(tenant=cast.tenant_a):
        stored = {a.filename: (a.content_type, a.preview) for a in Attachment.objects.all()}
    assert stored == {
        "disguised.png": ("text/plain; charset=utf-8", ""),
        "real.gif": ("image/png", "image"),
    }


@pytest.mark.parametrize(("who", "page"), [("agent", "/agent/tickets/{}/"),
                                           ("customer", "/portal/tickets/{}/")])  # fmt: skip
def test_the_timeline_shows_images_as_lazy_thumbnails_and_opens_pdfs(
    cast: Cast, who: str, page: str
) -> None:
    ticket = _ticket_with(
        cast,
        ("screen.png", PNG, "image/png"),
        ("invoice.pdf", b"%PDF-1.4\n", "application/pdf"),
        ("disguised.png", SVG, "image/png"),
    )
    with scope(tenant=cast.tenant_a):
        ids = {a.filename: a.pk for a in Attachment.objects.all()}
    prefix = "portal" if who == "customer" else "agent"
    html = client_for(getattr(cast, who), cast.tenant_a).get(page.format(ticket.pk))
    text = html.content.decode()
    assert f'<img src="/{prefix}/attachments/{ids["screen.png"]}/preview/"' in text
    assert 'loading="lazy"' in text
    assert f'href="/{prefix}/attachments/{ids["invoice.pdf"]}/preview/" target="_blank"' in text
    assert f'/{prefix}/attachments/{ids["invoice.pdf"]}/preview/" alt' not in text  # no <img>
    assert f"/{prefix}/attachments/{ids['disguised.png']}/preview/" not in text
    assert f'href="/{prefix}/attachments/{ids["disguised.png"]}/"' in text


def test_a_customer_cannot_preview_a_file_on_an_internal_note(cast: Cast) -> None:
    _ticket_with(cast, ("internal.png", PNG, "image/png"), public=False)
    with scope(tenant=cast.tenant_a):
        attachment = Attachment.objects.get(filename="internal.png")
    client = client_for(cast.customer, cast.tenant_a)
    assert client.get(f"/portal/attachments/{attachment.pk}/preview/").status_code == 404
    assert client.get(f"/agent/attachments/{attachment.pk}/preview/").status_code == 404
    agent = client_for(cast.agent, cast.tenant_a)
    assert agent.get(f"/agent/attachments/{attachment.pk}/preview/").status_code == 200


def test_a_file_gone_from_storage_is_a_404(cast: Cast) -> None:
    _ticket_with(cast, ("gone.png", PNG, "image/png"))
    with scope(tenant=cast.tenant_a):
        attachment = Attachment.objects.get(filename="gone.png")
        attachment.file.delete(save=False)
    client = client_for(cast.agent, cast.tenant_a)
    assert client.get(f"/agent/attachments/{attachment.pk}/preview/").status_code == 404
