"""The queue in the Swedish UI, in Chromium: save a view, pick it from the sidebar, sort by a
column, tick a row, let the 30-second refresh come (Playwright's clock jumps ahead), and the
row is still ticked, j/k still move and bulk assign assigns it. No console error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from tests.browser.test_console import _watch
from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel, SupportLine
from tickets.models import QueueView, Ticket
from tickets.services import ticket_create

pytestmark = pytest.mark.browser


def _file(cast: Cast, subject: str, **kwargs: Any) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject=subject,
            description="",
            channel=Channel.PORTAL,
            **kwargs,
        )


def test_an_agent_saves_a_view_sorts_it_and_a_refresh_keeps_the_ticked_row(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    older = _file(cast, "Skrivaren brinner", priority=desk.p1)
    newer = _file(cast, "Lönekörningen stannar", priority=desk.p2)
    first_line = _file(cast, "Lösenordet glömt", priority=desk.p1)
    with scope(tenant=cast.tenant_a):
        Ticket.objects.filter(pk__in=[older.pk, newer.pk]).update(support_line=SupportLine.SECOND)

    session = open_session("a-agent")
    errors: list[str] = []
    _watch(session.page, errors)
    page = session.page
    page.clock.install()  # the refresh's timer runs on a clock the test moves
    session.go("/agent/queue/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")

    # Filter to the 2nd line and save that as a view.
    page.locator("#f-line").select_option(str(SupportLine.SECOND))
    page.get_by_role("button", name="Filtrera").click()
    page.get_by_label("Spara den här kön som").fill("P1-P2 andra linjen")
    page.get_by_role("button", name="Spara vy").click()
    expect(page.get_by_text("Vyn har sparats.")).to_be_visible()
    sidebar = page.get_by_role("complementary", name="Sparade vyer")
    view_link = sidebar.get_by_role("link", name="P1-P2 andra linjen")
    expect(view_link.locator("xpath=following-sibling::span[1]")).to_have_text("2")

    # Away and back through the sidebar: the view's filters apply.
    sidebar.get_by_role("link", name="Allt som är under arbete").click()
    expect(page.get_by_text(first_line.subject)).to_be_visible()
    sidebar.get_by_role("link", name="P1-P2 andra linjen").click()
    expect(page.locator("h1")).to_contain_text("P1-P2 andra linjen")
    rows = page.locator("#queue-rows tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_text(first_line.subject)).to_have_count(0)

    # Sort by the ticket column: newest reference first, a second click oldest first.
    page.locator("thead").get_by_role("link", name="Ärende").click()
    expect(page.locator("thead th[aria-sort=descending]")).to_have_count(1)
    expect(rows.nth(0)).to_contain_text(newer.reference)
    expect(rows.nth(1)).to_contain_text(older.reference)
    assert "saved=" in page.url and "sort=-reference" in page.url

    # Tick a row, move with j, and let the refresh come: something changed meanwhile.
    page.get_by_role("checkbox", name=older.reference).check()
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bis-selected\b"))
    with scope(tenant=cast.tenant_a):
        Ticket.objects.filter(pk=newer.pk).update(subject="Lönekörningen stannar igen")
    page.evaluate("document.getElementById('queue-rows').dataset.old = 'yes'")
    with page.expect_response(lambda r: "/agent/queue/" in r.url and "tickets=" in r.url):
        page.clock.fast_forward("00:31")
    expect(page.get_by_text("Lönekörningen stannar igen")).to_be_visible()
    expect(page.locator("#queue-rows[data-old]")).to_have_count(0)  # the rows were replaced
    expect(page.get_by_role("checkbox", name=older.reference)).to_be_checked()
    expect(page.get_by_role("checkbox", name=newer.reference)).not_to_be_checked()
    expect(rows.nth(0)).to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-selected\b"))

    # Bulk assign the ticked row.
    page.locator("#bulk-assignee").select_option(str(cast.agent.pk))
    page.get_by_role("button", name="Tilldela").click()
    expect(page.get_by_text("1 ärenden har tilldelats.")).to_be_visible()
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=older.pk).assignee_id == cast.agent.pk
        assert Ticket.objects.get(pk=newer.pk).assignee_id is None
        assert QueueView.objects.get().owner_id == cast.agent.pk
    assert errors == []
