"""The SLA dashboard in Chromium: its inline SVG charts log no console error (the CSP refuses
inline script, which pygal would add), and a chart's link leads to the tickets behind it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from reports.selectors import duration_metrics
from tests.browser.test_console import _watch
from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.services import ticket_create

pytestmark = pytest.mark.browser


def test_a_manager_sees_the_charts_and_follows_one_to_its_tickets(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Waiting for an answer",
            description="",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )
    session = open_session("a-manager")
    errors: list[str] = []
    _watch(session.page, errors)
    month = timezone.localdate().strftime("%Y-%m")
    page = session.go(f"/reports/?month={month}")
    expect(page.get_by_role("heading", level=1)).to_have_text("SLA dashboard")
    # Five charts, a time distribution per single-shot metric, ratings and reviews.
    expect(page.locator("figure.chart svg")).to_have_count(5 + len(duration_metrics()) + 2)
    page.wait_for_load_state("networkidle")
    assert not errors
    page.get_by_role("link", name="Show the tickets behind this chart").nth(3).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tickets behind the chart")
    expect(page.get_by_role("cell", name="Waiting for an answer")).to_be_visible()
    assert not errors
    # The volume chart's bar (portal, incident) leads to the tickets of that channel and kind.
    page.go_back()
    volume = page.locator("figure.chart").nth(4)
    volume.locator("a[*|href*='channel=portal']").first.click()
    expect(page.get_by_role("cell", name="Waiting for an answer")).to_be_visible()
    assert "category=" in page.url and not errors
