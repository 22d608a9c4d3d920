"""Two agents on one ticket, one in the Swedish UI and one in the Dutch: each sees the other
viewing and typing; the reply of the one who answers second, after the other replied, is
held back with a warning and the text kept, and "Send anyway" sends it."""

from __future__ import annotations

from typing import Any

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.models import Message
from tickets.services import ticket_create

pytestmark = pytest.mark.browser

WAIT = 20_000  # ms: a heartbeat every 5 s, and the machine is shared


def _watch(page: Any, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))


def test_two_agents_see_each_other_and_a_late_reply_is_held_back(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    cast.agent.first_name, cast.agent.language = "Agnes", "sv"
    cast.agent.save(update_fields=["first_name", "language"])
    cast.admin.first_name, cast.admin.language = "Adam", "nl"
    cast.admin.save(update_fields=["first_name", "language"])
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Lönekörningen stannar",
            description="Sedan i morse.",
            channel=Channel.PORTAL,
        )
    errors: list[str] = []
    first = open_session("a-agent")
    second = open_session("a-admin")
    _watch(first.page, errors)
    _watch(second.page, errors)
    page_1 = first.go(f"/agent/tickets/{ticket.pk}/")
    page_2 = second.go(f"/agent/tickets/{ticket.pk}/")

    expect(page_2.locator("#presence")).to_contain_text("Agnes kijkt mee", timeout=WAIT)
    expect(page_1.locator("#presence")).to_contain_text("Adam tittar", timeout=WAIT)

    box_1 = page_1.get_by_label("Meddelande")
    box_1.click()
    box_1.press_sequentially("Har du provat att starta om?")
    expect(page_2.locator("#presence")).to_contain_text("Agnes typt een antwoord…", timeout=WAIT)

    page_2.get_by_label("Bericht").fill("Ik bel de klant nu.")
    page_2.get_by_role("button", name="Versturen", exact=True).click()
    page_2.wait_for_load_state()
    expect(page_2.locator("ol.cards")).to_contain_text("Ik bel de klant nu.")

    # The first agent's page learns of it before sending...
    expect(page_1.locator("#reply-moved")).to_be_visible(timeout=WAIT)
    expect(page_1.locator("#reply-moved")).to_contain_text("Ny aktivitet i ärendet")
    # ...and sending anyway is held back once more, with the text kept and the news shown.
    page_1.get_by_role("button", name="Skicka", exact=True).click()
    page_1.wait_for_load_state()
    expect(page_1.locator("#stale-warning")).to_contain_text(
        "Någon har svarat under tiden: läs det och skicka sedan igen."
    )
    expect(page_1.get_by_label("Meddelande")).to_have_value("Har du provat att starta om?")
    expect(page_1.locator("ol.cards")).to_contain_text("Ik bel de klant nu.")
    with scopes_disabled():
        assert not Message.objects.filter(ticket=ticket, body__contains="starta om").exists()

    page_1.get_by_role("button", name="Skicka ändå").click()
    page_1.wait_for_load_state()
    expect(page_1.locator("ol.cards")).to_contain_text("Har du provat att starta om?")
    expect(page_1.locator("#stale-warning")).to_have_count(0)
    with scopes_disabled():
        assert Message.objects.filter(ticket=ticket, body__contains="starta om").exists()
    assert errors == []
