"""Dates and times as each language writes them: English pages in day-month order with the
24-hour clock (the tenants are in Stockholm and Brussels), Swedish and Dutch as Django has
them; and time left in business hours, never as calendar days."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.utils import translation
from django_scopes import scope

from contracts.services import organisation_save
from sla.calendar import BusinessCalendar
from tests.conftest import Cast, client_for
from tickets.templatetags.ticket_tags import business_time

MOMENT = dt.datetime(2026, 12, 2, 14, 30, tzinfo=dt.UTC)
FORMATS = ["DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT"]
EXPECTED = {
    "en": ["2 December 2026", "2 December 2026 14:30", "02/12/2026", "02/12/2026 14:30"],
    "sv": ["2 december 2026", "2 december 2026 14:30", "2026-12-02", "2026-12-02 14:30"],
    "nl": ["2 december 2026", "2 december 2026 14:30", "2-12-2026", "2-12-2026 14:30"],
}


def _render(language: str, name: str) -> str:
    with translation.override(language):
        template = Template(f'{{% load tz %}}{{{{ moment|utc|date:"{name}" }}}}')
        return template.render(Context({"moment": MOMENT}))


@pytest.mark.parametrize("language", EXPECTED)
def test_dates_follow_the_readers_language_in_day_month_order_and_24_hours(
    language: str,
) -> None:
    shown = [_render(language, name) for name in FORMATS]
    assert shown == EXPECTED[language]
    assert not re.search(r"[ap]\.m\.|AM|PM", " ".join(shown))


@pytest.mark.django_db
def test_the_audit_trail_in_english_shows_day_month_and_24_hours(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        cast.org_a.name = "Org A Renamed"
        organisation_save(organisation=cast.org_a, actor=cast.admin)
    cast.admin.language = "en"
    cast.admin.save(update_fields=["language"])
    page = client_for(cast.admin, cast.tenant_a).get("/manage/audit/").content.decode()
    assert re.search(r"<time[^>]*>\d{2}/\d{2}/\d{4} \d{2}:\d{2}</time>", page), page[-3000:]
    assert "p.m." not in page and "a.m." not in page


SOFTONE = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-12:00", "13:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
}


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "48 business hours left (about 7 working days)"),
        ("sv", "48 kontorstimmar kvar (cirka 7 arbetsdagar)"),
        ("nl", "nog 48 kantooruren (ongeveer 7 werkdagen)"),
    ],
)
def test_48_business_hours_left_reads_as_business_hours_not_two_days(
    language: str, words: str
) -> None:
    engine = BusinessCalendar.from_dict(SOFTONE)
    with translation.override(language):
        text = business_time(48 * 3600, engine)
    assert words in text
    assert not re.search(r"\b2 (days|dagar|dagen)\b", text)
