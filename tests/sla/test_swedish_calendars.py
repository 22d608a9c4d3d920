"""The demo tenants' calendars on the days that matter most: Swedish offices are closed on
Midsommarafton, Julafton and Nyårsafton, so SoftOne's short day is the working day before;
the calendar page names the holiday sets and lists the year's closed and short days."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from sla import demo
from sla.calendar import BusinessCalendar
from sla.models import Calendar
from supportdesk.models import Membership, Role, Tenant, User
from tests.conftest import client_for
from tickets.management.commands.seed_load import OFFICE as SEED_CALENDAR

pytestmark = pytest.mark.django_db

SWEDISH = ("synerity", "stratsys", "softone", "itsl")
EVES_CLOSED = (dt.date(2026, 6, 19), dt.date(2026, 12, 24), dt.date(2026, 12, 31))
SOFTONE_SHORT_DAYS = (
    dt.date(2026, 4, 2),  # Maundy Thursday, before Långfredagen
    dt.date(2026, 4, 30),  # before Första maj
    dt.date(2026, 5, 13),  # before Kristi himmelsfärdsdag
    dt.date(2026, 6, 5),  # before Sveriges nationaldag
    dt.date(2026, 6, 18),  # the Thursday before Midsommarafton
    dt.date(2026, 12, 23),  # before Julafton
    dt.date(2026, 12, 30),  # before Nyårsafton
)


def _tenant(slug: str, tz: str = "Europe/Stockholm", language: str = "sv") -> Tenant:
    tenant = Tenant.objects.create(
        slug=slug, name=slug.title(), time_zone=tz, ticket_prefix="X", default_language=language
    )
    with scope(tenant=tenant):
        demo.load(tenant)
    return tenant


def _default_engine(tenant: Tenant) -> BusinessCalendar:
    with scope(tenant=tenant):
        return Calendar.objects.get(is_default=True).engine


@pytest.mark.parametrize("slug", SWEDISH)
def test_swedish_demo_offices_are_closed_on_the_eves(slug: str) -> None:
    engine = _default_engine(_tenant(slug))
    for day in EVES_CLOSED:
        assert engine.intervals_on(day) == [], (slug, day)
    assert engine.intervals_on(dt.date(2026, 12, 22)), "an ordinary Tuesday is open"


def test_the_load_seed_closes_the_swedish_eves_too() -> None:
    engine = BusinessCalendar.from_dict(SEED_CALENDAR)
    for day in EVES_CLOSED:
        assert engine.intervals_on(day) == [], day


def test_softone_closes_at_13_on_the_working_day_before_each_closed_day() -> None:
    engine = _default_engine(_tenant("softone"))
    for day in SOFTONE_SHORT_DAYS:
        (start, end), *more = engine.intervals_on(day)
        assert (f"{start:%H:%M}", f"{end:%H:%M}", more) == ("08:00", "13:00", []), day
    full = engine.intervals_on(dt.date(2026, 12, 22))
    assert [f"{s:%H:%M}-{e:%H:%M}" for s, e in full] == ["08:00-12:00", "13:00-16:00"]


def _admin_page(tenant: Tenant, language: str) -> str:
    with scope(tenant=tenant):
        admin = User.objects.create_user(
            username=f"{tenant.slug}-admin", email="a@example.test", language=language
        )
        Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
        calendar = Calendar.objects.get(is_default=True)
    client = client_for(admin, tenant)
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), tick=False):
        return client.get(reverse("sla:calendar", args=[calendar.pk])).content.decode()


def test_the_calendar_page_lists_holiday_sets_and_the_years_closed_and_short_days() -> None:
    page = _admin_page(_tenant("softone"), "sv")
    assert "allmänna helgdagar i Sverige" in page
    assert "de facto-helgdagar" in page
    assert "23 Dec 2026</th><td>08:00–13:00</td><td>dagen före Julafton<" in page
    assert "24 Dec 2026</th><td>stängt</td><td>Julafton<" in page
    assert "Julafton" in page and "Midsommarafton" in page  # next June is within 12 months
    assert "08:00–13:00" in page


def test_the_calendar_page_names_days_in_the_readers_language() -> None:
    english = _admin_page(_tenant("softone"), "en")
    assert "Christmas Eve" in english and "day before Christmas Eve" in english
    syneton = _tenant("syneton", "Europe/Brussels", "nl")
    dutch = _admin_page(syneton, "nl")
    assert "Paasmaandag" in dutch
    assert "Kerstsluiting" in dutch  # the closure by the name the admin gave it
    with scope(tenant=syneton):
        User.objects.filter(username="syneton-admin").delete()
    assert "Easter Monday" in _admin_page(syneton, "en")
