"""Template filters for the agent pages."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.translation import gettext as _

from sla.explanations import duration_words

register = template.Library()


@register.filter
def business_time(seconds: float | None) -> str:
    """Signed business seconds as words: "2 h 15 min left" / "overdue by 40 min"."""
    if seconds is None:
        return _("no due time")
    if math.copysign(1.0, seconds) < 0:  # -0.0 too: due passed while support was closed
        return _("overdue by %(time)s") % {"time": duration_words(-seconds)}
    return _("%(time)s left") % {"time": duration_words(seconds)}


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
