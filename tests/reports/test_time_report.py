"""The time report: logged time per agent and organisation in one month, billable or not."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_scopes import scope

from contracts.models import Contact, Organisation
from reports.selectors import time_report_for_month
from reports.templatetags.report_tags import hours_minutes
from supportdesk.models import Membership, Role, User
from tests.conftest import Cast, client_for
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.services import ticket_create, time_entry_log

MARCH = dt.date(2026, 3, 1)


def _ticket(cast: Cast, organisation: Organisation | None = None) -> Ticket:
    requester = cast.customer_contact
    if organisation is not None:
        requester = Contact.objects.create(
            tenant=cast.tenant_a,
            organisation=organisation,
            name=f"Someone at {organisation.name}",
            email=f"x{organisation.pk}@example.test",
        )
    return ticket_create(
        tenant=cast.tenant_a,
        requester=requester,
        subject="Work",
        description="",
        channel=Channel.EMAIL,
        enforce_entitlement=False,
    )


def _log(ticket: Ticket, agent: User, minutes: int, billable: bool, day: dt.date) -> None:
    time_entry_log(ticket=ticket, agent=agent, minutes=minutes, billable=billable, work_date=day)


@pytest.fixture
def march(cast: Cast) -> dict[str, object]:
    """Org A and Org C; the agent and the admin log time in February, March and April."""
    with scope(tenant=cast.tenant_a):
        org_c = Organisation.objects.create(tenant=cast.tenant_a, name="Org C")
        a, c = _ticket(cast), _ticket(cast, org_c)
        _log(a, cast.agent, 90, True, dt.date(2026, 3, 1))
        _log(a, cast.agent, 30, False, dt.date(2026, 3, 31))
        _log(a, cast.agent, 45, True, dt.date(2026, 3, 15))
        _log(c, cast.agent, 20, False, dt.date(2026, 3, 2))
        _log(c, cast.admin, 61, True, dt.date(2026, 3, 10))
        _log(a, cast.agent, 600, True, dt.date(2026, 2, 28))  # outside March, either side
        _log(a, cast.admin, 600, False, dt.date(2026, 4, 1))
    return {"org_c": org_c}


def test_it_splits_billable_time_per_agent_and_organisation(
    cast: Cast, march: dict[str, object]
) -> None:
    with scope(tenant=cast.tenant_a):
        report = time_report_for_month(tenant=cast.tenant_a, month=MARCH)
    rows = {(r.agent, r.organisation): (r.billable, r.non_billable, r.entries) for r in report.rows}
    assert rows == {
        ("a-agent", "Org A"): (135, 30, 3),
        ("a-agent", "Org C"): (0, 20, 1),
        ("a-admin", "Org C"): (61, 0, 1),
    }
    assert [(t.label, t.billable, t.non_billable) for t in report.by_agent] == [
        ("a-admin", 61, 0),
        ("a-agent", 135, 50),
    ]
    assert [(t.label, t.minutes) for t in report.by_organisation] == [("Org A", 165), ("Org C", 81)]
    total = report.total
    assert (total.billable, total.non_billable, total.minutes) == (196, 50, 246)


def test_it_is_one_query_whatever_the_number_of_entries(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = _ticket(cast)
        for day in range(1, 29):
            org = Organisation.objects.create(tenant=cast.tenant_a, name=f"Org {day:02}")
            _log(_ticket(cast, org), cast.agent, day, day % 2 == 0, dt.date(2026, 3, day))
            _log(ticket, cast.admin, day, True, dt.date(2026, 3, day))
        with CaptureQueriesContext(connection) as queries:
            report = time_report_for_month(tenant=cast.tenant_a, month=MARCH)
    assert len(queries) == 1
    assert len(report.rows) == 29
    assert report.total.entries == 56


def test_it_counts_time_logged_after_midnight_in_the_tenants_month(cast: Cast) -> None:
    """23:30 UTC on 31 January is 00:30 on 1 February in Stockholm: February's time."""
    with scope(tenant=cast.tenant_a):
        ticket = _ticket(cast)
        with time_machine.travel(dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC), tick=False):
            time_entry_log(ticket=ticket, agent=cast.agent, minutes=15, billable=True)
        january = time_report_for_month(tenant=cast.tenant_a, month=dt.date(2026, 1, 1))
        february = time_report_for_month(tenant=cast.tenant_a, month=dt.date(2026, 2, 1))
    assert january.total.minutes == 0
    assert february.total.minutes == 15


def test_a_ticket_without_an_organisation_is_its_own_row(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = _ticket(cast)
        Ticket.objects.filter(pk=ticket.pk).update(organisation=None)
        _log(ticket, cast.agent, 10, False, MARCH)
        with translation.override("sv"):
            report = time_report_for_month(tenant=cast.tenant_a, month=MARCH)
    rows = [(r.organisation_id, r.organisation) for r in report.rows]
    assert rows == [(None, "Ingen organisation")]


@pytest.mark.parametrize(
    ("language", "minutes", "shown"),
    [
        ("en", 0, "0:00"),
        ("en", 65, "1:05"),
        ("sv", 1234 * 60 + 5, "1\xa0234:05"),
        ("nl", 1234 * 60 + 5, "1.234:05"),
        ("en", 1234 * 60 + 59, "1,234:59"),
    ],
)
def test_hours_are_shown_as_h_mm_in_the_readers_language(
    language: str, minutes: int, shown: str
) -> None:
    with translation.override(language):
        assert hours_minutes(minutes) == shown


def test_a_manager_sees_everyones_time_on_the_page(cast: Cast, march: dict[str, object]) -> None:
    client = client_for(cast.manager, cast.tenant_a)
    response = client.get("/reports/time/", {"month": "2026-03"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "a-admin" in page and "a-agent" in page
    assert "4:06" in page  # the month's total, 246 minutes
    assert "?month=2026-02" in page and "?month=2026-04" in page


def test_an_agent_sees_only_their_own_time(cast: Cast, march: dict[str, object]) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get("/reports/time/", {"month": "2026-03"}).content.decode()
    assert "a-agent" in page and "a-admin" not in page
    assert "3:05" in page  # 185 minutes of the agent's own
    assert "4:06" not in page
    rows = list(csv.reader(io.StringIO(client.get("/reports/time/export.csv?month=2026-03")
                                       .content.decode())))  # fmt: skip
    assert {row[1] for row in rows[1:-1]} == {"a-agent"}


def test_another_agent_gets_no_one_elses_time(cast: Cast, march: dict[str, object]) -> None:
    with scope(tenant=cast.tenant_a):
        other = User.objects.create_user(username="a-agent-2", password="x")
        Membership.objects.create(tenant=cast.tenant_a, user=other, role=Role.AGENT)
    page = client_for(other, cast.tenant_a).get("/reports/time/?month=2026-03").content.decode()
    assert "a-agent<" not in page and "a-admin" not in page


@pytest.mark.parametrize("who", ["customer", "named"])
def test_customers_get_404(cast: Cast, who: str) -> None:
    client = client_for(getattr(cast, who), cast.tenant_a)
    assert client.get("/reports/time/").status_code == 404
    assert client.get("/reports/time/export.csv").status_code == 404


def test_the_csv_has_minutes_per_agent_and_organisation_and_a_total(
    cast: Cast, march: dict[str, object]
) -> None:
    response = client_for(cast.admin, cast.tenant_a).get("/reports/time/export.csv?month=2026-03")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="time-report-2026-03.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Month", "Agent", "Organisation", "Billable minutes", "Non-billable minutes",
        "Total minutes", "Entries",
    ]  # fmt: skip
    assert rows[1:] == [
        ["2026-03", "a-admin", "Org C", "61", "0", "61", "1"],
        ["2026-03", "a-agent", "Org A", "135", "30", "165", "3"],
        ["2026-03", "a-agent", "Org C", "0", "20", "20", "1"],
        ["2026-03", "Total", "", "196", "50", "246", "5"],
    ]


@pytest.mark.parametrize("month", ["2026-13", "march", "0001-01", "9999-12", "2026-03-01x"])
def test_a_bad_month_is_a_400_with_a_message_in_the_readers_language(
    cast: Cast, month: str
) -> None:
    User.objects.filter(pk=cast.manager.pk).update(language="sv")
    client = client_for(cast.manager, cast.tenant_a)
    page = client.get("/reports/time/", {"month": month})
    assert page.status_code == 400
    assert "Välj en månad" in page.content.decode()
    assert client.get("/reports/time/export.csv", {"month": month}).status_code == 400


def test_without_a_month_it_shows_the_current_month_in_the_tenant(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = _ticket(cast)
        _log(ticket, cast.agent, 7, True, dt.date(2026, 3, 1))
    client = client_for(cast.manager, cast.tenant_a)
    with time_machine.travel(dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC), tick=False):
        page = client.get("/reports/time/").content.decode()
    assert 'value="2026-03"' in page and "0:07" in page


def test_the_reports_link_to_each_other_and_the_navigation_to_the_time_report(
    cast: Cast,
) -> None:
    manager = client_for(cast.manager, cast.tenant_a)
    assert 'href="/reports/time/"' in manager.get("/reports/").content.decode()
    assert 'href="/reports/"' in manager.get("/reports/time/").content.decode()
    agent_page = client_for(cast.agent, cast.tenant_a).get("/agent/queue/").content.decode()
    assert 'href="/reports/time/"' in agent_page
