"""The queue's filter parameters, read leniently: a value the queue does not know falls back
to the default instead of failing the page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from supportdesk.forms import is_plain_number

from ..choices import Category, Status

MAX_DUE_WITHIN = 100 * 366 * 24 * 60
"""``due_within`` beyond a century of minutes means the same as a century (every ticket with a
due time) and keeps ``now + due_within`` inside the calendar."""


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"  # all | mine | unassigned
    line: str = ""  # "" | "1" | "2" | "3" | "mine"
    due_within: int | None = None  # minutes; includes the breached
    breached: bool = False
    priority: int | None = None
    organisation: int | None = None
    status: str = "active"  # active | all | a status
    category: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Any) -> QueueFilters:
        """Lenient parsing of query parameters: unknown values fall back to the default."""

        def integer(name: str) -> int | None:
            value = str(params.get(name, "") or "").strip()
            return int(value) if is_plain_number(value) and len(value) < 12 else None

        view = params.get("view", "all")
        status = params.get("status", "active") or "active"
        category = params.get("category", "")
        line = params.get("line", "")
        return cls(
            view=view if view in ("all", "mine", "unassigned") else "all",
            line=line if line in ("1", "2", "3", "mine") else "",
            due_within=integer("due_within"),
            breached=str(params.get("breached", "")).lower() in ("1", "true", "on", "yes"),
            priority=integer("priority"),
            organisation=integer("organisation"),
            status=status if status in ("active", "all", *Status.values) else "active",
            category=category if category in Category.values else "",
            q=str(params.get("q", "") or "").strip()[:100],
        )


REFERENCE = re.compile(r"^(?:[A-Za-z]+-)?(\d{1,9})$")
