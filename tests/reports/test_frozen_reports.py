"""Issue #17: a closed month's report is stored when it is first made and never changes
afterwards, even if a ticket's priority or the calendar changes later; a manager's
"Recompute" stores the next version with an audit event. The month not yet over is live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import translation
from django_scopes import scope

from reports.models import ReportSnapshot
from reports.services import (
    RecomputeRefused,
    report_from_data,
    report_recompute,
    report_to_data,
    sla_report_build,
    sla_report_for,
)
from sla.services import calendar_update
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tests.reports.test_monthly_report import OCTOBER, desk, october  # noqa: F401  (fixtures)
from tests.tickets.conftest import Desk, at
from tickets.models import Ticket
from tickets.services import ticket_change_priority

NOVEMBER_20 = at(2026, 11, 20, 12)
CLOSED_TUE_WED = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-17:00"] for d in ("mon", "thu", "fri")},
    "holidays": {"country": "SE", "categories": ["public"]},
}


def _for(cast: Cast, **kwargs: Any) -> dict[str, Any]:
    """The organisation's October report every reader gets, as the snapshot's data."""
    with time_machine.travel(NOVEMBER_20, tick=False), scope(tenant=cast.tenant_a):
        report = sla_report_for(tenant=cast.tenant_a, month=OCTOBER, **kwargs)
        return report_to_data(report)


def _live(cast: Cast) -> dict[str, Any]:
    with time_machine.travel(NOVEMBER_20, tick=False), scope(tenant=cast.tenant_a):
        return report_to_data(
            sla_report_build(tenant=cast.tenant_a, month=OCTOBER, organisation=cast.org_a)
        )


def _change_priority_and_calendar(cast: Cast, on: Desk) -> None:
    """What a tenant does after the month: the late incident becomes P1, and the office
    calendar loses Tuesday and Wednesday."""
    with time_machine.travel(NOVEMBER_20, tick=False), scope(tenant=cast.tenant_a):
        late = Ticket.objects.get(subject="Late incident")
        ticket_change_priority(ticket=late, priority=on.p1, actor=cast.agent)
        calendar_update(
            calendar=on.office, name="Office", config=CLOSED_TUE_WED, is_default=True,
            actor=cast.admin,
        )  # fmt: skip


@pytest.fixture
def october_desk(desk: Desk, october: None) -> Desk:  # noqa: F811  (the imported fixtures)
    """The desk with October's tickets (tests/reports/test_monthly_report.py)."""
    return desk


def test_a_closed_months_figures_do_not_change_when_priorities_or_calendars_do(
    cast: Cast, october_desk: Desk
) -> None:
    first = _for(cast, organisation=cast.org_a)
    _change_priority_and_calendar(cast, october_desk)
    # The change is real: today's rows give other figures (a new priority, due times).
    assert _live(cast)["tickets"] != first["tickets"]
    assert _for(cast, organisation=cast.org_a) == first
    with scope(tenant=cast.tenant_a):
        assert ReportSnapshot.objects.filter(organisation=cast.org_a).count() == 1


def test_the_frozen_report_reads_the_same_on_the_page_and_in_the_csv(
    cast: Cast, october_desk: Desk
) -> None:
    client = client_for(cast.manager, cast.tenant_a)
    query = {"month": "2026-10", "organisation": cast.org_a.pk}
    with time_machine.travel(NOVEMBER_20, tick=False):
        before = client.get("/reports/monthly/tickets.csv", query).content
        _change_priority_and_calendar(cast, october_desk)
        page = client.get("/reports/monthly/", query).content.decode()
        after = client.get("/reports/monthly/tickets.csv", query).content
    assert after == before
    assert "Figures frozen on" in page and "version 1" in page
    assert "Normal" in after.decode() and "Critical" not in after.decode()


def test_a_manager_recomputes_a_month_into_a_new_audited_version(
    cast: Cast, october_desk: Desk
) -> None:
    first = _for(cast, organisation=cast.org_a)
    _change_priority_and_calendar(cast, october_desk)
    client = client_for(cast.manager, cast.tenant_a)
    with time_machine.travel(NOVEMBER_20, tick=False):
        answer = client.post(
            "/reports/monthly/recompute/", {"month": "2026-10", "organisation": cast.org_a.pk}
        )
        assert answer.status_code == 302
        page = client.get(answer["Location"]).content.decode()
    assert "version 2" in page and "Recomputed by" in page
    # Made at 12:00 in Stockholm (11:00 UTC), shown in the tenant's time zone.
    assert "Figures frozen on 20 November 2026 12:00, version 2." in page
    second = _for(cast, organisation=cast.org_a)
    assert second == _live(cast) != first
    with scope(tenant=cast.tenant_a):
        versions = ReportSnapshot.objects.filter(organisation=cast.org_a)
        assert sorted(versions.values_list("version", flat=True)) == [1, 2]
        assert versions.get(version=2).made_by == cast.manager
        event = AuditEvent.objects.get(actor=cast.manager)
        assert event.changes["version"] == [None, 2]
        assert "data" not in event.changes


def test_the_tenant_wide_report_is_frozen_on_its_own(cast: Cast, october_desk: Desk) -> None:
    tenant_wide = _for(cast)
    _change_priority_and_calendar(cast, october_desk)
    assert _for(cast) == tenant_wide
    with scope(tenant=cast.tenant_a):
        assert ReportSnapshot.objects.filter(organisation=None).count() == 1
        assert len(tenant_wide["tickets"]) == 3


def test_the_month_not_yet_over_is_live_and_cannot_be_recomputed(
    cast: Cast, october_desk: Desk
) -> None:
    november = dt.date(2026, 11, 1)
    with time_machine.travel(NOVEMBER_20, tick=False), scope(tenant=cast.tenant_a):
        report = sla_report_for(tenant=cast.tenant_a, month=november)
        assert not report.frozen
        with pytest.raises(RecomputeRefused, match="not over yet"):
            report_recompute(
                tenant=cast.tenant_a, month=november, organisation=None, actor=cast.manager
            )
        assert not ReportSnapshot.objects.exists()
    client = client_for(cast.manager, cast.tenant_a)
    with time_machine.travel(NOVEMBER_20, tick=False):
        page = client.post("/reports/monthly/recompute/", {"month": "2026-11"})
        assert page.status_code == 400
        assert "is not over yet" in page.content.decode()
        for bad in ({}, {"month": "2026-13"}, {"month": "next"}):
            answer = client.post("/reports/monthly/recompute/", bad)
            assert answer.status_code == 400, bad
            assert 'role="alert"' in answer.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not ReportSnapshot.objects.exists()
        assert not AuditEvent.objects.filter(actor=cast.manager).exists()


def test_a_snapshot_keeps_every_figure_of_the_report(cast: Cast, october_desk: Desk) -> None:
    with time_machine.travel(NOVEMBER_20, tick=False), scope(tenant=cast.tenant_a):
        live = sla_report_build(tenant=cast.tenant_a, month=OCTOBER, organisation=cast.org_a)
        data = report_to_data(live)
        back = report_from_data(data, tenant=cast.tenant_a, organisation=cast.org_a)
    assert report_to_data(back) == data
    assert [t.reference for t in back.tickets] == [t.reference for t in live.tickets]
    assert back.total.outcomes.keys() == live.total.outcomes.keys()
    assert [(p.metric, p.target) for p in back.promises] == [
        (p.metric, p.target) for p in live.promises
    ]


def test_a_snapshot_made_in_english_reads_in_swedish(cast: Cast, october_desk: Desk) -> None:
    with translation.override("en"):
        _for(cast, organisation=cast.org_a)
    with (
        translation.override("sv"),
        time_machine.travel(NOVEMBER_20, tick=False),
        scope(tenant=cast.tenant_a),
    ):
        report = sla_report_for(tenant=cast.tenant_a, month=OCTOBER, organisation=cast.org_a)
        assert report.frozen
        words = {t.category for t in report.tickets} | {p.target for p in report.promises}
        words |= {label for t in report.tickets for label, _line in t.targets}
    assert "Fråga" in words or "fråga" in " ".join(words).lower(), words
    assert "within 4 business hours" not in words
    assert any("arbetstimm" in w or "kontorstimm" in w for w in words), words


def test_a_missed_target_says_by_how_much_in_business_hours(cast: Cast, october_desk: Desk) -> None:
    with translation.override("en"), time_machine.travel(NOVEMBER_20, tick=False):
        with scope(tenant=cast.tenant_a):
            report = sla_report_for(tenant=cast.tenant_a, month=OCTOBER, organisation=cast.org_a)
        client = client_for(cast.manager, cast.tenant_a)
        page = client.get("/reports/monthly/", {"month": "2026-10", "organisation": cast.org_a.pk})
    late = next(t for t in report.tickets if t.subject == "Late incident")
    first_response = dict(late.targets)["First response"]
    # Due Tue 6 Oct 13:00 (4 business hours from 09:00), answered Wed 7 Oct 09:00: the
    # afternoon 13-17 and 08-09 the next morning.
    assert first_response.late_minutes == 5 * 60
    assert first_response.late_label == "Missed by 5 h (business hours)"
    assert "Missed by 5 h (business hours)" in page.content.decode()
    met = next(t for t in report.tickets if t.subject == "Met question")
    assert dict(met.targets)["First response"].late_label == ""


def test_the_page_lists_the_months_tickets_a_page_at_a_time_and_the_csv_all(
    cast: Cast, october_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """18,000 tickets on one page took 45 s to render; the CSV and the PDF keep them all."""
    monkeypatch.setattr("reports.views.TICKETS_PER_PAGE", 2)
    client = client_for(cast.manager, cast.tenant_a)
    query = {"month": "2026-10", "organisation": cast.org_a.pk}
    with time_machine.travel(NOVEMBER_20, tick=False):
        first = client.get("/reports/monthly/", query).content.decode()
        second = client.get("/reports/monthly/", {**query, "page": 2}).content.decode()
        bad = client.get("/reports/monthly/", {**query, "page": "x"})
        rows = client.get("/reports/monthly/tickets.csv", query).content.decode().splitlines()
    assert "Tickets 1–2 of 3; the CSV and the PDF list them all." in first
    assert "Met question" in first and "Unanswered incident" not in first
    assert "Tickets 3–3 of 3" in second and "Unanswered incident" in second
    assert "Met question" not in second
    assert bad.status_code == 200 and "Tickets 1–2 of 3" in bad.content.decode()
    assert len(rows) == 1 + 3
