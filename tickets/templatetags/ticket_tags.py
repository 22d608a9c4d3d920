"""Template filters for the agent pages."""

from __future__ import annotations

import math

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
