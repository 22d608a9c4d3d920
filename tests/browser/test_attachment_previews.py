"""Attachment previews in Chromium: a thumbnail that really loads, a PDF in the browser's own
viewer under the site's Content-Security-Policy, and no console error."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope
from playwright.sync_api import expect

from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.services import ticket_create, ticket_reply

pytestmark = pytest.mark.browser

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF"
)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("username", "page_url"), [("a-customer", "/portal/tickets/{}/"),
                                                    ("a-agent", "/agent/tickets/{}/")])  # fmt: skip
def test_a_thumbnail_loads_and_a_pdf_opens_in_the_browser(
    cast: Cast, desk: Desk, open_session: Any, username: str, page_url: str
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Screenshots",
            description="",
            channel=Channel.PORTAL,
        )
        ticket_reply(
            ticket=ticket,
            body="See attached",
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
            attachments=[
                SimpleUploadedFile("screen.png", _png(640, 400), "image/png"),
                SimpleUploadedFile("invoice.pdf", PDF, "application/pdf"),
            ],
        )
    session = open_session(username)
    errors: list[str] = []
    session.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page = session.go(page_url.format(ticket.pk))
    thumbnail = page.get_by_role("img", name="screen.png")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") == 640  # the image really loaded
    assert thumbnail.evaluate("img => img.getBoundingClientRect().width") <= 12 * 16 + 2
    with session.context.expect_page() as opened:
        page.get_by_role("link", name="invoice.pdf").click()
    viewer = opened.value
    viewer.wait_for_load_state()
    viewer.wait_for_timeout(500)
    assert any(frame.url.startswith("chrome-extension://") for frame in viewer.frames)
    assert not errors, errors
