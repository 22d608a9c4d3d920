"""Why a ticket is due when it is, in plain words (ticket page, API, customer copy).

Everything is derived again from the same history and calendar the clock used, so the
explanation cannot drift from the figure it explains.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import holidays
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .calendar import WEEKDAYS, BusinessCalendar
from .clocks import from_epoch
from .metrics import METRICS, clock_timeline
from .models import Calendar, Clock, ClockState, Metric, Priority, SLAPolicy, TargetUnit

DAY_NAMES = {
    "mon": gettext_lazy("Mon"),
    "tue": gettext_lazy("Tue"),
    "wed": gettext_lazy("Wed"),
    "thu": gettext_lazy("Thu"),
    "fri": gettext_lazy("Fri"),
    "sat": gettext_lazy("Sat"),
    "sun": gettext_lazy("Sun"),
}


HOLIDAY_CATEGORIES = {
    "public": gettext_lazy("public holidays"),
    "de_facto": gettext_lazy("de facto holidays (eves when offices close)"),
    "bank": gettext_lazy("bank holidays"),
    "optional": gettext_lazy("optional holidays"),
}
# Country names the holiday sets are named by; others are shown by their English name.
COUNTRY_NAMES = {
    "SE": gettext_lazy("Sweden"),
    "BE": gettext_lazy("Belgium"),
    "NL": gettext_lazy("the Netherlands"),
}


def _holiday_language(country: str) -> str | None:
    """The reader's language if the holidays package names this country's days in it
    (``en`` reads ``en_US``), else None: the country's own language."""
    wanted = translation.get_language() or ""
    supported = getattr(holidays, country).supported_languages
    for code in supported:
        if code == wanted:
            return str(code)
    base = wanted.split("-")[0].split("_")[0]
    return next((str(c) for c in supported if c.split("_")[0] == base), None)


@functools.lru_cache(maxsize=512)
def _named_holidays(
    country: str, subdiv: str | None, categories: tuple[str, ...], year: int, language: str | None
) -> dict[dt.date, str]:
    return dict(
        holidays.country_holidays(
            country, subdiv=subdiv, years=year, categories=categories, language=language
        ).items()
    )


def holiday_words(engine: BusinessCalendar, day: dt.date, name: str) -> str:
    """The holiday on ``day`` by its name in the reader's language ("Julafton", "Christmas
    Eve", "Kerstmis"); ``name`` (the engine's) when the package has none."""
    config = engine.to_dict().get("holidays") or {}
    country = config.get("country")
    if country:
        named = _named_holidays(
            country,
            config.get("subdiv"),
            tuple(config.get("categories") or ("public",)),
            day.year,
            _holiday_language(country),
        )
        if day in named:
            return named[day]
    return _("extra holiday") if name == "extra holiday" else name


def holiday_sets(config: dict[str, Any]) -> list[str]:
    """The holiday sets a calendar closes on, by name: "public holidays of Sweden"."""
    hol = config.get("holidays")
    if config.get("always_open") or not hol:
        return []
    out = []
    country = hol.get("country")
    if country:
        country_name = (
            COUNTRY_NAMES.get(country.upper())
            or getattr(holidays, country.upper()).__mro__[1].__name__
        )
        for category in hol.get("categories") or ["public"]:
            out.append(
                _("%(set)s of %(country)s")
                % {"set": HOLIDAY_CATEGORIES.get(category, category), "country": country_name}
            )
    if hol.get("extra"):
        out.append(_("extra holidays: %(days)s") % {"days": ", ".join(hol["extra"])})
    if hol.get("exclude"):
        out.append(_("not closed on: %(days)s") % {"days": ", ".join(hol["exclude"])})
    return out


def day_label(engine: BusinessCalendar, day: dt.date, kind: str, name: str) -> str:
    """Why a closed or short day is so, in the reader's language."""
    if kind == "holiday":
        return holiday_words(engine, day, name)
    if kind == "eve":
        following = day + dt.timedelta(days=1)
        _kind, next_name = engine.day_kind(following)
        return _("day before %(holiday)s") % {
            "holiday": holiday_words(engine, following, next_name)
        }
    if kind == "override":
        return _("changed hours")
    if kind == "closed":
        return _("no opening hours")
    return name  # a closure: the admin's name, or its range


def special_days(
    engine: BusinessCalendar, a: dt.date, b: dt.date
) -> list[tuple[dt.date, str, str]]:
    """Days in ``[a, b]`` whose weekday opens but that are closed or shorter: (date, hours
    words ("closed" or "08:00–13:00"), why), for an admin checking a calendar at a glance."""
    if engine.always_open:
        return []
    weekly = engine.to_dict()["week"]
    out = []
    for ordinal in range(a.toordinal(), b.toordinal() + 1):
        day = dt.date.fromordinal(ordinal)
        kind, name = engine.day_kind(day)
        if kind in ("weekly", "closed"):
            continue
        hours = weekly.get(WEEKDAYS[day.weekday()]) or []
        if not hours:
            continue
        spans = engine.intervals_on(day)
        if spans and kind == "override" and _open_seconds(spans) >= _hours_seconds(hours):
            continue  # an override that does not shorten the day
        words = ", ".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in spans) if spans else str(_("closed"))
        out.append((day, words, day_label(engine, day, kind, name)))
    return out


def _open_seconds(spans: Sequence[tuple[dt.datetime, dt.datetime]]) -> float:
    return sum((e - s).total_seconds() for s, e in spans)


def _hours_seconds(hours: Sequence[str]) -> float:
    total = 0
    for spec in hours:
        start, end = spec.split("-")
        (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
        total += (h2 * 60 + m2 - h1 * 60 - m1) * 60
    return total


def duration_words(seconds: float) -> str:
    """ "2 h 15 min", "3 days 4 h" (24-hour days), "0 min"."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if mins or not parts:
        parts.append(_("%(n)d min") % {"n": mins})
    return " ".join(parts[:2])


@functools.lru_cache(maxsize=256)
def working_day_seconds(engine: BusinessCalendar) -> float:
    """The business seconds of an average open weekday of the calendar's weekly hours."""
    week = engine.to_dict().get("week") or {}
    lengths = [sum(_hours_seconds([h]) for h in hours) for hours in week.values() if hours]
    return sum(lengths) / len(lengths) if lengths else 0.0


def business_duration_words(seconds: float, engine: BusinessCalendar | None) -> str:
    """Business time in business units: "45 business minutes", "11 business hours 30 min
    (about 1.5 working days)"; never 48 business hours as "2 days". On a 24/7 calendar (or
    none) hours are plain hours and days are days."""
    text, about = business_duration_parts(seconds, engine)
    return f"{text} ({about})" if about else text


def business_duration_parts(seconds: float, engine: BusinessCalendar | None) -> tuple[str, str]:
    """:func:`business_duration_words` as (the business time, "about n working days" or "")."""
    if engine is None or engine.always_open:
        return duration_words(seconds), ""
    minutes = int(abs(seconds) // 60)
    hours, mins = divmod(minutes, 60)
    if not hours:
        return ngettext("%(n)d business minute", "%(n)d business minutes", mins) % {"n": mins}, ""
    text = ngettext("%(n)d business hour", "%(n)d business hours", hours) % {"n": hours}
    if mins:
        text = _("%(hours)s %(minutes)d min") % {"hours": text, "minutes": mins}
    day = working_day_seconds(engine)
    if not day or abs(seconds) < day:
        return text, ""
    days = round(abs(seconds) / day * 2) / 2  # to the half day: "about" is honest
    shown = number_format(days, decimal_pos=0 if days.is_integer() else 1)
    about = ngettext(
        "about %(days)s working day", "about %(days)s working days", 1 if days == 1 else 2
    ) % {"days": shown}
    return text, about


def moment_words(moment: dt.datetime, engine: BusinessCalendar) -> str:
    local = timezone.localtime(moment, engine.timezone)
    return date_format(local, "l j F Y H:i")


def week_words(config: dict[str, Any]) -> str:
    """The weekly opening hours, consecutive equal days grouped: "Mon–Fri 08:00–17:00"."""
    if config.get("always_open"):
        return _("around the clock, every day")
    week = config.get("week") or {}
    groups: list[tuple[list[str], tuple[str, ...]]] = []
    for day in WEEKDAYS:
        hours = tuple(week.get(day) or ())
        if groups and groups[-1][1] == hours:
            groups[-1][0].append(day)
        else:
            groups.append(([day], hours))
    parts = []
    for days, hours in groups:
        if not hours:
            continue
        name = str(DAY_NAMES[days[0]])
        if len(days) > 1:
            name += "–" + str(DAY_NAMES[days[-1]])
        parts.append(f"{name} {', '.join(h.replace('-', '–') for h in hours)}")
    return "; ".join(parts) or _("never open")


def _target_words(clock: Clock) -> str:
    target = clock.target
    metric = Metric(clock.metric).label
    if target is None:
        return _("%(metric)s: no target applies any more.") % {"metric": metric}
    policy = target.policy
    priority = (
        _("at priority %(p)s") % {"p": target.priority}
        if target.priority_id
        else _("at any priority")
    )
    return _("%(metric)s %(promise)s, as the “%(policy)s” policy promises %(priority)s.") % {
        "metric": metric,
        "promise": target.describe(),
        "policy": policy.name,
        "priority": priority,
    }


def clock_explain(
    clock: Clock, *, changes: Sequence[Any] | None = None, initial: str = "new"
) -> list[str]:
    """Sentences explaining ``clock``'s due time: target, calendar, start, pauses, closed
    days skipped, and where it stands now. Pass the ticket history (``sla.services.
    ticket_history``) to name the reason of each pause; without it, gaps are "paused"."""
    engine = clock.calendar.engine
    calendar = clock.calendar
    lines = [_target_words(clock)]
    if engine.always_open:
        lines.append(
            _("It is counted around the clock on the “%(calendar)s” calendar.")
            % {"calendar": calendar.name}
        )
    else:
        lines.append(
            _("It is counted in business time on the “%(calendar)s” calendar (%(tz)s): %(week)s.")
            % {"calendar": calendar.name, "tz": engine.tzname, "week": week_words(calendar.config)}
        )
    start = clock.started_at
    rule = METRICS[clock.metric]
    lines.append(str(rule.started_words) % {"when": moment_words(start, engine)})
    if clock.cycle > 1:
        lines.append(
            _("Earlier replies on this ticket: %(met)d on time, %(missed)d late.")
            % {"met": clock.cycles_met, "missed": clock.cycles_missed}
        )
    if not engine.is_open(start):
        lines.append(
            _("Support was closed then, so counting began at %(when)s.")
            % {"when": moment_words(engine.next_open(start), engine)}
        )
    if clock.carried_at is not None:
        lines.append(_carried_words(clock, engine))
    target = clock.target
    if target is not None and target.unit == TargetUnit.WORKING_DAYS:
        lines.append(
            _("Working days end when support closes; without pauses that is %(when)s.")
            % {"when": moment_words(engine.add_days(start, target.amount), engine)}
        )
    if changes is not None:
        timeline = clock_timeline(
            metric=clock.metric,
            received_at=clock.ticket.received_at,
            initial_status=initial,
            changes=changes,
        )
        pauses = [(p.start, p.end, p.reason) for p in timeline.pauses]
    else:
        segs = clock.segments
        pauses = [(segs[i][1], segs[i + 1][0], "") for i in range(len(segs) - 1)]
        if clock.state == ClockState.PAUSED and segs:
            pauses.append((segs[-1][1], None, "pending"))
    for begin, end, reason in pauses:
        a = moment_words(from_epoch(begin), engine)
        if end is None and reason == "vendor":
            lines.append(_("Paused since %(a)s while waiting on the vendor.") % {"a": a})
            continue
        if end is None:
            lines.append(_("Paused since %(a)s while waiting on the customer.") % {"a": a})
            continue
        b = moment_words(from_epoch(end), engine)
        if reason == "solved":
            lines.append(
                _("Stopped when solved on %(a)s and re-armed when reopened on %(b)s.")
                % {"a": a, "b": b}
            )
        elif reason == "pending":
            lines.append(
                _("Paused while waiting on the customer from %(a)s to %(b)s.") % {"a": a, "b": b}
            )
        elif reason == "vendor":
            lines.append(
                _("Paused while waiting on the vendor from %(a)s to %(b)s.") % {"a": a, "b": b}
            )
        else:
            lines.append(_("Paused from %(a)s to %(b)s.") % {"a": a, "b": b})
    until = clock.due_at or clock.stopped_at or timezone.now()
    if until > start and not engine.always_open:
        local_a = timezone.localtime(start, engine.timezone).date()
        local_b = timezone.localtime(until, engine.timezone).date()
        lines.extend(_special_day_words(engine, local_a, local_b))
        has_weekend = any(
            not (calendar.config.get("week") or {}).get(day) for day in ("sat", "sun")
        )
        if has_weekend and (local_b - local_a).days >= 1 and _spans_weekend(local_a, local_b):
            lines.append(_("Weekends are not counted."))
    lines.append(_status_words(clock, engine))
    return lines


def _carried_words(clock: Clock, engine: BusinessCalendar) -> str:
    """ "Priority raised to P1 at 10:12; 1 h 5 min of business time used before, counted
    as it was." (forward-only recompute: see docs/sla.md)."""
    assert clock.carried_at is not None  # noqa: S101 - the caller checked
    local = timezone.localtime(clock.carried_at, engine.timezone)
    today = timezone.localtime(timezone.now(), engine.timezone).date()
    when = f"{local:%H:%M}" if local.date() == today else date_format(local, "D j M H:i")
    why = clock.carried_why or {}
    values = {"name": why.get("name", ""), "when": when}
    kind = why.get("kind")
    if kind == "priority":
        raised = why.get("raised")
        if raised is True:
            change = _("Priority raised to %(name)s at %(when)s") % values
        elif raised is False:
            change = _("Priority lowered to %(name)s at %(when)s") % values
        else:
            change = _("Priority changed to %(name)s at %(when)s") % values
    elif kind == "policy":
        change = _("SLA policy changed to “%(name)s” at %(when)s") % values
    elif kind == "calendar":
        change = _("Calendar “%(name)s” edited at %(when)s") % values
    else:
        change = _("Targets of the “%(name)s” policy changed at %(when)s") % values
    return _(
        "%(change)s; %(used)s of business time used before, counted as it was, and only "
        "the rest under the new rules."
    ) % {"change": change, "used": duration_words(clock.carried_seconds)}


def working_days_explain(
    *, calendar: Calendar | None, start: dt.datetime, days: int, what: str
) -> list[str]:
    """Sentences explaining a due time of ``days`` working days from ``start`` on
    ``calendar`` (a clock of the tickets app's, such as a post-incident review's): the
    count, the calendar, the closed and short days skipped, the due time. ``what`` names
    the start ("the close"). Derived again from the calendar, as :func:`clock_explain` is.
    None: counted in calendar days (the desk has no calendar)."""
    if calendar is None:
        due = start + dt.timedelta(days=days)
        return [
            ngettext(
                "Due %(days)d day after %(what)s on %(start)s: the desk has no SLA calendar, "
                "so calendar days count.",
                "Due %(days)d days after %(what)s on %(start)s: the desk has no SLA calendar, "
                "so calendar days count.",
                days,
            )
            % {"days": days, "what": what, "start": date_format(start, "l j F Y H:i")},
            _("That is %(when)s.") % {"when": date_format(due, "l j F Y H:i")},
        ]
    engine = calendar.engine
    due = engine.add_days(start, days)
    values = {
        "days": days, "what": what, "start": moment_words(start, engine),
        "calendar": calendar.name, "tz": engine.tzname, "week": week_words(calendar.config),
    }  # fmt: skip
    lines = [
        ngettext(
            "Due %(days)d working day after %(what)s on %(start)s, on the “%(calendar)s” "
            "calendar (%(tz)s): %(week)s.",
            "Due %(days)d working days after %(what)s on %(start)s, on the “%(calendar)s” "
            "calendar (%(tz)s): %(week)s.",
            days,
        )
        % values
    ]
    if not engine.is_open(start):
        lines.append(
            _("Support was closed then, so counting began at %(when)s.")
            % {"when": moment_words(engine.next_open(start), engine)}
        )
    if not engine.always_open:
        local_a = timezone.localtime(start, engine.timezone).date()
        local_b = timezone.localtime(due, engine.timezone).date()
        lines.extend(_special_day_words(engine, local_a, local_b))
        has_weekend = any(
            not (calendar.config.get("week") or {}).get(day) for day in ("sat", "sun")
        )
        if has_weekend and _spans_weekend(local_a, local_b):
            lines.append(_("Weekends are not counted."))
    lines.append(
        _("A working day ends when support closes; the last one ends %(when)s.")
        % {"when": moment_words(due, engine)}
    )
    return lines


def _special_day_words(engine: BusinessCalendar, a: dt.date, b: dt.date) -> list[str]:
    """ "Closed days skipped: Julstängning 25 December–1 January, 6 January (Trettondedag
    jul)." and "Short days: Wed 23 Dec closes at 13:00, day before Julafton.", named in the
    reader's language (closures by the name the admin gave them)."""
    days = special_days(engine, a, b)
    closed: list[list[Any]] = []  # [first, last, label, is_closure]
    short = []
    for day, _hours, why in days:
        if engine.intervals_on(day):
            closes = engine.intervals_on(day)[-1][1]
            short.append(
                _("%(day)s closes at %(time)s, %(why)s")
                % {"day": date_format(day, "D j M"), "time": f"{closes:%H:%M}", "why": why}
            )
            continue
        is_closure = engine.day_kind(day)[0] == "closure"
        if closed and is_closure and closed[-1][3] and closed[-1][2] == why:
            closed[-1][1] = day  # the same closure goes on (over a weekend, say)
        else:
            closed.append([day, day, why, is_closure])
    out = []
    if closed:
        parts = []
        for first, last, why, is_closure in closed[:12]:
            if is_closure:
                span = date_format(first, "j F")
                if last != first:
                    span += "–" + date_format(last, "j F")
                parts.append(f"{why} {span}")
            else:
                parts.append(f"{date_format(first, 'j F')} ({why})")
        out.append(_("Closed days skipped: %(days)s.") % {"days": ", ".join(parts)})
    if short:
        out.append(_("Short days: %(days)s.") % {"days": "; ".join(short[:12])})
    return out


def _spans_weekend(a: dt.date, b: dt.date) -> bool:
    days = (b - a).days
    return days >= 6 or any((a + dt.timedelta(days=i)).weekday() >= 5 for i in range(days + 1))


def _status_words(clock: Clock, engine: BusinessCalendar) -> str:
    now = timezone.now()
    left = clock.budget_seconds - clock.elapsed_seconds
    if clock.state == ClockState.PAUSED:
        return _("%(left)s will be left when the clock resumes.") % {
            "left": business_duration_words(max(left, 0), engine)
        }
    if clock.state == ClockState.STOPPED:
        stop = moment_words(clock.stopped_at, engine) if clock.stopped_at else "-"
        due = moment_words(clock.due_at, engine) if clock.due_at else "-"
        if clock.met:
            return _("Met: stopped %(stop)s, due %(due)s.") % {"stop": stop, "due": due}
        if clock.met is None:
            return _(
                "Not needed: solved %(stop)s, before the response was due, without a reply."
            ) % {"stop": stop}
        return _("Missed: due %(due)s, stopped %(stop)s.") % {"stop": stop, "due": due}
    assert clock.due_at is not None  # noqa: S101 - a running clock always has a due time
    due = moment_words(clock.due_at, engine)
    if clock.due_at <= now:
        over = engine.between(clock.due_at, now).total_seconds()
        return _("Due %(due)s: overdue by %(over)s.") % {
            "due": due,
            "over": business_duration_words(over, engine),
        }
    left_now = engine.between(now, clock.due_at).total_seconds()
    return _("Due %(due)s: %(left)s left.") % {
        "due": due,
        "left": business_duration_words(left_now, engine),
    }


def business_left(
    due_at: dt.datetime | None, engine: BusinessCalendar | None, now: dt.datetime
) -> float | None:
    """Signed business seconds from now to ``due_at`` (negative when overdue)."""
    if due_at is None or engine is None:
        return None
    if due_at >= now:
        return engine.between(now, due_at).total_seconds()
    return -engine.between(due_at, now).total_seconds()


def deadline_preview(
    *, calendar: Any, engine: BusinessCalendar, now: dt.datetime
) -> list[tuple[str, str, str, str, str]]:
    """ "A ticket filed now is due ...": (policy, priority, metric, promise, due) for every
    target counted on ``calendar``, computed with ``engine`` (possibly an unsaved edit)."""
    rows = []
    priorities = list(Priority.objects.all())
    for policy in SLAPolicy.objects.prefetch_related("targets__priority", "targets__calendar"):
        for priority in priorities or [None]:
            for metric in Metric.values:
                target = policy.target_for(
                    metric=metric, priority_id=priority.pk if priority else None
                )
                if target is None:
                    continue
                counted_on = target.calendar_id or policy.calendar_id
                if counted_on != calendar.pk:
                    continue
                budget = target.budget(start=now, engine=engine)
                due = engine.add(now, budget)
                rows.append(
                    (
                        policy.name,
                        str(priority) if priority else _("any"),
                        str(Metric(metric).label),
                        target.describe(),
                        moment_words(due, engine),
                    )
                )
    return rows


def week_table(config: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each weekday with its opening hours, for the calendar page."""
    if config.get("always_open"):
        return [(str(DAY_NAMES[d]), ["00:00–24:00"]) for d in WEEKDAYS]
    week = config.get("week") or {}
    return [(str(DAY_NAMES[d]), [h.replace("-", "–") for h in week.get(d) or []]) for d in WEEKDAYS]
