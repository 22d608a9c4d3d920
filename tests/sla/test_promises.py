"""The five organisations' SLA promises, end to end: their demo configuration, a contract on
the policy, a ticket filed at a chosen moment, and the due time the clock shows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scope

from contracts.models import Contact, Contract, Organisation, SupportPlan
from sla import demo
from sla.models import Clock, ClockState, Metric, Priority, SLAPolicy
from supportdesk.celery import app as celery_app
from supportdesk.models import Membership, Role, Tenant, User
from tickets.choices import Category, Channel, SupportLine
from tickets.models import Ticket
from tickets.services import ticket_create

pytestmark = pytest.mark.django_db

SE = ZoneInfo("Europe/Stockholm")
BE = ZoneInfo("Europe/Brussels")


@pytest.fixture(autouse=True)
def eager() -> None:
    celery_app.conf.task_always_eager = True


def _tenant(slug: str, tz: str = "Europe/Stockholm") -> Tenant:
    tenant = Tenant.objects.create(slug=slug, name=slug.title(), time_zone=tz, ticket_prefix="X")
    with scope(tenant=tenant):
        admin = User.objects.create_user(username=f"{slug}-admin", email=f"{slug}@example.test")
        Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
        demo.load(tenant)
    return tenant


def _file(tenant: Tenant, policy: str, moment: dt.datetime, priority: str | None = None) -> Ticket:
    """File a ticket for a customer whose contract is on ``policy``, at ``moment``."""
    with scope(tenant=tenant):
        org, _ = Organisation.objects.get_or_create(tenant=tenant, name=f"Kund {policy}")
        contact, _ = Contact.objects.get_or_create(
            tenant=tenant,
            email=f"kund@{policy.replace(' ', '').lower()}.example",
            defaults={"name": "Kim Kund", "organisation": org},
        )
        plan, _ = SupportPlan.objects.get_or_create(
            tenant=tenant,
            name=f"Plan {policy}",
            defaults={
                "sla_policy": SLAPolicy.objects.get(name=policy),
                "included_categories": list(Category.values),
            },
        )
        Contract.objects.get_or_create(
            tenant=tenant, organisation=org, plan=plan, defaults={"starts_on": dt.date(2020, 1, 1)}
        )
        with time_machine.travel(moment, tick=False):
            return ticket_create(
                tenant=tenant,
                requester=contact,
                subject="Hjälp",
                description="",
                channel=Channel.EMAIL,
                category=Category.INCIDENT,
                priority=Priority.objects.get(key=priority) if priority else None,
            )


def _due(tenant: Tenant, ticket: Ticket, metric: str = Metric.FIRST_RESPONSE) -> dt.datetime | None:
    with scope(tenant=tenant):
        clock = Clock.objects.filter(ticket=ticket, metric=metric).first()
        return None if clock is None else clock.due_at


def test_synerity_silver_answers_within_8_business_hours_on_weekdays_08_17() -> None:
    tenant = _tenant("synerity")
    ticket = _file(tenant, "Silver", dt.datetime(2026, 3, 6, 13, 0, tzinfo=SE))  # Friday
    assert _due(tenant, ticket) == dt.datetime(2026, 3, 9, 12, 0, tzinfo=SE)  # 4 h + 4 h


def test_synerity_guld_answers_in_2_hours_and_acute_incidents_in_1_business_hour() -> None:
    tenant = _tenant("synerity")
    normal = _file(tenant, "Guld", dt.datetime(2026, 3, 6, 16, 0, tzinfo=SE))
    assert _due(tenant, normal) == dt.datetime(2026, 3, 9, 9, 0, tzinfo=SE)
    acute = _file(tenant, "Guld", dt.datetime(2026, 3, 7, 22, 30, tzinfo=SE), priority="P1")
    # Saturday night: support answers weekdays 08-17, so the faster promise counts from Monday.
    assert _due(tenant, acute) == dt.datetime(2026, 3, 9, 9, 0, tzinfo=SE)


def test_stratsys_digital_tickets_get_a_first_answer_within_4_hours() -> None:
    tenant = _tenant("stratsys")
    ticket = _file(tenant, "Digital tickets", dt.datetime(2026, 4, 2, 15, 0, tzinfo=SE))
    # Maundy Thursday 15-17, then Good Friday and Easter Monday are closed.
    assert _due(tenant, ticket) == dt.datetime(2026, 4, 7, 10, 0, tzinfo=SE)


def test_softone_counts_lunch_and_closes_at_13_before_a_public_holiday() -> None:
    tenant = _tenant("softone")
    p1 = _file(tenant, "SoftOne SLA", dt.datetime(2026, 3, 9, 11, 0, tzinfo=SE), priority="P1")
    assert _due(tenant, p1) == dt.datetime(2026, 3, 9, 14, 0, tzinfo=SE)  # 11-12, 13-14
    # Wednesday 13 May 2026 is the eve of Ascension Day: open 08-13 only.
    p2 = _file(tenant, "SoftOne SLA", dt.datetime(2026, 5, 13, 12, 30, tzinfo=SE), priority="P2")
    assert _due(tenant, p2) == dt.datetime(2026, 5, 15, 11, 30, tzinfo=SE)  # 30 min + 3.5 h
    standard = _file(tenant, "SoftOne SLA", dt.datetime(2026, 3, 9, 8, 0, tzinfo=SE))
    # P5: 48 business hours of 7 a day: six days and 6 hours.
    assert _due(tenant, standard) == dt.datetime(2026, 3, 17, 15, 0, tzinfo=SE)


def test_itsl_counts_working_days_and_escalates_p1_at_once() -> None:
    tenant = _tenant("itsl")
    p3 = _file(tenant, "ITSL SLA", dt.datetime(2026, 3, 6, 10, 0, tzinfo=SE), priority="P3")
    assert _due(tenant, p3) == dt.datetime(2026, 3, 9, 17, 0, tzinfo=SE)  # next working day
    assert _due(tenant, p3, Metric.RESOLUTION) == dt.datetime(2026, 3, 13, 17, 0, tzinfo=SE)
    p4 = _file(tenant, "ITSL SLA", dt.datetime(2026, 3, 6, 10, 0, tzinfo=SE), priority="P4")
    assert _due(tenant, p4) == dt.datetime(2026, 3, 10, 17, 0, tzinfo=SE)
    assert _due(tenant, p4, Metric.RESOLUTION) is None  # "by agreement": no promise
    p1 = _file(tenant, "ITSL SLA", dt.datetime(2026, 3, 9, 9, 0, tzinfo=SE), priority="P1")
    assert _due(tenant, p1) == dt.datetime(2026, 3, 9, 10, 0, tzinfo=SE)
    assert _due(tenant, p1, Metric.RESOLUTION) == dt.datetime(2026, 3, 9, 17, 0, tzinfo=SE)
    with scope(tenant=tenant):
        p1.refresh_from_db()
    assert p1.support_line == SupportLine.SECOND


def test_syneton_closes_between_christmas_and_new_year_and_on_belgian_holidays() -> None:
    tenant = _tenant("syneton", "Europe/Brussels")
    friday = _file(tenant, "Maintenance", dt.datetime(2026, 3, 6, 15, 0, tzinfo=BE))
    assert _due(tenant, friday) == dt.datetime(2026, 3, 9, 16, 30, tzinfo=BE)
    christmas = _file(tenant, "Maintenance", dt.datetime(2026, 12, 24, 10, 0, tzinfo=BE))
    assert _due(tenant, christmas) == dt.datetime(2027, 1, 4, 16, 30, tzinfo=BE)
    urgent = _file(tenant, "Maintenance", dt.datetime(2026, 4, 3, 15, 0, tzinfo=BE), priority="P1")
    # Friday 15:00-15:30, Easter Monday closed, Tuesday 09:00-12:00 and 13:00-13:30.
    assert _due(tenant, urgent) == dt.datetime(2026, 4, 7, 13, 30, tzinfo=BE)
    with scope(tenant=tenant):
        assert Clock.objects.filter(ticket=urgent, state=ClockState.RUNNING).count() == 1
