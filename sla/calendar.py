"""Business-hours calendar engine: every SLA deadline is computed here.

Pure Python (plus numpy, ``holidays`` and ``zoneinfo``); no Django import, so it can be used
from workers, scripts and tests alike. See ``docs/sla-engine.md`` for the format and design.

Design in one paragraph: a configuration is validated once into an immutable ``_Config``.
Calendar years are compiled on demand into one flat, sorted list of disjoint open intervals
``[start, end)`` in integer epoch microseconds plus prefix sums of open time. ``between`` is then
two ``bisect`` look-ups and a subtraction, ``add`` a ``bisect`` on the prefix sums; the numpy
bulk paths run ``searchsorted`` over the same arrays. Compiled calendars are memoised by the
canonical JSON of their configuration.
"""

from __future__ import annotations

import json
import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import holidays as _holidays
import numpy as np

__all__ = ["MESSAGES", "BusinessCalendar", "CalendarError", "WEEKDAYS"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TOP_KEYS = ("timezone", "week", "holidays", "eve_hours", "closures", "overrides", "always_open")
_HOLIDAY_KEYS = ("country", "subdiv", "categories", "extra", "exclude")

_INTERVAL_RE = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_DAY_RE = re.compile(r"(\d{2})-(\d{2})")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_MINUTES_PER_DAY = 1440
_FULL_DAY: tuple[tuple[int, int], ...] = ((0, _MINUTES_PER_DAY),)

# Below this many epoch seconds (~year 2096) the float round trips
# ``round(dt.timestamp() * 1e6)`` and ``fromtimestamp(us / 1e6)`` are exact to the microsecond:
# the worst-case error of the two roundings is < 0.49 us. Beyond it we use exact (slower)
# timedelta arithmetic.
_FAST_S = 4.0e9
_FAST_US = 4_000_000_000_000_000

# Year 1 and 9999 are excluded so that "the next day" and "1 January of the next year" always
# exist as ``date`` objects.
_MIN_YEAR = 2
_MAX_YEAR = 9998
# A calendar that configures open hours but closes everything (e.g. a recurring closure of the
# whole year) would make ``add`` search forever; give up after this many empty years.
_MAX_EMPTY_YEARS = 100

_CACHE_SIZE = 256

# Types whose utcoffset() never returns None, so the aware check can skip calling it.
_AWARE_TZ_TYPES = (ZoneInfo, timezone)

Interval = tuple[int, int]
"""A wall-clock interval in minutes after local midnight, ``0 <= start < end <= 1440``."""


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

MESSAGES: dict[str, str] = {
    # The configuration, as an admin writes it ("field" is the JSON path of the bad part).
    "config.not_object": "config: expected an object",
    "config.key_unknown": "%(field)s: unknown top-level key",
    "key.unknown": "%(field)s: unknown key",
    "timezone.unknown": "timezone: unknown time zone %(value)r",
    "always_open.not_bool": "always_open: expected true or false",
    "week.not_object": "week: expected an object with keys mon..sun",
    "week.day_unknown": "%(field)s: unknown weekday key (expected mon..sun)",
    "week.closed": "week: no open time in the week",
    "intervals.not_list": "%(field)s: expected a list of 'HH:MM-HH:MM' strings",
    "interval.malformed": "%(field)s: malformed interval %(value)r, expected 'HH:MM-HH:MM'",
    "interval.bad_time": "%(field)s: invalid time in %(value)r (24:00 is allowed as an end)",
    "interval.empty": "%(field)s: end must be after start in %(value)r",
    "intervals.unsorted": "%(field)s: intervals not sorted",
    "intervals.overlap": "%(field)s: intervals overlap",
    "date.malformed": "%(field)s: bad date %(value)r, expected 'YYYY-MM-DD'",
    "month_day.malformed": "%(field)s: bad date %(value)r, expected 'MM-DD' or 'YYYY-MM-DD'",
    "month_day.impossible": "%(field)s: impossible date %(value)r",
    "holidays.not_object": "holidays: expected an object or null",
    "holidays.categories_empty": (
        "holidays.categories: expected a non-empty list of category names"
    ),
    "holidays.category_not_text": "%(field)s: expected a string",
    "holidays.country_unknown": "holidays.country: unknown country %(value)r",
    "holidays.subdiv_unknown": "holidays.subdiv: unknown subdivision %(value)r",
    "holidays.subdiv_not_in_country": (
        "holidays.subdiv: unknown subdivision %(value)r for country %(country)r"
    ),
    "holidays.category_unsupported": (
        "%(field)s: unsupported category %(value)r for %(country)r (supported: %(supported)s)"
    ),
    "holidays.subdiv_without_country": "holidays.subdiv: a subdivision needs holidays.country",
    "holidays.dates_not_list": "%(field)s: expected a list of 'YYYY-MM-DD' dates",
    "closures.not_list": "closures: expected a list of {'from': ..., 'to': ...} objects",
    "closure.not_object": "%(field)s: expected an object with 'from' and 'to'",
    "closure.name_too_long": "%(field)s: expected a text of at most %(max)d characters",
    "closure.date_not_text": "%(field)s: expected 'MM-DD' or 'YYYY-MM-DD'",
    "closure.mixed_forms": "%(field)s: 'from' and 'to' must both be MM-DD or both YYYY-MM-DD",
    "closure.reversed": "%(field)s: %(end)r is before 'from' %(start)r",
    "overrides.not_object": "overrides: expected an object of 'YYYY-MM-DD': [intervals]",
    # A use of a valid calendar: what a caller (a program, rarely a person) passed.
    "year.unsupported": "date outside the supported years %(min)d..%(max)d",
    "calendar.never_open": "calendar has no open time in the %(years)d years up to %(year)d",
    "datetime.naive": "%(field)s: naive datetime; a timezone-aware datetime is required",
    "duration.negative": "%(field)s: negative duration",
    "instant.reversed": "%(field)s: before %(start)s",
    "count.invalid": "%(field)s: expected an integer >= 1, got %(value)r",
    "date.not_date": "%(field)s: expected a date",
    "date.unsupported_year": "%(field)s: outside the supported years %(min)d..%(max)d",
    "add_many.not_finite": "add_many: starts and durations must be finite",
    "between_many.not_finite": "between_many: instants must be finite",
}
"""Every refusal of the engine by code: the English text, %-placeholders filled from the
error's ``params``. The Django side (``sla/forms.py``) words the same codes in the reader's
language; ``tests/sla/test_calendar_errors.py`` keeps the two tables in step."""


class CalendarError(ValueError):
    """A configuration or argument the engine refuses.

    ``code`` (a key of :data:`MESSAGES`) and ``params`` say what is wrong for a caller that
    words it in another language; ``str()`` is the English text. A ``ValueError``, so code
    that catches that keeps working."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(MESSAGES[code] % params)
        self.code = code
        self.params = params


# --------------------------------------------------------------------------------------------
# Configuration parsing and validation
# --------------------------------------------------------------------------------------------


def _fmt_minutes(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _fmt_intervals(ivs: tuple[Interval, ...]) -> list[str]:
    return [f"{_fmt_minutes(s)}-{_fmt_minutes(e)}" for s, e in ivs]


def _parse_intervals(value: Any, field: str) -> tuple[Interval, ...]:
    """Parse a list of ``HH:MM-HH:MM`` strings: sorted, non-overlapping, end after start."""
    if not isinstance(value, list | tuple):
        raise CalendarError("intervals.not_list", field=field)
    out: list[Interval] = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        m = _INTERVAL_RE.fullmatch(item) if isinstance(item, str) else None
        if m is None:
            raise CalendarError("interval.malformed", field=where, value=item)
        sh, sm, eh, em = (int(g) for g in m.groups())
        if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em != 0):
            raise CalendarError("interval.bad_time", field=where, value=item)
        start, end = sh * 60 + sm, eh * 60 + em
        if end <= start:
            raise CalendarError("interval.empty", field=where, value=item)
        if out:
            prev_start, prev_end = out[-1]
            if start < prev_start:
                raise CalendarError("intervals.unsorted", field=where)
            if start < prev_end:
                raise CalendarError("intervals.overlap", field=where)
        out.append((start, end))
    return tuple(out)


def _parse_date(value: Any, field: str) -> date:
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError("date.malformed", field=field, value=value)


def _parse_month_day(value: str, field: str) -> tuple[int, int]:
    m = _MONTH_DAY_RE.fullmatch(value)
    if m is None:
        raise CalendarError("month_day.malformed", field=field, value=value)
    month, day = int(m.group(1)), int(m.group(2))
    try:
        date(2000, month, day)  # a leap year, so 02-29 is possible
    except ValueError:
        raise CalendarError("month_day.impossible", field=field, value=value) from None
    return month, day


@dataclass(frozen=True)
class _Holidays:
    country: str | None
    subdiv: str | None
    categories: tuple[str, ...]
    extra: tuple[date, ...]
    exclude: tuple[date, ...]
    language: str | None


@dataclass(frozen=True)
class _Closure:
    recurring: bool
    start: tuple[int, int] | date
    end: tuple[int, int] | date
    label: str  # the range as configured, "12-25..01-01"
    name: str = ""  # the admin's name for it, "Julstängning"


@dataclass(frozen=True)
class _Config:
    tzname: str
    week: tuple[tuple[Interval, ...], ...]  # mon..sun
    week_keys: tuple[str, ...]  # the weekday keys the admin wrote, kept for to_dict()
    holidays: _Holidays | None
    eve_hours: tuple[Interval, ...] | None
    closures: tuple[_Closure, ...]
    overrides: Mapping[date, tuple[Interval, ...]]
    always_open: bool


def _parse_holidays(raw: Any) -> _Holidays | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise CalendarError("holidays.not_object")
    for key in raw:
        if key not in _HOLIDAY_KEYS:
            raise CalendarError("key.unknown", field=f"holidays.{key}")
    country = raw.get("country")
    subdiv = raw.get("subdiv")
    categories_raw = raw.get("categories", ["public"])
    if categories_raw is None:
        categories_raw = ["public"]
    if not isinstance(categories_raw, list | tuple) or not categories_raw:
        raise CalendarError("holidays.categories_empty")
    for i, cat in enumerate(categories_raw):
        if not isinstance(cat, str):
            raise CalendarError("holidays.category_not_text", field=f"holidays.categories[{i}]")
    categories = tuple(dict.fromkeys(categories_raw))
    language: str | None = None
    if country is not None:
        if not isinstance(country, str):
            raise CalendarError("holidays.country_unknown", value=country)
        country = country.upper()
        if country not in _holidays.list_supported_countries():
            raise CalendarError("holidays.country_unknown", value=country)
        if subdiv is not None and not isinstance(subdiv, str):
            raise CalendarError("holidays.subdiv_unknown", value=subdiv)
        try:
            probe = _holidays.country_holidays(country, subdiv=subdiv, years=[])
        except NotImplementedError:
            raise CalendarError(
                "holidays.subdiv_not_in_country", value=subdiv, country=country
            ) from None
        supported = set(getattr(probe, "supported_categories", ()) or ())
        for i, cat in enumerate(categories):
            if supported and cat not in supported:
                raise CalendarError(
                    "holidays.category_unsupported",
                    field=f"holidays.categories[{i}]",
                    value=cat,
                    country=country,
                    supported=", ".join(sorted(supported)),
                )
        # Native holiday names ("Juldagen", not "Christmas Day") regardless of the process
        # locale, so explanations are stable.
        language = getattr(probe, "default_language", None)
    elif subdiv is not None:
        raise CalendarError("holidays.subdiv_without_country")

    def dates(key: str) -> tuple[date, ...]:
        values = raw.get(key) or []
        if not isinstance(values, list | tuple):
            raise CalendarError("holidays.dates_not_list", field=f"holidays.{key}")
        return tuple(sorted({_parse_date(v, f"holidays.{key}[{i}]") for i, v in enumerate(values)}))

    return _Holidays(
        country=country,
        subdiv=subdiv,
        categories=categories,
        extra=dates("extra"),
        exclude=dates("exclude"),
        language=language,
    )


def _parse_closures(raw: Any) -> tuple[_Closure, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise CalendarError("closures.not_list")
    out: list[_Closure] = []
    for i, item in enumerate(raw):
        where = f"closures[{i}]"
        if not isinstance(item, Mapping):
            raise CalendarError("closure.not_object", field=where)
        for key in item:
            if key not in ("from", "to", "name"):
                raise CalendarError("key.unknown", field=f"{where}.{key}")
        name = item.get("name") or ""
        if not isinstance(name, str) or len(name) > 100:
            raise CalendarError("closure.name_too_long", field=f"{where}.name", max=100)
        name = name.strip()
        for key in ("from", "to"):
            if not isinstance(item.get(key), str):
                raise CalendarError("closure.date_not_text", field=f"{where}.{key}")
        frm, to = item["from"], item["to"]
        if len(frm) == 5 and len(to) == 5:
            md_from = _parse_month_day(frm, f"{where}.from")
            md_to = _parse_month_day(to, f"{where}.to")
            label = f"{md_from[0]:02d}-{md_from[1]:02d}..{md_to[0]:02d}-{md_to[1]:02d}"
            out.append(_Closure(True, md_from, md_to, label, name))
        elif len(frm) == 5 or len(to) == 5:
            raise CalendarError("closure.mixed_forms", field=where)
        else:
            d_from = _parse_date(frm, f"{where}.from")
            d_to = _parse_date(to, f"{where}.to")
            if d_to < d_from:
                raise CalendarError("closure.reversed", field=f"{where}.to", end=to, start=frm)
            label = f"{d_from.isoformat()}..{d_to.isoformat()}"
            out.append(_Closure(False, d_from, d_to, label, name))
    return tuple(out)


def _parse_config(raw: Any) -> _Config:
    if not isinstance(raw, Mapping):
        raise CalendarError("config.not_object")
    for key in raw:
        if key not in _TOP_KEYS:
            raise CalendarError("config.key_unknown", field=key)

    tzname = raw.get("timezone")
    if not isinstance(tzname, str) or not tzname:
        raise CalendarError("timezone.unknown", value=tzname)
    try:
        ZoneInfo(tzname)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError for odd keys
        raise CalendarError("timezone.unknown", value=tzname) from None

    always_open = raw.get("always_open", False)
    if not isinstance(always_open, bool):
        raise CalendarError("always_open.not_bool")

    week_raw = raw.get("week")
    if week_raw is None:
        week_raw = {}
    if not isinstance(week_raw, Mapping):
        raise CalendarError("week.not_object")
    for key in week_raw:
        if key not in WEEKDAYS:
            raise CalendarError("week.day_unknown", field=f"week.{key}")
    week = tuple(
        _parse_intervals(week_raw[day], f"week.{day}") if day in week_raw else ()
        for day in WEEKDAYS
    )
    # An always-open calendar ignores the week, so it does not need one.
    if not always_open and not any(week):
        raise CalendarError("week.closed")

    eve_raw = raw.get("eve_hours")
    eve_hours = None if eve_raw is None else _parse_intervals(eve_raw, "eve_hours")

    overrides_raw = raw.get("overrides")
    if overrides_raw is None:
        overrides_raw = {}
    if not isinstance(overrides_raw, Mapping):
        raise CalendarError("overrides.not_object")
    overrides: dict[date, tuple[Interval, ...]] = {}
    for key, value in overrides_raw.items():
        d = _parse_date(key, f"overrides[{key}]")
        overrides[d] = _parse_intervals(value, f"overrides[{key}]")

    return _Config(
        tzname=tzname,
        week=week,
        week_keys=tuple(day for day in WEEKDAYS if day in week_raw),
        holidays=_parse_holidays(raw.get("holidays")),
        eve_hours=eve_hours,
        closures=_parse_closures(raw.get("closures")),
        overrides=dict(sorted(overrides.items())),
        always_open=always_open,
    )


def _config_to_dict(cfg: _Config) -> dict[str, Any]:
    hol = cfg.holidays
    return {
        "timezone": cfg.tzname,
        "week": {day: _fmt_intervals(cfg.week[WEEKDAYS.index(day)]) for day in cfg.week_keys},
        "holidays": None
        if hol is None
        else {
            "country": hol.country,
            "subdiv": hol.subdiv,
            "categories": list(hol.categories),
            "extra": [d.isoformat() for d in hol.extra],
            "exclude": [d.isoformat() for d in hol.exclude],
        },
        "eve_hours": None if cfg.eve_hours is None else _fmt_intervals(cfg.eve_hours),
        "closures": [
            {"from": c.label.split("..")[0], "to": c.label.split("..")[1]}
            | ({"name": c.name} if c.name else {})
            for c in cfg.closures
        ],
        "overrides": {d.isoformat(): _fmt_intervals(ivs) for d, ivs in cfg.overrides.items()},
        "always_open": cfg.always_open,
    }


# --------------------------------------------------------------------------------------------
# Instants
# --------------------------------------------------------------------------------------------


def _instant_us(dt: datetime, field: str) -> int:
    """Integer epoch microseconds of an aware datetime (ValueError if naive)."""
    tz = dt.tzinfo
    if tz is None or (not isinstance(tz, _AWARE_TZ_TYPES) and dt.utcoffset() is None):
        raise CalendarError("datetime.naive", field=field)
    ts = dt.timestamp()
    if -_FAST_S < ts < _FAST_S:
        return round(ts * 1e6)
    return (dt - _EPOCH) // _US


def _from_us(us: int, tz: ZoneInfo) -> datetime:
    if -_FAST_US < us < _FAST_US:
        return datetime.fromtimestamp(us / 1e6, tz)
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz)


@dataclass(frozen=True)
class _Year:
    """One compiled calendar year (local dates 1 Jan..31 Dec)."""

    intervals: list[tuple[int, int]]  # disjoint per day, sorted, epoch microseconds
    open_days: list[int]  # ordinals of the days with any open time
    closes: list[int]  # closing instant (end of last interval) of each open day
    total: int  # open microseconds in the year


class _State:
    """An immutable snapshot of the compiled horizon.

    Queries read ``self._state`` once and use only that snapshot, so a concurrent extension
    (which builds a new snapshot and swaps the reference) never shows them half-built arrays.
    Index 0 is a zero-length sentinel at ``lo`` so ``bisect_right(starts, t) - 1 >= 0``.
    """

    __slots__ = (
        "y0",
        "y1",
        "lo",
        "hi",
        "starts",
        "ends",
        "cum",
        "cum_end",
        "open_days",
        "closes",
        "np_arrays",
    )

    def __init__(
        self,
        y0: int,
        y1: int,
        lo: int,
        hi: int,
        starts: list[int],
        ends: list[int],
        cum: list[int],
        cum_end: list[int],
        open_days: list[int],
        closes: list[int],
    ) -> None:
        self.y0, self.y1, self.lo, self.hi = y0, y1, lo, hi
        self.starts, self.ends, self.cum, self.cum_end = starts, ends, cum, cum_end
        self.open_days, self.closes = open_days, closes
        self.np_arrays: tuple[np.ndarray, ...] | None = None

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Float64 epoch-second copies for the numpy bulk paths (built once per snapshot)."""
        arrs = self.np_arrays
        if arrs is None:
            # Every bound is a whole second, so these float64 values are exact.
            starts = np.asarray(self.starts, dtype=np.int64) / 1e6
            ends = np.asarray(self.ends, dtype=np.int64) / 1e6
            cum = np.asarray(self.cum, dtype=np.int64) / 1e6
            cum_end = np.asarray(self.cum_end, dtype=np.int64) / 1e6
            arrs = self.np_arrays = (starts, ends, cum, cum_end, ends - starts)
        return arrs


_EMPTY_STATE = _State(1, 0, 0, 0, [0], [0], [0], [0], [], [])


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


class BusinessCalendar:
    """A compiled business calendar; immutable from the outside and safe to share.

    Build one with :meth:`from_dict` (memoised) rather than the constructor.
    """

    _cache: OrderedDict[str, BusinessCalendar] = OrderedDict()
    _cache_lock = threading.Lock()

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Validate ``config`` and prepare an (as yet uncompiled) calendar; no caching."""
        self._cfg = _parse_config(config)
        self._tz = ZoneInfo(self._cfg.tzname)
        self._canonical = json.dumps(_config_to_dict(self._cfg), sort_keys=True)
        self._lock = threading.RLock()
        self._state = _EMPTY_STATE
        self._years: dict[int, _Year] = {}
        self._holiday_years: dict[int, dict[date, str]] = {}
        # Closures as (recurring, first, last, label) with ordinals for one-off ranges; checked
        # in configuration order so the first matching closure names the day.
        self._closures: list[tuple[bool, Any, Any, str]] = [
            (True, c.start, c.end, c.name or c.label)
            if c.recurring
            else (False, c.start.toordinal(), c.end.toordinal(), c.name or c.label)  # type: ignore[union-attr]
            for c in self._cfg.closures
        ]

    # ---- construction helpers ---------------------------------------------------------------

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], *, cache: bool = True) -> BusinessCalendar:
        """Validate ``config`` into a calendar; raises ``ValueError`` naming the bad field.

        Years are compiled lazily on first use around the queried instants.

        Memoised on the canonical JSON of the configuration (LRU, 256 entries), so calling
        this per request is cheap and equal configurations share one compiled calendar.
        Pass ``cache=False`` for a private, freshly built instance.
        """
        if not cache:
            return cls(config)
        try:
            key = json.dumps(config, sort_keys=True)
        except (TypeError, ValueError):
            return cls(config)  # not JSON-shaped: validation will say what is wrong
        with cls._cache_lock:
            hit = cls._cache.get(key)
            if hit is not None:
                cls._cache.move_to_end(key)
                return hit
        cal = cls(config)
        with cls._cache_lock:
            # Differently spelled but equivalent configurations share the compiled years.
            cal = cls._cache.get(cal._canonical, cal)
            for k in (key, cal._canonical):
                cls._cache[k] = cal
                cls._cache.move_to_end(k)
            while len(cls._cache) > _CACHE_SIZE:
                cls._cache.popitem(last=False)
        return cal

    @classmethod
    def cached(cls, config: Mapping[str, Any]) -> BusinessCalendar:
        """Alias of :meth:`from_dict` (which always memoises unless ``cache=False``)."""
        return cls.from_dict(config)

    @classmethod
    def clear_cache(cls) -> None:
        """Forget all memoised calendars (tests, or after a holidays package upgrade)."""
        with cls._cache_lock:
            cls._cache.clear()

    @classmethod
    def always_open_calendar(cls, tz: str = "UTC") -> BusinessCalendar:
        """A 24/7 calendar in zone ``tz``: business time equals elapsed time."""
        return cls.from_dict({"timezone": tz, "always_open": True})

    def to_dict(self) -> dict[str, Any]:
        """The normalised configuration; ``from_dict(cal.to_dict())`` is equivalent to ``cal``.

        Every top-level key is present (``holidays``/``eve_hours`` may be null), intervals and
        dates are re-formatted canonically and overrides are sorted by date.
        """
        return _config_to_dict(self._cfg)

    @property
    def timezone(self) -> ZoneInfo:
        """The calendar's time zone; all results are expressed in it."""
        return self._tz

    @property
    def tzname(self) -> str:
        """The IANA name of the calendar's time zone, e.g. ``"Europe/Stockholm"``."""
        return self._cfg.tzname

    @property
    def always_open(self) -> bool:
        """True for a 24/7 calendar."""
        return self._cfg.always_open

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._canonical == other._canonical

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __repr__(self) -> str:
        return f"<BusinessCalendar {self._cfg.tzname}{' 24/7' if self.always_open else ''}>"

    # ---- per-day rules ----------------------------------------------------------------------

    def _holidays_of(self, year: int) -> dict[date, str]:
        """Holiday dates of one year: package holidays + extra - exclude, with names."""
        cached = self._holiday_years.get(year)
        if cached is not None:
            return cached
        hol = self._cfg.holidays
        out: dict[date, str] = {}
        if hol is not None:
            if hol.country is not None:
                out.update(
                    _holidays.country_holidays(
                        hol.country,
                        subdiv=hol.subdiv,
                        years=year,
                        categories=hol.categories,
                        language=hol.language,
                    ).items()
                )
            for d in hol.extra:
                if d.year == year:
                    out.setdefault(d, "extra holiday")
            for d in hol.exclude:
                out.pop(d, None)
        self._holiday_years[year] = out
        return out

    def _closure_label(self, d: date) -> str | None:
        """The label of the first configured closure containing ``d``, if any."""
        if not self._closures:
            return None
        o = d.toordinal()
        md = (d.month, d.day)
        for recurring, first, last, label in self._closures:
            if recurring:
                # first > last wraps the year end, e.g. 12-25..01-01.
                if (first <= md <= last) if first <= last else (md >= first or md <= last):
                    return label
            elif first <= o <= last:
                return label
        return None

    def _day_spec(self, d: date) -> tuple[str, str, tuple[Interval, ...]]:
        """(kind, name, wall intervals) of a local date, applying the precedence rules."""
        cfg = self._cfg
        if cfg.always_open:
            return ("always_open", "", _FULL_DAY)
        ivs = cfg.overrides.get(d)
        if ivs is not None:
            return ("override", "", ivs)
        label = self._closure_label(d)
        if label is not None:
            return ("closure", label, ())
        name = self._holidays_of(d.year).get(d)
        if name is not None:
            return ("holiday", name, ())
        week = cfg.week[d.weekday()]
        if not week:
            return ("closed", "weekend" if d.weekday() >= 5 else "no opening hours", ())
        if cfg.eve_hours is not None:
            nxt = d + _ONE_DAY
            next_name = self._holidays_of(nxt.year).get(nxt)
            if next_name is not None:
                return ("eve", f"{next_name} eve", cfg.eve_hours)
        return ("weekly", "", week)

    def _wall_us(self, d: date, minute: int) -> int:
        """Epoch microseconds of a wall-clock time (fold=0 for missing/ambiguous times)."""
        if minute >= _MINUTES_PER_DAY:  # 24:00 is midnight of the next day
            d = d + _ONE_DAY
            minute -= _MINUTES_PER_DAY
        dt = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=self._tz)
        # UTC offsets are whole seconds, so the timestamp of a whole-minute time is integral.
        return round(dt.timestamp()) * 1_000_000

    def _day_instants(self, d: date) -> list[tuple[int, int]]:
        """Open intervals of a local date as disjoint, sorted ``[start, end)`` microseconds.

        Intervals that end up empty or reversed (both ends inside a spring-forward gap) are
        dropped and overlapping ones (possible around a gap) are united: business time is the
        real time inside the union.
        """
        wall = self._day_spec(d)[2]
        if not wall:
            return []
        raw = sorted((self._wall_us(d, s), self._wall_us(d, e)) for s, e in wall)
        out: list[tuple[int, int]] = []
        for s, e in raw:
            if e <= s:
                continue
            if out and s <= out[-1][1]:
                if e > out[-1][1]:
                    out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
        return out

    # ---- compilation ------------------------------------------------------------------------

    def _compile_year(self, year: int) -> _Year:
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        if self._cfg.always_open:
            lo = self._wall_us(date(year, 1, 1), 0)
            hi = self._wall_us(date(year, 12, 31), _MINUTES_PER_DAY)
            days = list(range(first, last + 1))
            midnights = [self._wall_us(date.fromordinal(o), _MINUTES_PER_DAY) for o in days]
            return _Year([(lo, hi)], days, midnights, hi - lo)
        intervals: list[tuple[int, int]] = []
        open_days: list[int] = []
        closes: list[int] = []
        total = 0
        for o in range(first, last + 1):
            inst = self._day_instants(date.fromordinal(o))
            if inst:
                intervals.extend(inst)
                open_days.append(o)
                closes.append(inst[-1][1])
                total += sum(e - s for s, e in inst)
        return _Year(intervals, open_days, closes, total)

    def _build(self, y0: int, y1: int) -> _State:
        """Compile missing years and publish a new snapshot covering years ``y0..y1``."""
        if y0 < _MIN_YEAR or y1 > _MAX_YEAR:
            raise CalendarError("year.unsupported", min=_MIN_YEAR, max=_MAX_YEAR)
        lo = self._wall_us(date(y0, 1, 1), 0)
        hi = self._wall_us(date(y1 + 1, 1, 1), 0)
        starts, ends, cum, cum_end = [lo], [lo], [0], [0]
        open_days: list[int] = []
        closes: list[int] = []
        total = 0
        for y in range(y0, y1 + 1):
            year = self._years.get(y)
            if year is None:
                year = self._years[y] = self._compile_year(y)
            for s, e in year.intervals:
                # Merge touching intervals (24:00 then 00:00, year ends) so that next_open and
                # is_open see one stretch; never merge into the sentinel.
                if s <= ends[-1] and len(starts) > 1:
                    if e > ends[-1]:
                        total += e - ends[-1]
                        ends[-1] = e
                        cum_end[-1] = total
                else:
                    starts.append(s)
                    ends.append(e)
                    cum.append(total)
                    total += e - s
                    cum_end.append(total)
            open_days.extend(year.open_days)
            closes.extend(year.closes)
        state = _State(y0, y1, lo, hi, starts, ends, cum, cum_end, open_days, closes)
        self._state = state
        return state

    def _local_year(self, us: int) -> int:
        if not -62_000_000_000_000_000 < us < 253_000_000_000_000_000:
            raise CalendarError("year.unsupported", min=_MIN_YEAR, max=_MAX_YEAR)
        return _from_us(us, self._tz).year

    def _cover(self, us: int) -> _State:
        """A snapshot whose horizon ``[lo, hi)`` contains instant ``us``."""
        with self._lock:
            st = self._state
            if st.lo <= us < st.hi:
                return st
            year = self._local_year(us)
            if st.y0 > st.y1:
                return self._build(year, year)
            return self._build(min(st.y0, year), max(st.y1, year))

    def _extend_forward(self, st: _State, need_us: int = 0) -> _State:
        """Compile more years after the horizon (enough for ``need_us`` more open time)."""
        with self._lock:
            cur = self._state
            if cur is not st and cur.y0 <= st.y0 and cur.y1 > st.y1:
                return cur  # another thread already extended
            empty = 0
            for y in range(st.y1, st.y0 - 1, -1):
                if self._years[y].total:
                    break
                empty += 1
            if empty >= _MAX_EMPTY_YEARS:
                raise CalendarError("calendar.never_open", years=empty, year=st.y1)
            years = st.y1 - st.y0 + 1
            per_year = st.cum_end[-1] // years
            step = 1 if per_year <= 0 else min(need_us // per_year + 1, 50)
            return self._build(min(cur.y0, st.y0), min(st.y1 + max(step, 1), _MAX_YEAR + 1))

    # ---- scalar queries ---------------------------------------------------------------------

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """The deadline ``delta`` of business time after ``start``.

        The earliest instant ``t >= start`` with ``between(start, t) == delta``: a target that
        is used up exactly at an interval's end returns that end (12:00, not 13:00 after
        lunch), and ``add(start, 0) == start``. Exact to the microsecond.
        """
        tz = start.tzinfo
        if tz is None or (not isinstance(tz, _AWARE_TZ_TYPES) and start.utcoffset() is None):
            raise CalendarError("datetime.naive", field="start")
        need = delta // _US
        if need <= 0:
            if need < 0:
                raise CalendarError("duration.negative", field="delta")
            return start.astimezone(self._tz)
        ts = start.timestamp()
        t = round(ts * 1e6) if -_FAST_S < ts < _FAST_S else (start - _EPOCH) // _US
        st = self._state
        if not st.lo <= t < st.hi:
            st = self._cover(t)
        while True:
            starts = st.starts
            i = bisect_right(starts, t) - 1
            cum_end = st.cum_end
            done = st.cum[i] + t - starts[i]
            if done > cum_end[i]:
                done = cum_end[i]
            target = done + need
            if target <= cum_end[-1]:
                break
            # Not enough compiled open time: extend and recompute ``done`` from the new
            # snapshot (another thread may also have extended backwards, shifting the sums).
            st = self._extend_forward(st, target - cum_end[-1])
        j = bisect_left(cum_end, target)
        return _from_us(st.ends[j] - (cum_end[j] - target), self._tz)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``; ``ValueError`` if ``b < a``."""
        # _instant_us() inlined: this is the hot path and the calls cost ~10% of it.
        tz = a.tzinfo
        if tz is None or (not isinstance(tz, _AWARE_TZ_TYPES) and a.utcoffset() is None):
            raise CalendarError("datetime.naive", field="a")
        tz = b.tzinfo
        if tz is None or (not isinstance(tz, _AWARE_TZ_TYPES) and b.utcoffset() is None):
            raise CalendarError("datetime.naive", field="b")
        ts = a.timestamp()
        ta = round(ts * 1e6) if -_FAST_S < ts < _FAST_S else (a - _EPOCH) // _US
        ts = b.timestamp()
        tb = round(ts * 1e6) if -_FAST_S < ts < _FAST_S else (b - _EPOCH) // _US
        if tb < ta:
            raise CalendarError("instant.reversed", field="b", start="a")
        st = self._state
        if not (st.lo <= ta and tb < st.hi):
            self._cover(ta)
            st = self._cover(tb)
        starts, cum, cum_end = st.starts, st.cum, st.cum_end
        i = bisect_right(starts, ta) - 1
        ca = cum[i] + ta - starts[i]
        if ca > cum_end[i]:
            ca = cum_end[i]
        i = bisect_right(starts, tb) - 1
        cb = cum[i] + tb - starts[i]
        if cb > cum_end[i]:
            cb = cum_end[i]
        return _US * (cb - ca)

    def add_days(self, start: datetime, n: int) -> datetime:
        """Deadline "within n working days": the close of the n-th open day after ``start``.

        Days are counted strictly after the local date of ``start`` (``n=1`` is "next working
        day": a ticket on Saturday gets the end of Monday). The closing instant is the end of
        that day's last open interval.
        """
        t = _instant_us(start, "start")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise CalendarError("count.invalid", field="n", value=n)
        day = start.astimezone(self._tz).date().toordinal()
        st = self._cover(t)
        while True:
            k = bisect_right(st.open_days, day) + n - 1
            if k < len(st.open_days):
                return _from_us(st.closes[k], self._tz)
            st = self._extend_forward(st)

    def is_open(self, t: datetime) -> bool:
        """Whether instant ``t`` lies inside an open interval (intervals are ``[start, end)``)."""
        us = _instant_us(t, "t")
        st = self._state
        if not st.lo <= us < st.hi:
            st = self._cover(us)
        i = bisect_right(st.starts, us) - 1
        return us < st.ends[i]

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself if open, else the start of the next open interval."""
        us = _instant_us(t, "t")
        st = self._cover(us)
        while True:
            i = bisect_right(st.starts, us) - 1
            if us < st.ends[i]:
                return t.astimezone(self._tz)
            if i + 1 < len(st.starts):
                return _from_us(st.starts[i + 1], self._tz)
            st = self._extend_forward(st)

    # ---- explanations -----------------------------------------------------------------------

    def _check_date(self, d: date, field: str) -> None:
        if isinstance(d, datetime) or not isinstance(d, date):
            raise CalendarError("date.not_date", field=field)
        if not _MIN_YEAR <= d.year <= _MAX_YEAR:
            raise CalendarError("date.unsupported_year", field=field, min=_MIN_YEAR, max=_MAX_YEAR)

    def intervals_on(self, d: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local date ``d`` as aware datetimes in the calendar's zone.

        Intervals of the day that touch or overlap (possible only around a DST gap) are united;
        an interval ending at 24:00 ends at the next day's midnight.
        """
        self._check_date(d, "d")
        tz = self._tz
        return [(_from_us(s, tz), _from_us(e, tz)) for s, e in self._day_instants(d)]

    def day_kind(self, d: date) -> tuple[str, str]:
        """Why local date ``d`` has the hours it has, as ``(kind, name)``.

        Kinds, in precedence order: ``("override", "")``, ``("closure", "12-25..01-01")``,
        ``("holiday", "Juldagen")``, ``("eve", "Julafton eve")``, then ``("weekly", "")`` for
        ordinary weekly hours or ``("closed", "weekend")`` / ``("closed", "no opening hours")``
        for a weekday without weekly hours; ``("always_open", "")`` on a 24/7 calendar.
        Holiday names come from the ``holidays`` package in the country's own language.
        """
        self._check_date(d, "d")
        kind, name, _ = self._day_spec(d)
        return kind, name

    def closed_days(self, a: date, b: date) -> list[tuple[date, str, str]]:
        """Dates in ``[a, b]`` closed all day although their weekday normally opens.

        Each entry is ``(date, kind, name)`` with kind/name as in :meth:`day_kind` (holiday,
        closure, override, or an eve when ``eve_hours`` is empty). Use it to list upcoming
        closed days; ordinary weekends are not listed.
        """
        self._check_date(a, "a")
        self._check_date(b, "b")
        if self._cfg.always_open:
            return []
        out: list[tuple[date, str, str]] = []
        for o in range(a.toordinal(), b.toordinal() + 1):
            d = date.fromordinal(o)
            if self._cfg.week[d.weekday()] and not self._day_instants(d):
                kind, name, _ = self._day_spec(d)
                out.append((d, kind, name))
        return out

    # ---- numpy bulk paths -------------------------------------------------------------------

    def _cover_seconds(self, lo_s: float, hi_s: float) -> _State:
        self._cover(int(np.floor(lo_s * 1e6)))
        return self._cover(int(np.ceil(hi_s * 1e6)))

    @staticmethod
    def _cum_many(arrs: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        starts, _ends, cum, _cum_end, lengths = arrs
        i = np.searchsorted(starts, x, side="right") - 1
        return cum[i] + np.minimum(x - starts[i], lengths[i])

    def add_many(self, starts_epoch: Any, durations_seconds: Any) -> np.ndarray:
        """Vectorised :meth:`add` over epoch seconds: returns deadlines in epoch seconds.

        ``starts_epoch`` and ``durations_seconds`` are broadcast float arrays. Same semantics
        as :meth:`add`; float64 arithmetic, so results agree with it to well under a
        microsecond for present-day dates.
        """
        a = np.asarray(starts_epoch, dtype=np.float64)
        d = np.asarray(durations_seconds, dtype=np.float64)
        a, d = np.broadcast_arrays(a, d)
        if a.size == 0:
            return np.empty(a.shape, dtype=np.float64)
        if not (np.isfinite(a).all() and np.isfinite(d).all()):
            raise CalendarError("add_many.not_finite")
        if (d < 0).any():
            raise CalendarError("duration.negative", field="durations_seconds")
        st = self._cover_seconds(float(a.min()), float(a.max()))
        while True:
            arrs = st.arrays()
            target = self._cum_many(arrs, a) + d
            top = float(target.max())
            if top <= arrs[3][-1]:
                break
            st = self._extend_forward(st, int((top - arrs[3][-1]) * 1e6) + 1)
        _starts, ends, _cum, cum_end, _lengths = arrs
        j = np.searchsorted(cum_end, target, side="left")
        result = ends[j] - (cum_end[j] - target)
        return np.where(d == 0, a, result)

    def between_many(self, a_epoch: Any, b_epoch: Any) -> np.ndarray:
        """Vectorised :meth:`between` over epoch seconds: business seconds in ``[a, b)``."""
        a = np.asarray(a_epoch, dtype=np.float64)
        b = np.asarray(b_epoch, dtype=np.float64)
        a, b = np.broadcast_arrays(a, b)
        if a.size == 0:
            return np.empty(a.shape, dtype=np.float64)
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise CalendarError("between_many.not_finite")
        if (b < a).any():
            raise CalendarError("instant.reversed", field="b_epoch", start="a_epoch")
        st = self._cover_seconds(float(a.min()), float(b.max()))
        arrs = st.arrays()
        return self._cum_many(arrs, b) - self._cum_many(arrs, a)
