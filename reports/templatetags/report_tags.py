"""Template filters for the reports."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def hours_minutes(minutes: int | None) -> str:
    """Minutes as ``h:mm``, the hours grouped as the reader's language groups numbers
    ("1 234:05" in Swedish, "1.234:05" in Dutch, "1,234:05" in English)."""
    hours, rest = divmod(int(minutes or 0), 60)
    return f"{number_format(hours, force_grouping=True)}:{rest:02d}"
