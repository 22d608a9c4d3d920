"""The monthly billing export per organisation: billable time and billable (out-of-scope)
tickets with their accepted quotes, as a page, a CSV and an API answer (issue #15 item 7)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django_scopes import scope

from contracts.choices import Category
from reports.billing import billing_export_for_month
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Channel
from tickets.services import ticket_create, time_entry_log

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)


def _seed(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        billed = ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="New report",
            description="x", channel=Channel.PORTAL, category=Category.OUT_OF_SCOPE,
            enforce_entitlement=False, accepted_billable=True,
        )  # fmt: skip
        billed.billable = True
        billed.save(update_fields=["billable"])
        time_entry_log(ticket=billed, agent=cast.agent, minutes=90, billable=True, work_date=MARCH)
        time_entry_log(ticket=billed, agent=cast.agent, minutes=15, billable=False, work_date=MARCH)
        # April's time is another month's bill.
        time_entry_log(
            ticket=billed, agent=cast.agent, minutes=30, billable=True,
            work_date=dt.date(2026, 4, 1),
        )  # fmt: skip


def test_it_sums_billable_time_and_lists_billable_tickets_per_organisation(cast: Cast) -> None:
    _seed(cast)
    with scope(tenant=cast.tenant_a):
        export = billing_export_for_month(tenant=cast.tenant_a, month=MARCH)
    (org,) = export.organisations
    assert (org.name, org.billable, org.non_billable) == (cast.org_a.name, 90, 15)
    assert [t.subject for t in org.tickets] == ["New report"]


def test_the_csv_has_translated_headings_and_a_total(cast: Cast) -> None:
    _seed(cast)
    client = client_for(cast.manager, cast.tenant_a)
    response = client.get("/reports/billing/export.csv?month=2026-03", HTTP_ACCEPT_LANGUAGE="sv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][1] == cast.org_a.name and rows[1][5] == "90"
    assert rows[-1][5] == "90"


def test_bad_input_is_a_400_or_a_404(cast: Cast) -> None:
    client = client_for(cast.manager, cast.tenant_a)
    assert client.get("/reports/billing/?month=2026-13").status_code == 400
    assert client.get("/reports/billing/export.csv?month=x").status_code == 400
    assert client.get("/reports/billing/?organisation=abc").status_code == 404
    api = api_client_for(cast.manager, cast.tenant_a)
    assert api.get("/api/v1/reports/billing/?month=nope").status_code == 400
    assert api.get("/api/v1/reports/billing/?organisation=999999").status_code == 404


def test_the_page_and_the_api_show_the_month(cast: Cast) -> None:
    _seed(cast)
    page = client_for(cast.manager, cast.tenant_a).get("/reports/billing/?month=2026-03")
    assert page.status_code == 200 and "New report" in page.content.decode()
    api = api_client_for(cast.manager, cast.tenant_a)
    data = api.get("/api/v1/reports/billing/?month=2026-03").json()
    assert data["billable"] == 90 and data["organisations"][0]["tickets"][0]["billable"] == 90
    assert (
        api_client_for(cast.agent, cast.tenant_a).get("/api/v1/reports/billing/").status_code == 404
    )
