"""Template filters for the agent pages."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.translation import gettext as _

from sla.explanations import business_duration_parts

register = template.Library()


@register.filter
def business_time(seconds: float | None, engine: Any = None) -> str:
    """Signed business seconds of ``engine``'s calendar as words: "11 business hours left
    (about 1.5 working days)" / "overdue by 40 business minutes"; around the clock, plain
    hours and days."""
    if seconds is None:
        return _("no due time")
    time, about = business_duration_parts(abs(seconds), engine)
    if math.copysign(1.0, seconds) < 0:  # -0.0 too: due passed while support was closed
        words = _("overdue by %(time)s") % {"time": time}
    else:
        words = _("%(time)s left") % {"time": time}
    return f"{words} ({about})" if about else words


@register.filter
def event_value(event: Any, which: str) -> str:
    """An event's old or new value as the reader's language names it ("Nytt", not "new")."""
    from tickets.choices import Category, Status
    from tickets.models import EventKind

    raw = event.old_value if which == "old" else event.new_value
    labels: dict[str, Any] = {
        EventKind.CREATED: Status,
        EventKind.STATUS_CHANGED: Status,
        EventKind.CONVERTED: Category,
    }
    choices = labels.get(event.kind)
    if choices is None or raw in (None, ""):
        return raw or ""
    names = {str(value): label for value, label in choices.choices}
    return str(names.get(str(raw), raw))
