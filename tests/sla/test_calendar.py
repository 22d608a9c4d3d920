"""Property tests: the engine against the brute-force oracle, round trips and bad input."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendar import BusinessCalendar

from .oracle import Oracle, us

# SLA_PROPERTY_SCALE=20 multiplies every example count for an occasional deep run.
SCALE = float(os.environ.get("SLA_PROPERTY_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


PROPS = settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ZONES = [
    "Europe/Stockholm",
    "Europe/Brussels",
    "America/New_York",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "UTC",
]
COUNTRY_CATEGORIES = {
    "SE": [["public"], ["public", "de_facto"]],
    "NL": [["public"]],
    "BE": [["public"]],
    "US": [["public"]],
    "AU": [["public"]],
    "BR": [["public"]],
}
# The DST changes of each zone (Sao Paulo last had DST in 2018/2019, with the change at
# midnight: the nastiest case), and dates around holidays, their eves and year ends.
DST_DATES = {
    "Europe/Stockholm": [date(2026, 3, 29), date(2026, 10, 25)],
    "Europe/Brussels": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Sydney": [date(2026, 4, 5), date(2026, 10, 4)],
    "America/Sao_Paulo": [date(2018, 11, 4), date(2019, 2, 16)],
    "UTC": [date(2026, 3, 29)],
}
INTERESTING = [
    date(2026, 4, 2),
    date(2026, 4, 30),
    date(2026, 5, 13),
    date(2026, 6, 18),
    date(2026, 12, 23),
    date(2026, 12, 31),
    date(2027, 1, 1),
    date(2025, 12, 25),
    date(2026, 7, 3),
    date(2026, 11, 26),
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# Quarter-hour grid points; 0 and 96 (midnight, 24:00) and the hours where DST jumps happen
# (01:00-03:00, and 23:00-24:00 for Sao Paulo) are drawn often.
grid_points = st.one_of(
    st.sampled_from([0, 0, 96, 96, 4, 6, 8, 9, 10, 12, 32, 48, 52, 64, 68, 92, 94]),
    st.integers(0, 96),
)


@st.composite
def interval_lists(draw: st.DrawFn, min_size: int = 0, max_size: int = 3) -> list[str]:
    n = draw(st.integers(min_size, max_size))
    points = sorted(draw(st.lists(grid_points, min_size=2 * n, max_size=2 * n)))
    out = []
    for k in range(n):
        s, e = points[2 * k] * 15, points[2 * k + 1] * 15
        if s < e:  # equal neighbours across intervals are fine: adjacency
            out.append(f"{fmt(s)}-{fmt(e)}")
    return out


def month_day(d: date) -> str:
    return f"{d.month:02d}-{d.day:02d}"


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(INTERESTING + DST_DATES[zone] * 3))
    cfg: dict[str, Any] = {"timezone": zone}
    if draw(st.integers(0, 9)) == 0:
        cfg["always_open"] = True
        return cfg
    week = {}
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]:
        if draw(st.booleans()) or day in ("mon", "tue", "wed"):
            week[day] = draw(interval_lists())
    if not any(week.values()):
        week["mon"] = ["09:00-17:00"]
    cfg["week"] = week
    if draw(st.booleans()):
        country = draw(st.sampled_from([*COUNTRY_CATEGORIES, None]))
        near = st.integers(-6, 10).map(lambda k: (base + timedelta(days=k)).isoformat())
        cfg["holidays"] = {
            "country": country,
            "extra": draw(st.lists(near, max_size=2)),
            "exclude": draw(st.lists(near, max_size=2)),
        }
        if country is not None:
            cfg["holidays"]["categories"] = draw(st.sampled_from(COUNTRY_CATEGORIES[country]))
    eve = draw(st.sampled_from(["none", "empty", "hours"]))
    if eve == "empty":
        cfg["eve_hours"] = []
    elif eve == "hours":
        cfg["eve_hours"] = draw(interval_lists(min_size=1))
    closures = []
    for _ in range(draw(st.integers(0, 2))):
        first = base + timedelta(days=draw(st.integers(-10, 10)))
        last = first + timedelta(days=draw(st.integers(0, 12)))
        if draw(st.booleans()):
            closures.append({"from": month_day(first), "to": month_day(last)})  # may wrap
        else:
            closures.append({"from": first.isoformat(), "to": last.isoformat()})
    if closures:
        cfg["closures"] = closures
    overrides = {}
    for _ in range(draw(st.integers(0, 3))):
        d = base + timedelta(days=draw(st.integers(-3, 8)))
        overrides[d.isoformat()] = draw(interval_lists())
    if overrides:
        cfg["overrides"] = overrides
    cfg["_base"] = base.isoformat()  # not part of the config: where to put the instants
    return cfg


def split(cfg: dict[str, Any]) -> tuple[dict[str, Any], date]:
    cfg = dict(cfg)
    base = date.fromisoformat(cfg.pop("_base", "2026-03-29"))
    return cfg, base


@st.composite
def instants(draw: st.DrawFn, cfg: dict[str, Any], base: date) -> datetime:
    """An instant near ``base``: on an interval boundary, on the grid, or anywhere."""
    oracle = Oracle(cfg)
    d = base + timedelta(days=draw(st.one_of(st.sampled_from([0, 0, -1, 1]), st.integers(-3, 4))))
    how = draw(st.sampled_from(["boundary", "grid", "any"]))
    tz = oracle.tz
    if how == "boundary":
        pieces = oracle.day_pieces(d)
        if pieces:
            s, e = draw(st.sampled_from(pieces))
            x = draw(st.sampled_from([s, e]))
            return (EPOCH + timedelta(microseconds=x)).astimezone(tz)
    minute = draw(grid_points) * 15 if how == "grid" else draw(st.integers(0, 1439))
    minute = min(minute, 1439)
    t = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=tz)
    if how == "any":
        t += timedelta(
            seconds=draw(st.integers(0, 59)), microseconds=draw(st.integers(0, 10**6 - 1))
        )
    fold = draw(st.integers(0, 1))
    t = t.replace(fold=fold)
    # Callers pass datetimes in any zone: results must not depend on that.
    other = draw(st.sampled_from([None, "UTC", "Asia/Tokyo"]))
    return t if other is None else t.astimezone(ZoneInfo(other))


durations = st.one_of(
    st.just(timedelta(0)),
    st.integers(1, 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 20 * 86400).map(lambda s: timedelta(seconds=s)),
    st.tuples(st.integers(0, 5 * 86400), st.integers(0, 10**6 - 1)).map(
        lambda p: timedelta(seconds=p[0], microseconds=p[1])
    ),
)


def shift(t: datetime, delta: timedelta) -> datetime:
    """``t + delta`` in real (UTC) time; aware arithmetic in a zone is wall-clock arithmetic."""
    return t.astimezone(UTC) + delta


def same_instant(x: datetime, y: datetime) -> bool:
    return us(x) == us(y)


def in_zone(cal: BusinessCalendar, x: datetime) -> bool:
    return x.tzinfo is cal.timezone


# ---- engine vs oracle ---------------------------------------------------------------------


@st.composite
def durations_to_boundaries(draw: st.DrawFn, cfg: dict[str, Any], start: datetime) -> timedelta:
    """Exactly the business time from ``start`` to a nearby interval end or start: the case
    where "earliest instant" matters (the end, not the next start after a break)."""
    oracle = Oracle(cfg)
    day = oracle.local_date(start)
    bounds = [
        x
        for s, e in oracle.open_set(day, day + timedelta(days=draw(st.integers(0, 6))))
        for x in (s, e)
        if x > us(start)
    ]
    if not bounds:
        return draw(durations)
    end = EPOCH + timedelta(microseconds=draw(st.sampled_from(bounds)))
    return oracle.between(start, end)


@PROPS
@given(data=st.data(), raw=configs(), duration=durations)
def test_add_matches_oracle(data: st.DataObject, raw: dict[str, Any], duration: timedelta) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    start = data.draw(instants(cfg, base))
    if data.draw(st.booleans()):
        duration = data.draw(durations_to_boundaries(cfg, start))
    got = cal.add(start, duration)
    want = Oracle(cfg).add(start, duration)
    assert same_instant(got, want), (start, duration, got, want)
    assert in_zone(cal, got)


@PROPS
@given(data=st.data(), raw=configs())
def test_between_matches_oracle(data: st.DataObject, raw: dict[str, Any]) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    a = data.draw(instants(cfg, base))
    b = data.draw(st.one_of(instants(cfg, base), durations.map(lambda d: shift(a, d))))
    a, b = (a, b) if us(a) <= us(b) else (b, a)
    assert cal.between(a, b) == Oracle(cfg).between(a, b), (a, b)


@PROPS
@given(data=st.data(), raw=configs(), n=st.integers(1, 12))
def test_add_days_matches_oracle(data: st.DataObject, raw: dict[str, Any], n: int) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    start = data.draw(instants(cfg, base))
    got = cal.add_days(start, n)
    want = Oracle(cfg).add_days(start, n)
    assert same_instant(got, want), (start, n, got, want)
    assert in_zone(cal, got)


@PROPS
@given(data=st.data(), raw=configs())
def test_is_open_and_next_open_match_oracle(data: st.DataObject, raw: dict[str, Any]) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    oracle = Oracle(cfg)
    t = data.draw(instants(cfg, base))
    assert cal.is_open(t) == oracle.is_open(t), t
    got = cal.next_open(t)
    assert same_instant(got, oracle.next_open(t)), t
    assert in_zone(cal, got)
    assert cal.is_open(got)


@settings(PROPS, max_examples=examples(150))
@given(raw=configs(), offset=st.integers(-4, 5))
def test_day_views_match_oracle(raw: dict[str, Any], offset: int) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    oracle = Oracle(cfg)
    d = base + timedelta(days=offset)
    kind, name, _ = oracle.kind(d)
    assert cal.day_kind(d) == (kind, name)
    got = [(us(s), us(e)) for s, e in cal.intervals_on(d)]
    assert got == oracle.day_pieces(d)
    closed = [
        (x, *oracle.kind(x)[:2])
        for x in (d + timedelta(days=k) for k in range(10))
        if not cal.always_open
        and (cfg.get("week") or {}).get(
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][x.weekday()]
        )
        and not oracle.day_pieces(x)
    ]
    assert cal.closed_days(d, d + timedelta(days=9)) == closed


# ---- algebraic properties -----------------------------------------------------------------


@PROPS
@given(data=st.data(), raw=configs(), duration=durations)
def test_add_is_the_earliest_inverse_of_between(
    data: st.DataObject, raw: dict[str, Any], duration: timedelta
) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    start = data.draw(instants(cfg, base))
    if data.draw(st.booleans()):
        duration = data.draw(durations_to_boundaries(cfg, start))
    end = cal.add(start, duration)
    assert us(end) >= us(start)
    assert cal.between(start, end) == duration
    if duration:
        # One microsecond earlier is not enough, and the deadline itself is never inside a
        # closed stretch it could have stopped before.
        assert cal.between(start, shift(end, -timedelta(microseconds=1))) < duration


@settings(PROPS, max_examples=examples(150))
@given(data=st.data(), raw=configs())
def test_bulk_paths_equal_scalar(data: st.DataObject, raw: dict[str, Any]) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg)
    starts = data.draw(st.lists(instants(cfg, base), min_size=1, max_size=8))
    durs = data.draw(st.lists(durations, min_size=len(starts), max_size=len(starts)))
    a = np.array([s.timestamp() for s in starts])
    d = np.array([x.total_seconds() for x in durs])
    got = cal.add_many(a, d)
    want = np.array([cal.add(s, x).timestamp() for s, x in zip(starts, durs, strict=True)])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    ends = [shift(s, x) for s, x in zip(starts, durs, strict=True)]
    b = np.array([e.timestamp() for e in ends])
    got_b = cal.between_many(a, b)
    want_b = np.array(
        [cal.between(s, e).total_seconds() for s, e in zip(starts, ends, strict=True)]
    )
    np.testing.assert_allclose(got_b, want_b, rtol=0, atol=2e-6)


@settings(PROPS, max_examples=examples(300))
@given(
    t=st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2150, 12, 30),
        timezones=st.sampled_from([ZoneInfo(z) for z in ZONES] + [UTC]),
    ),
    delta=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_always_open_is_exact_to_the_microsecond(t: datetime, delta: timedelta) -> None:
    # Exercises the float fast path and the exact slow path of the instant conversions.
    cal = BusinessCalendar.always_open_calendar("Europe/Stockholm")
    assert us(cal.add(t, delta)) == us(t) + delta // timedelta(microseconds=1)
    assert cal.between(t, shift(t, delta)) == delta
    assert same_instant(cal.next_open(t), t)
    assert cal.is_open(t)


# ---- round trip and caching ---------------------------------------------------------------


@settings(PROPS, max_examples=examples(150))
@given(data=st.data(), raw=configs(), duration=durations)
def test_round_trip(data: st.DataObject, raw: dict[str, Any], duration: timedelta) -> None:
    cfg, base = split(raw)
    cal = BusinessCalendar.from_dict(cfg, cache=False)
    out = cal.to_dict()
    assert json.loads(json.dumps(out)) == out  # JSON-compatible
    again = BusinessCalendar.from_dict(out, cache=False)
    assert again.to_dict() == out
    assert again == cal
    start = data.draw(instants(cfg, base))
    assert same_instant(again.add(start, duration), cal.add(start, duration))
    assert again.day_kind(base) == cal.day_kind(base)


def test_from_dict_memoises_equivalent_configs() -> None:
    cfg = {"timezone": "UTC", "week": {"mon": ["09:00-17:00"]}}
    a = BusinessCalendar.from_dict(cfg)
    assert BusinessCalendar.from_dict(json.loads(json.dumps(cfg))) is a
    assert BusinessCalendar.cached(cfg) is a
    assert BusinessCalendar.from_dict(a.to_dict()) is a  # spelled out in full, same calendar
    assert BusinessCalendar.from_dict(cfg, cache=False) is not a


def test_horizon_extends_both_ways_without_rebuilding_per_call() -> None:
    cal = BusinessCalendar.from_dict(
        {"timezone": "Europe/Stockholm", "week": {"mon": ["09:00-17:00"]}}, cache=False
    )
    tz = cal.timezone
    t = datetime(2026, 6, 1, 10, tzinfo=tz)
    assert cal.between(t, t + timedelta(hours=1)) == timedelta(hours=1)
    state = cal._state
    cal.add(t, timedelta(hours=5))
    assert cal._state is state  # no recompilation inside the horizon
    early = datetime(2019, 1, 7, 9, tzinfo=tz)  # a Monday
    assert cal.between(early, t) == Oracle(cal.to_dict()).between(early, t)
    later = cal.add(t, timedelta(hours=8 * 52 * 3))  # three years of Mondays
    assert same_instant(later, Oracle(cal.to_dict()).add(t, timedelta(hours=8 * 52 * 3)))


def test_results_are_in_the_calendar_zone() -> None:
    cal = BusinessCalendar.from_dict(
        {"timezone": "Europe/Brussels", "week": {"tue": ["09:00-10:00"]}}
    )
    t = datetime(2026, 6, 2, 7, 30, tzinfo=UTC)  # 09:30 in Brussels
    for result in (cal.add(t, timedelta(0)), cal.add(t, timedelta(minutes=10)), cal.next_open(t)):
        assert result.tzinfo is cal.timezone
    assert cal.tzname == "Europe/Brussels"
    assert cal.add(t, timedelta(minutes=30)).isoformat() == "2026-06-02T10:00:00+02:00"


def test_calendar_without_any_open_time_raises_instead_of_looping() -> None:
    cal = BusinessCalendar.from_dict(
        {
            "timezone": "UTC",
            "week": {"mon": ["09:00-17:00"]},
            "closures": [{"from": "01-01", "to": "12-31"}],
        },
        cache=False,
    )
    t = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="no open time"):
        cal.add(t, timedelta(hours=1))
    assert cal.between(t, t + timedelta(days=30)) == timedelta(0)
    assert not cal.is_open(t)


# ---- bad input ----------------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-12:00", "13:00-16:00"] for d in ["mon", "tue", "wed", "thu", "fri"]},
    "holidays": {"country": "SE", "subdiv": None, "categories": ["public", "de_facto"]},
    "eve_hours": ["08:00-13:00"],
    "closures": [{"from": "12-25", "to": "01-01"}, {"from": "2026-07-13", "to": "2026-07-17"}],
    "overrides": {"2026-12-23": ["09:00-12:00"]},
    "always_open": False,
}


def with_(path: str, value: Any) -> dict[str, Any]:
    cfg = json.loads(json.dumps(GOOD))
    node = cfg
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return cfg


BAD = [
    (with_("timezone", "Mars/Olympus"), "timezone"),
    (with_("timezone", None), "timezone"),
    (with_("week.tues", ["08:00-09:00"]), "week.tues"),
    (with_("week.tue", ["08:00-12:00", "11:00-16:00"]), r"week\.tue\[1\]: intervals overlap"),
    (with_("week.tue", ["13:00-16:00", "08:00-12:00"]), r"week\.tue\[1\]: intervals not sorted"),
    (with_("week.tue", ["12:00-08:00"]), r"week\.tue\[0\]: end must be after start"),
    (with_("week.tue", ["08:00-08:00"]), r"week\.tue\[0\]"),
    (with_("week.tue", ["8:00-12:00"]), r"week\.tue\[0\]: malformed"),
    (with_("week.tue", ["08:00-24:30"]), r"week\.tue\[0\]: invalid time"),
    (with_("week.tue", ["24:00-24:00"]), r"week\.tue\[0\]: invalid time"),
    (with_("week.tue", ["08:60-12:00"]), r"week\.tue\[0\]: invalid time"),
    (with_("week.tue", "08:00-12:00"), r"week\.tue: expected a list"),
    (with_("week", {"sat": []}), "week: no open time"),
    (with_("week", []), "week: expected"),
    (with_("holidays.country", "XX"), "holidays.country: unknown country 'XX'"),
    (with_("holidays.subdiv", "ZZ"), "holidays.subdiv"),
    (with_("holidays.categories", ["nope"]), r"holidays\.categories\[0\]"),
    (with_("holidays.extra", ["2026-02-30"]), r"holidays\.extra\[0\]: bad date"),
    (with_("holidays.exclude", ["26-01-01"]), r"holidays\.exclude\[0\]: bad date"),
    (with_("holidays.language", "sv"), "holidays.language: unknown key"),
    (with_("eve_hours", ["13:00-08:00"]), r"eve_hours\[0\]"),
    (with_("closures.0.from", "02-30"), r"closures\[0\]\.from: impossible date"),
    (with_("closures.0.to", "13-01"), r"closures\[0\]\.to: impossible date"),
    (with_("closures.1.to", "2026-07-01"), r"closures\[1\]\.to"),
    (with_("closures.1.to", "07-17"), r"closures\[1\]: 'from' and 'to'"),
    (with_("closures.1.until", "07-17"), r"closures\[1\]\.until: unknown key"),
    (with_("overrides", {"2026-13-23": []}), r"overrides\[2026-13-23\]: bad date"),
    (with_("overrides", {"2026-12-23": ["12:00-09:00"]}), r"overrides\[2026-12-23\]\[0\]"),
    (with_("always_open", "yes"), "always_open"),
    (with_("timezones", "UTC"), "timezones: unknown top-level key"),
]


@pytest.mark.parametrize(("cfg", "message"), BAD)
def test_bad_configuration_names_the_field(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_dict(cfg)


def test_good_configuration_is_accepted() -> None:
    BusinessCalendar.from_dict(GOOD)
    BusinessCalendar.from_dict({"timezone": "UTC", "always_open": True})
    BusinessCalendar.from_dict(with_("week.sun", ["00:00-24:00"]))
    BusinessCalendar.from_dict(with_("week.tue", ["08:00-12:00", "12:00-16:00"]))  # adjacent
    BusinessCalendar.from_dict(with_("closures.0.from", "02-29"))  # possible in leap years


def test_bad_arguments() -> None:
    cal = BusinessCalendar.from_dict(GOOD)
    naive = datetime(2026, 5, 4, 10)  # noqa: DTZ001 - the point of the test
    aware = datetime(2026, 5, 4, 10, tzinfo=cal.timezone)
    for call in (
        lambda: cal.add(naive, timedelta(hours=1)),
        lambda: cal.between(naive, aware),
        lambda: cal.between(aware, naive),
        lambda: cal.add_days(naive, 1),
        lambda: cal.is_open(naive),
        lambda: cal.next_open(naive),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()
    with pytest.raises(ValueError, match="negative"):
        cal.add(aware, timedelta(microseconds=-1))
    with pytest.raises(ValueError, match="before"):
        cal.between(aware, aware - timedelta(seconds=1))
    with pytest.raises(ValueError, match="n:"):
        cal.add_days(aware, 0)
    with pytest.raises(ValueError, match="negative"):
        cal.add_many(np.array([aware.timestamp()]), np.array([-1.0]))
    with pytest.raises(ValueError, match="before"):
        cal.between_many(np.array([aware.timestamp()]), np.array([aware.timestamp() - 1]))
