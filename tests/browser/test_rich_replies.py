"""Rich replies in Chromium: an agent in the Swedish UI writes Markdown with the toolbar, sees
the live preview, drops an image into the box and sends; the customer reads the reply
rendered, image included, in the Dutch portal and answers with a preview of her own. No page
logs a JavaScript error (a CSP refusal included)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.models import Attachment, Message
from tickets.services import ticket_create

pytestmark = pytest.mark.browser

PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
    "rkJggg=="
)


def _errors_of(page: Page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_an_agent_writes_markdown_with_an_image_and_the_customer_reads_it(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    cast.customer.language = "nl"
    cast.customer.save(update_fields=["language"])
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Exporten stannar",
            description="Vid rad 99.",
            channel=Channel.PORTAL,
        )

    agent = open_session("a-agent")
    agent_errors = _errors_of(agent.page)
    page = agent.go(f"/agent/tickets/{ticket.pk}/")
    box = page.get_by_label("Meddelande")
    box.click()
    box.press_sequentially("Tryck ")
    page.get_by_role("button", name="Fetstil").click()
    box.press_sequentially("Kör")
    page.keyboard.press("End")
    box.press_sequentially("\n\n- ett\n- två\n\n")
    preview = page.locator(".editor-preview")
    expect(preview.locator("strong")).to_have_text("Kör")
    expect(preview.locator("li")).to_have_count(2)

    dropped = page.evaluate_handle(
        """(pixel) => {
            const bytes = Uint8Array.from(atob(pixel), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "image.png", {type: "image/png"}));
            return transfer;
        }""",
        PIXEL,
    )
    box.dispatch_event("drop", {"dataTransfer": dropped})
    expect(box).to_have_value(re.compile(r"!\[image-[^\]]+\.png\]\(attachment:"))
    shown = preview.locator("img")
    expect(shown).to_have_count(1)
    expect(shown).to_have_attribute("src", re.compile(r"^data:image/png"))
    assert page.locator("#attachments").evaluate("input => input.files.length") == 1

    page.get_by_role("button", name="Skicka", exact=True).click()
    page.wait_for_load_state()
    with scope(tenant=cast.tenant_a):
        message = Message.objects.filter(ticket=ticket).latest("id")
        image = Attachment.objects.get(message=message)
    assert "<strong>Kör</strong>" in message.body
    assert f'src="/attachments/{image.pk}/inline/"' in message.body
    expect(page.locator(".message-body strong")).to_have_text("Kör")

    customer = open_session("a-customer")
    customer_errors = _errors_of(customer.page)
    portal = customer.go(f"/portal/tickets/{ticket.pk}/")
    expect(portal.locator("html")).to_have_attribute("lang", "nl")
    body = portal.locator(".message-body", has=portal.locator("strong"))
    expect(body.locator("strong")).to_have_text("Kör")
    expect(body.locator("li")).to_have_count(2)
    picture = body.locator("img")
    expect(picture).to_have_attribute("src", f"/attachments/{image.pk}/inline/")
    portal.wait_for_function(
        "img => img.complete && img.naturalWidth === 1", arg=picture.element_handle()
    )

    answer = portal.locator("textarea[name=body]")
    answer.fill("Dank, het _werkt_")
    expect(portal.get_by_text("Voorbeeld", exact=True)).to_be_visible()
    expect(portal.locator(".editor-preview em")).to_have_text("werkt")
    portal.get_by_role("button", name="Citaat").click()
    expect(answer).to_have_value("> Dank, het _werkt_")
    assert agent_errors == [] and customer_errors == []
