"""Worked examples per customer organisation, computed by hand (the comments show the sums).

Every expected instant is also checked against the brute-force oracle, so a wrong hand
computation would show up as a disagreement rather than silently pinning a bug.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import BusinessCalendar

from .oracle import Oracle, us

STOCKHOLM = ZoneInfo("Europe/Stockholm")
BRUSSELS = ZoneInfo("Europe/Brussels")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def weekdays(*intervals: str) -> dict[str, list[str]]:
    return {day: list(intervals) for day in WEEKDAYS}


def sthlm(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=STOCKHOLM)


def check_add(cfg: dict[str, Any], start: datetime, duration: timedelta, expected: str) -> None:
    cal = BusinessCalendar.from_dict(cfg)
    got = cal.add(start, duration)
    assert us(got) == us(datetime.fromisoformat(expected)), got.isoformat()
    assert got.tzinfo is cal.timezone
    assert us(Oracle(cfg).add(start, duration)) == us(got)


def check_add_days(cfg: dict[str, Any], start: datetime, n: int, expected: str) -> None:
    cal = BusinessCalendar.from_dict(cfg)
    got = cal.add_days(start, n)
    assert us(got) == us(datetime.fromisoformat(expected)), got.isoformat()
    assert us(Oracle(cfg).add_days(start, n)) == us(got)


H = timedelta(hours=1)
MIN = timedelta(minutes=1)

# ---- SoftOne: weekdays 08-12 + 13-16, Swedish holidays, closes at 13:00 before a holiday ----

SOFTONE = {
    "timezone": "Europe/Stockholm",
    "week": weekdays("08:00-12:00", "13:00-16:00"),
    "holidays": {"country": "SE", "categories": ["public", "de_facto"]},
    "eve_hours": ["08:00-13:00"],
}


def test_softone_eve_of_may_day_replaces_the_lunch_break() -> None:
    # Thu 30 April 2026 is the eve of Första maj (Fri 1 May): open 08-13 with no lunch, so
    # 11:00 + 2 h = 13:00 the same day.
    check_add(SOFTONE, sthlm(2026, 4, 30, 11), 2 * H, "2026-04-30T13:00:00+02:00")
    # One minute more does not fit: Fri 1 May holiday, weekend, so Mon 4 May 08:01.
    check_add(SOFTONE, sthlm(2026, 4, 30, 11), 2 * H + MIN, "2026-05-04T08:01:00+02:00")
    cal = BusinessCalendar.from_dict(SOFTONE)
    assert cal.day_kind(date(2026, 4, 30)) == ("eve", "Första maj eve")
    assert cal.day_kind(date(2026, 5, 1)) == ("holiday", "Första maj")
    assert [(s.hour, e.hour) for s, e in cal.intervals_on(date(2026, 4, 30))] == [(8, 13)]


def test_softone_lunch_break() -> None:
    # Mon 4 May 2026, 11:00 + 60 min uses up the morning exactly: the deadline is 12:00,
    # the earliest instant, not 13:00 after lunch.
    check_add(SOFTONE, sthlm(2026, 5, 4, 11), 60 * MIN, "2026-05-04T12:00:00+02:00")
    check_add(SOFTONE, sthlm(2026, 5, 4, 11), 61 * MIN, "2026-05-04T13:01:00+02:00")
    # A ticket during lunch starts counting at 13:00.
    check_add(SOFTONE, sthlm(2026, 5, 4, 12, 30), 30 * MIN, "2026-05-04T13:30:00+02:00")
    cal = BusinessCalendar.from_dict(SOFTONE)
    assert not cal.is_open(sthlm(2026, 5, 4, 12))
    assert cal.is_open(sthlm(2026, 5, 4, 11, 59))
    assert us(cal.next_open(sthlm(2026, 5, 4, 12, 30))) == us(sthlm(2026, 5, 4, 13))
    assert cal.between(sthlm(2026, 5, 4, 11), sthlm(2026, 5, 4, 14)) == 2 * H


def test_softone_p3_twelve_hours_across_a_weekend() -> None:
    # Fri 8 May 14:00: Fri 14-16 = 2 h (10 left); Mon 11 May 08-12 + 13-16 = 7 h (3 left);
    # Tue 12 May 08:00 + 3 h = 11:00.
    check_add(SOFTONE, sthlm(2026, 5, 8, 14), 12 * H, "2026-05-12T11:00:00+02:00")


def test_softone_p3_over_ascension_day() -> None:
    # Wed 13 May 2026 is the eve of Kristi himmelsfärdsdag (Thu 14 May): open 08-13.
    # 10:00: Wed 10-13 = 3 h (9 left); Thu holiday; Fri 15 May 7 h (2 left);
    # Mon 18 May 08:00 + 2 h = 10:00.
    check_add(SOFTONE, sthlm(2026, 5, 13, 10), 12 * H, "2026-05-18T10:00:00+02:00")


def test_softone_christmas() -> None:
    # With the de_facto category Julafton (Thu 24 Dec 2026) is a holiday, so Wed 23 Dec is
    # its eve (08-13). 12:00 + 4 h: Wed 1 h (3 left); 24, 25 (Juldagen), 26 Sat, 27 Sun
    # closed; Mon 28 Dec is an ordinary day (29 Dec is no holiday): 08:00 + 3 h = 11:00.
    check_add(SOFTONE, sthlm(2026, 12, 23, 12), 4 * H, "2026-12-28T11:00:00+01:00")
    cal = BusinessCalendar.from_dict(SOFTONE)
    assert cal.day_kind(date(2026, 12, 23)) == ("eve", "Julafton eve")
    assert cal.day_kind(date(2026, 12, 25)) == ("holiday", "Juldagen")
    assert cal.day_kind(date(2026, 12, 27)) == ("closed", "weekend")
    assert cal.day_kind(date(2026, 12, 28)) == ("weekly", "")
    # Closed weekdays only; Sat 26 Dec (Annandag jul) is a weekend day anyway.
    assert cal.closed_days(date(2026, 12, 20), date(2027, 1, 10)) == [
        (date(2026, 12, 24), "holiday", "Julafton"),
        (date(2026, 12, 25), "holiday", "Juldagen"),
        (date(2026, 12, 31), "holiday", "Nyårsafton"),
        (date(2027, 1, 1), "holiday", "Nyårsdagen"),
        (date(2027, 1, 6), "holiday", "Trettondedag jul"),
    ]


# ---- Synerity: weekdays 08-17, Swedish holidays ----------------------------------------------

SYNERITY = {
    "timezone": "Europe/Stockholm",
    "week": weekdays("08:00-17:00"),
    "holidays": {"country": "SE", "categories": ["public", "de_facto"]},
}


def test_synerity_silver_eight_hours_over_the_weekend() -> None:
    # Fri 8 May 2026 15:00: Fri 15-17 = 2 h (6 left); Mon 11 May 08:00 + 6 h = 14:00.
    # (Monday 15:00 would need a lunch hour in the day; see the next assertion.)
    check_add(SYNERITY, sthlm(2026, 5, 8, 15), 8 * H, "2026-05-11T14:00:00+02:00")
    with_lunch = {**SYNERITY, "week": weekdays("08:00-12:00", "13:00-17:00")}
    # Fri 2 h (6 left); Mon 08-12 = 4 h (2 left); 13:00 + 2 h = 15:00.
    check_add(with_lunch, sthlm(2026, 5, 8, 15), 8 * H, "2026-05-11T15:00:00+02:00")


def test_synerity_across_midsummer() -> None:
    # Thu 18 Jun 2026 15:00: Thu 2 h (6 left); Fri 19 Midsommarafton (de_facto holiday),
    # Sat 20 Midsommardagen, Sun closed; Mon 22 Jun 08:00 + 6 h = 14:00.
    check_add(SYNERITY, sthlm(2026, 6, 18, 15), 8 * H, "2026-06-22T14:00:00+02:00")
    # With public holidays only Midsommarafton is a working day: Fri 19 Jun 14:00.
    public_only = {**SYNERITY, "holidays": {"country": "SE"}}
    check_add(public_only, sthlm(2026, 6, 18, 15), 8 * H, "2026-06-19T14:00:00+02:00")


# ---- ITSL: weekdays 08-17, Swedish public holidays, "within n working days" ------------------

ITSL = {
    "timezone": "Europe/Stockholm",
    "week": weekdays("08:00-17:00"),
    "holidays": {"country": "SE"},
}


def test_itsl_next_working_day() -> None:
    # Friday evening, Saturday, or Friday morning: the next working day is Monday, due at
    # its close.
    for start in (sthlm(2026, 5, 8, 19), sthlm(2026, 5, 9, 10), sthlm(2026, 5, 8, 8)):
        check_add_days(ITSL, start, 1, "2026-05-11T17:00:00+02:00")


def test_itsl_five_working_days_over_easter() -> None:
    # Wed 1 Apr 2026: Thu 2 (1), Fri 3 Långfredagen, Sat, Sun, Mon 6 Annandag påsk closed,
    # Tue 7 (2), Wed 8 (3), Thu 9 (4), Fri 10 (5) -> Fri 10 Apr 17:00.
    check_add_days(ITSL, sthlm(2026, 4, 1, 10), 5, "2026-04-10T17:00:00+02:00")
    # From Thu 2 Apr: 7, 8, 9, 10, 13 -> Mon 13 Apr 17:00.
    check_add_days(ITSL, sthlm(2026, 4, 2, 12), 5, "2026-04-13T17:00:00+02:00")
    cal = BusinessCalendar.from_dict(ITSL)
    assert cal.closed_days(date(2026, 4, 1), date(2026, 4, 10)) == [
        (date(2026, 4, 3), "holiday", "Långfredagen"),
        (date(2026, 4, 6), "holiday", "Annandag påsk"),
    ]


# ---- Syneton: Brussels, Belgian holidays, shorter Fridays, closed 25 Dec - 1 Jan --------------

SYNETON = {
    "timezone": "Europe/Brussels",
    "week": {
        **{day: ["09:00-12:00", "13:00-16:30"] for day in ["mon", "tue", "wed", "thu"]},
        "fri": ["09:00-12:00", "13:00-15:30"],
    },
    "holidays": {"country": "BE"},
    "closures": [{"from": "12-25", "to": "01-01"}],
}


def brussels(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BRUSSELS)


def test_syneton_before_christmas() -> None:
    # Wed 23 Dec 2026 16:00 + 4 h: Wed 16:00-16:30 = 0.5 h (3.5 left). Thu 24 Dec is NOT
    # closed (it is no Belgian public holiday and the closure starts on the 25th):
    # 09-12 = 3 h (0.5 left), 13:00 + 0.5 h = 13:30 on Thu 24 Dec -- not in January.
    check_add(SYNETON, brussels(2026, 12, 23, 16), 4 * H, "2026-12-24T13:30:00+01:00")


def test_syneton_over_the_year_end_closure() -> None:
    # Thu 24 Dec 2026 15:00 + 4 h: Thu 15:00-16:30 = 1.5 h (2.5 left); 25 Dec - 1 Jan
    # closure; Sat 2, Sun 3 Jan; Mon 4 Jan 2027 09:00 + 2.5 h = 11:30.
    check_add(SYNETON, brussels(2026, 12, 24, 15), 4 * H, "2027-01-04T11:30:00+01:00")
    cal = BusinessCalendar.from_dict(SYNETON)
    # The closure outranks the holiday on New Year's Day.
    assert cal.day_kind(date(2027, 1, 1)) == ("closure", "12-25..01-01")
    assert [d for d, _, _ in cal.closed_days(date(2026, 12, 20), date(2027, 1, 5))] == [
        date(2026, 12, 25),
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]


def test_syneton_short_friday() -> None:
    # Fri 18 Dec 2026 15:00 + 1 h: Fri 15:00-15:30 = 0.5 h; Mon 21 Dec 09:00 + 0.5 h.
    check_add(SYNETON, brussels(2026, 12, 18, 15), H, "2026-12-21T09:30:00+01:00")


# ---- Stratsys: 4 h first response, weekdays 08-17 ------------------------------------------

STRATSYS = {
    "timezone": "Europe/Stockholm",
    "week": weekdays("08:00-17:00"),
    "holidays": {"country": "SE"},
}


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Fri 15:30: 1.5 h on Friday, Mon 08:00 + 2.5 h.
        (sthlm(2026, 5, 8, 15, 30), "2026-05-11T10:30:00+02:00"),
        # Saturday: counting starts Monday 08:00.
        (sthlm(2026, 5, 9, 11), "2026-05-11T12:00:00+02:00"),
        # Tuesday morning: same day.
        (sthlm(2026, 5, 12, 9), "2026-05-12T13:00:00+02:00"),
        # At closing time exactly: nothing left that day.
        (sthlm(2026, 5, 12, 17), "2026-05-13T12:00:00+02:00"),
    ],
)
def test_stratsys_first_response(start: datetime, expected: str) -> None:
    check_add(STRATSYS, start, 4 * H, expected)


# ---- Daylight saving time -------------------------------------------------------------------

WEEKEND_OPEN = {
    "timezone": "Europe/Stockholm",
    "week": {**weekdays("08:00-17:00"), "sat": ["00:00-24:00"], "sun": ["00:00-24:00"]},
}


def test_dst_days_are_an_hour_shorter_or_longer() -> None:
    cal = BusinessCalendar.from_dict(WEEKEND_OPEN)
    # Sun 29 Mar 2026: 02:00 -> 03:00, a 23-hour day. Sun 25 Oct 2026: 03:00 -> 02:00, 25 h.
    assert cal.between(sthlm(2026, 3, 29), sthlm(2026, 3, 30)) == 23 * H
    assert cal.between(sthlm(2026, 10, 25), sthlm(2026, 10, 26)) == 25 * H
    # Sat 28 Mar 12:00 + 24 h: Saturday 12 h; Sunday 00:00 CET (23:00 UTC) + 12 h of real
    # time = 11:00 UTC = 13:00 CEST.
    check_add(WEEKEND_OPEN, sthlm(2026, 3, 28, 12), 24 * H, "2026-03-29T13:00:00+02:00")
    # Autumn: 00:00 CEST (22:00 UTC) + 12 h = 10:00 UTC = 11:00 CET.
    check_add(WEEKEND_OPEN, sthlm(2026, 10, 24, 12), 24 * H, "2026-10-25T11:00:00+01:00")


def test_dst_always_open() -> None:
    cal = BusinessCalendar.always_open_calendar("Europe/Stockholm")
    assert cal.between(sthlm(2026, 3, 28, 12), sthlm(2026, 3, 29, 12)) == 23 * H
    assert cal.between(sthlm(2026, 10, 24, 12), sthlm(2026, 10, 25, 12)) == 25 * H
    # 01:30 CET + 1 h of real time = 03:30 CEST.
    got = cal.add(sthlm(2026, 3, 29, 1, 30), H)
    assert got.isoformat() == "2026-03-29T03:30:00+02:00"
    assert cal.day_kind(date(2026, 3, 29)) == ("always_open", "")
    assert cal.add_days(sthlm(2026, 3, 28, 10), 1).isoformat() == "2026-03-30T00:00:00+02:00"


def test_dst_interval_containing_the_jump() -> None:
    cfg = {
        "timezone": "Europe/Stockholm",
        "week": weekdays("08:00-17:00"),
        "overrides": {
            "2026-03-29": ["01:00-04:00"],  # 02:00-03:00 does not exist: 2 h
            "2026-10-25": ["01:00-04:00"],  # 02:00-03:00 happens twice: 4 h
            "2026-03-28": ["02:30-05:00"],  # an ordinary Saturday: 2.5 h
        },
    }
    cal = BusinessCalendar.from_dict(cfg)
    assert cal.between(sthlm(2026, 3, 29), sthlm(2026, 3, 30)) == 2 * H
    assert cal.between(sthlm(2026, 10, 25), sthlm(2026, 10, 26)) == 4 * H
    # Opens 01:00 CEST; + 2 h of real time is the second 02:00 (CET), + 3 h is 03:00 CET.
    check_add(cfg, sthlm(2026, 10, 25), 2 * H, "2026-10-25T02:00:00+01:00")
    check_add(cfg, sthlm(2026, 10, 25), 3 * H, "2026-10-25T03:00:00+01:00")


def test_dst_nonexistent_wall_time_resolves_like_fold_0() -> None:
    # 02:30 does not exist on 29 Mar 2026; zoneinfo with fold=0 reads it with the winter
    # offset: 02:30+01:00 = 01:30 UTC = 03:30 CEST. So "02:30-05:00" opens at 03:30 CEST
    # and lasts 1.5 h.
    cfg = {
        "timezone": "Europe/Stockholm",
        "week": weekdays("08:00-17:00"),
        "overrides": {"2026-03-29": ["02:30-05:00"]},
    }
    cal = BusinessCalendar.from_dict(cfg)
    [(start, end)] = cal.intervals_on(date(2026, 3, 29))
    assert start.isoformat() == "2026-03-29T03:30:00+02:00"
    assert end.isoformat() == "2026-03-29T05:00:00+02:00"
    assert cal.between(sthlm(2026, 3, 29), sthlm(2026, 3, 30)) == timedelta(minutes=90)
    assert us(cal.next_open(sthlm(2026, 3, 29, 1))) == us(start)


def test_dst_new_york() -> None:
    ny = ZoneInfo("America/New_York")
    cfg = {"timezone": "America/New_York", "week": {"sun": ["00:00-12:00"]}}
    cal = BusinessCalendar.from_dict(cfg)
    # Sun 8 Mar 2026: 02:00 EST -> 03:00 EDT, so 00:00-12:00 is 11 hours.
    start = datetime(2026, 3, 8, tzinfo=ny)
    assert cal.between(start, datetime(2026, 3, 8, 12, tzinfo=ny)) == 11 * H
    check_add(cfg, start, 3 * H, "2026-03-08T04:00:00-04:00")


def test_midnight_crossing_intervals_merge() -> None:
    # A night shift written as "22:00-24:00" on Monday and "00:00-06:00" on Tuesday is one
    # stretch: open at midnight, and an add across it does not stop there.
    cfg = {"timezone": "UTC", "week": {"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]}}
    cal = BusinessCalendar.from_dict(cfg)
    utc = ZoneInfo("UTC")
    midnight = datetime(2026, 5, 5, tzinfo=utc)
    assert cal.is_open(midnight)
    assert us(cal.next_open(datetime(2026, 5, 4, 21, tzinfo=utc))) == us(
        datetime(2026, 5, 4, 22, tzinfo=utc)
    )
    check_add(cfg, datetime(2026, 5, 4, 23, tzinfo=utc), 2 * H, "2026-05-05T01:00:00+00:00")
    # Monday's closing instant is its 24:00, Tuesday's 06:00.
    check_add_days(cfg, datetime(2026, 5, 3, 12, tzinfo=utc), 1, "2026-05-05T00:00:00+00:00")
    check_add_days(cfg, datetime(2026, 5, 3, 12, tzinfo=utc), 2, "2026-05-05T06:00:00+00:00")


def test_issue_example_configuration() -> None:
    cfg = {
        "timezone": "Europe/Stockholm",
        "week": weekdays("08:00-12:00", "13:00-16:00"),
        "holidays": {
            "country": "SE",
            "subdiv": None,
            "categories": ["public", "de_facto"],
            "extra": ["2026-06-05"],
            "exclude": [],
        },
        "eve_hours": ["08:00-13:00"],
        "closures": [{"from": "12-25", "to": "01-01"}, {"from": "2026-07-13", "to": "2026-07-17"}],
        "overrides": {"2026-12-23": ["09:00-12:00"]},
        "always_open": False,
    }
    cal = BusinessCalendar.from_dict(cfg)
    assert cal.day_kind(date(2026, 6, 5)) == ("holiday", "extra holiday")
    # Thu 4 Jun is the eve of the extra holiday, so 08-13.
    assert cal.day_kind(date(2026, 6, 4)) == ("eve", "extra holiday eve")
    assert cal.day_kind(date(2026, 7, 15)) == ("closure", "2026-07-13..2026-07-17")
    # The override beats the eve of Julafton.
    assert cal.day_kind(date(2026, 12, 23)) == ("override", "")
    # Tue 22 Dec 15:00 + 2 h: Tue 1 h, Wed 23 Dec (override 09-12) 09:00 + 1 h = 10:00.
    check_add(cfg, sthlm(2026, 12, 22, 15), 2 * H, "2026-12-23T10:00:00+01:00")
    # Wed 23 Dec 11:00 + 2 h: 1 h left on the 23rd; 24 Dec - 1 Jan closed (holidays and
    # the closure), Sat 2, Sun 3 Jan; Mon 4 Jan is an ordinary day (the eve of Trettondedag
    # jul, Wed 6 Jan, is Tue 5 Jan): 08:00 + 1 h = 09:00.
    check_add(cfg, sthlm(2026, 12, 23, 11), 2 * H, "2027-01-04T09:00:00+01:00")
    assert BusinessCalendar.from_dict(cal.to_dict()) == cal
