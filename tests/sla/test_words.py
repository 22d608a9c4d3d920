"""Words that match the numbers: business units, "around the clock" for 24/7 targets, and
explanations that name short days, closures and holidays in the reader's language."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import translation
from django_scopes import scope

from sla.calendar import BusinessCalendar
from sla.explanations import business_duration_words, clock_explain
from sla.models import Clock, Metric, SLATarget, TargetUnit
from tests.conftest import Cast
from tests.sla.test_promises import BE, SE, _file
from tests.sla.test_swedish_calendars import _tenant
from tests.tickets.conftest import ALWAYS, build_desk
from tickets.templatetags.ticket_tags import business_time

SOFTONE = BusinessCalendar.from_dict(
    {
        "timezone": "Europe/Stockholm",
        "week": {d: ["08:00-12:00", "13:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)


def test_business_time_is_worded_in_business_hours_and_working_days() -> None:
    with translation.override("en"):
        assert business_time(11 * 3600, SOFTONE) == (
            "11 business hours left (about 1.5 working days)"
        )
        assert business_time(48 * 3600, SOFTONE) == (
            "48 business hours left (about 7 working days)"
        )
        assert business_time(7 * 3600 + 60, SOFTONE) == (
            "7 business hours 1 min left (about 1 working day)"
        )
        assert business_time(45 * 60, SOFTONE) == "45 business minutes left"
        assert business_time(-(2 * 3600), SOFTONE) == "overdue by 2 business hours"
        around = BusinessCalendar.from_dict(ALWAYS)
        assert business_time(48 * 3600, around) == "2 days left"
    with translation.override("sv"):
        assert business_duration_words(11 * 3600, SOFTONE) == (
            "11 kontorstimmar (cirka 1,5 arbetsdagar)"
        )
    with translation.override("nl"):
        assert business_duration_words(11 * 3600, SOFTONE) == (
            "11 kantooruren (ongeveer 1,5 werkdagen)"
        )


@pytest.mark.django_db
def test_a_target_counted_around_the_clock_says_so(cast: Cast) -> None:
    desk = build_desk(cast)
    with scope(tenant=cast.tenant_a), translation.override("en"):
        acute = SLATarget.objects.get(priority=desk.p1, metric=Metric.FIRST_RESPONSE)
        assert acute.describe() == "within 60 minutes, around the clock"
        acute.unit, acute.amount = TargetUnit.HOURS, 1
        assert acute.describe() == "within 1 hour, around the clock"
        office = SLATarget.objects.get(priority=None, metric=Metric.FIRST_RESPONSE)
        assert office.describe() == "within 4 business hours"


def _explain(tenant: object, ticket: object, language: str, now: dt.datetime) -> str:
    with scope(tenant=tenant), translation.override(language):
        clock = Clock.objects.select_related("calendar", "target__policy", "ticket").get(
            ticket=ticket, metric=Metric.FIRST_RESPONSE
        )
        with time_machine.travel(now, tick=False):
            return " ".join(clock_explain(clock))


@pytest.mark.django_db
def test_the_explanation_names_short_days_and_holidays_in_the_readers_language() -> None:
    tenant = _tenant("softone")
    filed = dt.datetime(2026, 12, 22, 15, 0, tzinfo=SE)
    ticket = _file(tenant, "SoftOne SLA", filed, priority="P4")  # 48 business hours
    english = _explain(tenant, ticket, "en", filed)
    assert "Wed 23 Dec closes at 13:00, day before Christmas Eve" in english
    assert "24 December (Christmas Eve)" in english
    assert "about 7 working days" in english
    swedish = _explain(tenant, ticket, "sv", filed)
    assert "dagen före Julafton" in swedish
    assert "(Juldagen)" in swedish


@pytest.mark.django_db
def test_the_explanation_names_a_closure_by_the_name_the_admin_gave_it() -> None:
    tenant = _tenant("syneton", "Europe/Brussels", "nl")
    filed = dt.datetime(2026, 12, 24, 15, 0, tzinfo=BE)
    ticket = _file(tenant, "Maintenance", filed)
    dutch = _explain(tenant, ticket, "nl", filed)
    assert "Kerstsluiting 25 december–1 januari" in dutch
