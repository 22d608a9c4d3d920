"""An agent answers with a macro in the Swedish UI: "/" in the reply box, a search, a pick;
the reply is filled in for the ticket, and sending it applies the macro's status too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel, Status
from tickets.models import Macro, Ticket
from tickets.services import ticket_create

pytestmark = pytest.mark.browser


def test_an_agent_picks_a_macro_with_slash_and_sends_it(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Lönekörningen stannar",
            description="Sedan i morse.",
            channel=Channel.PORTAL,
        )
        Macro.objects.create(
            tenant=cast.tenant_a,
            name="Be om loggfil",
            body="Hej {{ requester.first_name }}, kan du skicka loggfilen för "
            "{{ ticket.reference }}?",
            set_status=Status.PENDING,
        )
        Macro.objects.create(tenant=cast.tenant_a, name="Tack för tålamodet", body="Tack!")
    session = open_session("a-agent")
    errors: list[str] = []
    session.page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    session.page.on("pageerror", lambda error: errors.append(str(error)))
    page = session.go(f"/agent/tickets/{ticket.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")

    box = page.get_by_label("Meddelande")
    box.click()
    box.press_sequentially("Hej! /logg")
    options = page.locator("#macro-list").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Be om loggfil")
    expect(options.first).to_contain_text("Status: Väntar på kund")
    options.first.click()

    reply = f"Hej! Hej Carla, kan du skicka loggfilen för {ticket.reference}?"
    expect(box).to_have_value(reply)
    expect(page.locator("#macro-picked")).to_contain_text("Makro: Be om loggfil")
    page.get_by_role("button", name="Skicka", exact=True).click()
    page.wait_for_load_state()

    timeline = page.locator("ol.cards")
    expect(timeline).to_contain_text(reply)
    expect(timeline).to_contain_text(re.compile(r"Status ändrad: Öppet → Väntar på kund"))
    expect(page.locator(".badge").first).to_have_text("Väntar på kund")
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=ticket.pk).status == Status.PENDING
        assert Macro.objects.get(name="Be om loggfil").usage_count == 1
    assert errors == []
