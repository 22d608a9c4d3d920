"""The time report in a real browser, in Swedish: a manager picks the month and reads a row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from supportdesk.models import User
from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.services import ticket_create, time_entry_log

pytestmark = pytest.mark.browser


def test_a_manager_reads_the_time_report_in_swedish(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    month = timezone.localdate().replace(day=1)
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Timed work",
            description="",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )
        time_entry_log(ticket=ticket, agent=cast.agent, minutes=95, billable=True, work_date=month)
        time_entry_log(ticket=ticket, agent=cast.agent, minutes=25, billable=False, work_date=month)
    User.objects.filter(pk=cast.manager.pk).update(language="sv")
    page = open_session("a-manager").go("/")
    page.get_by_role("link", name="Tidrapport").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tidrapport")
    page.get_by_label("Månad").fill(month.strftime("%Y-%m"))
    page.get_by_role("button", name="Visa").click()
    row = page.get_by_role("row", name="a-agent Org A")
    expect(row).to_contain_text("1:35")  # billable
    expect(row).to_contain_text("0:25")  # not billable
    expect(row).to_contain_text("2:00")  # total
    expect(page.get_by_role("table", name="Per handläggare och organisation")).to_be_visible()
    previous = (month - dt.timedelta(days=1)).strftime("%Y-%m")
    page.get_by_role("link", name="Föregående månad").click()
    expect(page.get_by_text("Ingen tid registrerades den här månaden.")).to_be_visible()
    assert f"month={previous}" in page.url
