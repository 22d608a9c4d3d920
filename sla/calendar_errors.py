"""The calendar engine's refusals in the reader's language.

``sla/calendar.py`` stays pure (no Django), so it raises :class:`~sla.calendar.CalendarError`
with a ``code`` and ``params`` beside its English text; this table words each code with
gettext. The JSON paths in the messages ("week.mon[0]", "holidays.country") stay as they are:
they name the keys the admin typed. ``tests/sla/test_calendar_errors.py`` checks that every
engine code is here, reads the same in English, and is translated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .calendar import CalendarError

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

MESSAGES: dict[str, StrPromise] = {
    "config.not_object": _("config: expected an object"),
    "config.key_unknown": _("%(field)s: unknown top-level key"),
    "key.unknown": _("%(field)s: unknown key"),
    "timezone.unknown": _("timezone: unknown time zone %(value)r"),
    "always_open.not_bool": _("always_open: expected true or false"),
    "week.not_object": _("week: expected an object with keys mon..sun"),
    "week.day_unknown": _("%(field)s: unknown weekday key (expected mon..sun)"),
    "week.closed": _("week: no open time in the week"),
    "intervals.not_list": _("%(field)s: expected a list of 'HH:MM-HH:MM' strings"),
    "interval.malformed": _("%(field)s: malformed interval %(value)r, expected 'HH:MM-HH:MM'"),
    "interval.bad_time": _("%(field)s: invalid time in %(value)r (24:00 is allowed as an end)"),
    "interval.empty": _("%(field)s: end must be after start in %(value)r"),
    "intervals.unsorted": _("%(field)s: intervals not sorted"),
    "intervals.overlap": _("%(field)s: intervals overlap"),
    "date.malformed": _("%(field)s: bad date %(value)r, expected 'YYYY-MM-DD'"),
    "month_day.malformed": _("%(field)s: bad date %(value)r, expected 'MM-DD' or 'YYYY-MM-DD'"),
    "month_day.impossible": _("%(field)s: impossible date %(value)r"),
    "holidays.not_object": _("holidays: expected an object or null"),
    "holidays.categories_empty": _(
        "holidays.categories: expected a non-empty list of category names"
    ),
    "holidays.category_not_text": _("%(field)s: expected a string"),
    "holidays.country_unknown": _("holidays.country: unknown country %(value)r"),
    "holidays.subdiv_unknown": _("holidays.subdiv: unknown subdivision %(value)r"),
    "holidays.subdiv_not_in_country": _(
        "holidays.subdiv: unknown subdivision %(value)r for country %(country)r"
    ),
    "holidays.category_unsupported": _(
        "%(field)s: unsupported category %(value)r for %(country)r (supported: %(supported)s)"
    ),
    "holidays.subdiv_without_country": _("holidays.subdiv: a subdivision needs holidays.country"),
    "holidays.dates_not_list": _("%(field)s: expected a list of 'YYYY-MM-DD' dates"),
    "closures.not_list": _("closures: expected a list of {'from': ..., 'to': ...} objects"),
    "closure.not_object": _("%(field)s: expected an object with 'from' and 'to'"),
    "closure.name_too_long": _("%(field)s: expected a text of at most %(max)d characters"),
    "closure.date_not_text": _("%(field)s: expected 'MM-DD' or 'YYYY-MM-DD'"),
    "closure.mixed_forms": _("%(field)s: 'from' and 'to' must both be MM-DD or both YYYY-MM-DD"),
    "closure.reversed": _("%(field)s: %(end)r is before 'from' %(start)r"),
    "overrides.not_object": _("overrides: expected an object of 'YYYY-MM-DD': [intervals]"),
    "year.unsupported": _("date outside the supported years %(min)d..%(max)d"),
    "calendar.never_open": _("calendar has no open time in the %(years)d years up to %(year)d"),
    "datetime.naive": _("%(field)s: naive datetime; a timezone-aware datetime is required"),
    "duration.negative": _("%(field)s: negative duration"),
    "instant.reversed": _("%(field)s: before %(start)s"),
    "count.invalid": _("%(field)s: expected an integer >= 1, got %(value)r"),
    "date.not_date": _("%(field)s: expected a date"),
    "date.unsupported_year": _("%(field)s: outside the supported years %(min)d..%(max)d"),
    "add_many.not_finite": _("add_many: starts and durations must be finite"),
    "between_many.not_finite": _("between_many: instants must be finite"),
}


def calendar_error(exc: ValueError) -> ValidationError:
    """``exc`` from the engine as a form error in the active language (worded when shown).

    A ``ValueError`` without a known code (from a library under the engine) keeps its text."""
    if isinstance(exc, CalendarError) and exc.code in MESSAGES:
        return ValidationError(MESSAGES[exc.code], code=exc.code, params=exc.params)
    return ValidationError(str(exc))
