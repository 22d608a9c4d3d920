"""A deliberately naive reference implementation of the business calendar.

It shares no code with ``sla.calendar``: it reads the raw configuration dict, decides each
local date's hours by walking the precedence rules literally, converts them to instants with
``zoneinfo`` and then walks the intervals one by one. Slow, simple and obviously right; the
property tests compare the engine against it. Configurations are assumed valid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_DAYS = 20_000  # give up searching for open time after ~55 years


def us(dt: datetime) -> int:
    """Exact epoch microseconds of an aware datetime."""
    return (dt - EPOCH) // ONE_US


def from_us(value: int, tz: ZoneInfo) -> datetime:
    return (EPOCH + timedelta(microseconds=value)).astimezone(tz)


class Oracle:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.tz = ZoneInfo(config["timezone"])
        self.always_open = bool(config.get("always_open", False))
        hol = config.get("holidays") or {}
        self.extra = {date.fromisoformat(s) for s in hol.get("extra") or []}
        self.exclude = {date.fromisoformat(s) for s in hol.get("exclude") or []}
        self.package: Any = None
        if hol.get("country"):
            language = holidays.country_holidays(hol["country"]).default_language
            self.package = holidays.country_holidays(
                hol["country"],
                subdiv=hol.get("subdiv"),
                categories=tuple(hol.get("categories") or ["public"]),
                language=language,
            )

    # ---- which hours does a date have ----------------------------------------------------

    def holiday_name(self, d: date) -> str | None:
        if d in self.exclude:
            return None
        if self.package is not None and d in self.package:  # expands years on demand
            return self.package.get(d)
        if d in self.extra:
            return "extra holiday"
        return None

    def closure(self, d: date) -> str | None:
        for c in self.config.get("closures") or []:
            lo, hi = c["from"], c["to"]
            if len(lo) == 10:
                if date.fromisoformat(lo) <= d <= date.fromisoformat(hi):
                    return f"{lo}..{hi}"
            else:
                key = f"{d.month:02d}-{d.day:02d}"  # zero-padded, so strings compare as dates
                inside = lo <= key <= hi if lo <= hi else (key >= lo or key <= hi)
                if inside:
                    return f"{lo}..{hi}"
        return None

    def kind(self, d: date) -> tuple[str, str, list[str]]:
        if self.always_open:
            return "always_open", "", ["00:00-24:00"]
        overrides = self.config.get("overrides") or {}
        if d.isoformat() in overrides:
            return "override", "", list(overrides[d.isoformat()])
        name = self.closure(d)
        if name is not None:
            return "closure", name, []
        name = self.holiday_name(d)
        if name is not None:
            return "holiday", name, []
        weekly = list((self.config.get("week") or {}).get(DAY_KEYS[d.weekday()]) or [])
        if not weekly:
            return "closed", "weekend" if d.weekday() >= 5 else "no opening hours", []
        eve = self.config.get("eve_hours")
        if eve is not None:
            name = self.holiday_name(d + ONE_DAY)
            if name is not None:
                return "eve", f"{name} eve", list(eve)
        return "weekly", "", weekly

    def wall_to_us(self, d: date, hhmm: str) -> int:
        hour, minute = int(hhmm[:2]), int(hhmm[3:])
        if hour == 24:
            d, hour = d + ONE_DAY, 0
        return us(datetime(d.year, d.month, d.day, hour, minute, tzinfo=self.tz))

    def day_pieces(self, d: date) -> list[tuple[int, int]]:
        """The date's intervals as instants; empty or reversed ones (DST gap) dropped."""
        pieces = []
        for text in self.kind(d)[2]:
            s = self.wall_to_us(d, text[:5])
            e = self.wall_to_us(d, text[6:])
            if e > s:
                pieces.append((s, e))
        return union(pieces)

    def open_set(self, first: date, last: date) -> list[tuple[int, int]]:
        pieces: list[tuple[int, int]] = []
        d = first
        while d <= last:
            pieces.extend(self.day_pieces(d))
            d += ONE_DAY
        return union(pieces)

    def local_date(self, t: datetime) -> date:
        return t.astimezone(self.tz).date()

    # ---- queries --------------------------------------------------------------------------

    def between(self, a: datetime, b: datetime) -> timedelta:
        ta, tb = us(a), us(b)
        assert ta <= tb
        total = 0
        for s, e in self.open_set(self.local_date(a) - ONE_DAY, self.local_date(b) + ONE_DAY):
            lo, hi = max(s, ta), min(e, tb)
            if hi > lo:
                total += hi - lo
        return timedelta(microseconds=total)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        if duration == timedelta(0):
            return start.astimezone(self.tz)
        t = us(start)
        first = self.local_date(start) - ONE_DAY
        span = 8
        while span <= MAX_DAYS:
            remaining = duration // ONE_US
            for s, e in self.open_set(first, first + timedelta(days=span)):
                lo = max(s, t)
                if e <= lo:
                    continue
                if remaining <= e - lo:
                    return from_us(lo + remaining, self.tz)
                remaining -= e - lo
            span *= 2  # not enough open time in the window: start over with a wider one
        raise AssertionError("oracle: no open time")

    def add_days(self, start: datetime, n: int) -> datetime:
        d = self.local_date(start)
        for _ in range(MAX_DAYS):
            d += ONE_DAY
            pieces = self.day_pieces(d)
            if pieces:
                n -= 1
                if n == 0:
                    return from_us(max(e for _, e in pieces), self.tz)
        raise AssertionError("oracle: no open day")

    def is_open(self, t: datetime) -> bool:
        x = us(t)
        day = self.local_date(t)
        return any(s <= x < e for s, e in self.open_set(day - ONE_DAY, day + ONE_DAY))

    def next_open(self, t: datetime) -> datetime:
        x = us(t)
        first = self.local_date(t) - ONE_DAY
        span = 8
        while span <= MAX_DAYS:
            for s, e in self.open_set(first, first + timedelta(days=span)):
                if e > x:
                    return from_us(max(s, x), self.tz)
            span *= 2
        raise AssertionError("oracle: never open")


def union(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(pieces):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
