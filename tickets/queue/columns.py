"""The queue's columns: which there are, in what order, and which orders a header offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

COLUMNS: dict[str, Any] = {
    "due": _("Due"),
    "ticket": _("Ticket"),
    "requester": _("Requester"),
    "priority": _("Priority"),
    "status": _("Status"),
    "line": _("Line"),
    "assignee": _("Assignee"),
    "received": _("Received"),
    "updated": _("Updated"),
}
"""The queue's columns in the order they show; ``ticket`` (the link j/k and Enter use) is
always one of them."""

DEFAULT_COLUMNS = ("due", "ticket", "requester", "priority", "status", "line", "assignee")

COLUMN_SORTS = {
    "due": ("due",),
    "ticket": ("-reference", "reference"),
    "priority": ("priority",),
    "received": ("-received", "received"),
    "updated": ("-updated", "updated"),
}
"""A sortable column's orders: a click on its header picks the first, a second click the
next (newest first, then oldest first)."""


def columns_with_ticket(columns: Sequence[str]) -> list[str]:
    """``columns`` in the table's order, known ones only, the ticket's own always there."""
    chosen = set(columns) | {"ticket"}
    return [c for c in COLUMNS if c in chosen]


def columns_from_value(value: Any) -> list[str] | None:
    """The known columns of a list (a saved setting), or None when there is none."""
    if not isinstance(value, list) or not value:
        return None
    known = [c for c in value if isinstance(c, str) and c in COLUMNS]
    return columns_with_ticket(known) if known else None
