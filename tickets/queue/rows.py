"""The queue's rows: each ticket's values worded once per page in Python, printed by
``tickets/_queue_rows.html`` (one template render for all the rows, auto-escaped)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format

from ..choices import Category, Status, SupportLine
from ..templatetags.ticket_tags import business_time
from .columns import COLUMNS, DEFAULT_COLUMNS, columns_with_ticket
from .query import QueueChoices, QueuePage, queue_attach, urgency


@dataclass(frozen=True)
class QueueRow:
    """What the queue page prints for one ticket, every value already text: the template
    (``tickets/_queue_rows.html``) only places and escapes them, since its per-value cost is
    what a page of 50-200 rows spends its time on."""

    pk: int
    url: str
    reference: str
    subject: str
    category: str
    requester: str
    organisation: str
    priority_key: str
    priority_definition: str
    status: str
    line: str
    assignee: str
    due: str
    css: str
    left: float | None
    left_words: str  # business_time(left), worded once per page by queue_rows

    received: str = ""
    updated: str = ""
    major: bool = False  # a declared major incident: the row carries its badge

    @property
    def id_text(self) -> str:
        """The id as the template prints it: an int is localised at every use, and that was
        a third of the rows' render time."""
        return str(self.pk)


def queue_rows(
    page: QueuePage, *, tz: Any, url_pattern: str, choices: QueueChoices
) -> list[QueueRow]:
    """The page's tickets as display rows; ``url_pattern`` has ``{}`` for the ticket id."""
    engines = queue_attach(page.rows, choices=choices)
    # Labels translated once per page, not once per row: each lookup of a lazy choice label
    # goes through gettext, and a page has 50-200 rows.
    categories = {value: str(label) for value, label in Category.choices}
    statuses = {value: str(label) for value, label in Status.choices}
    lines = {value: str(label) for value, label in SupportLine.choices}
    days: dict[dt.date, str] = {}

    def moment(value: dt.datetime) -> str:
        # Many tickets fall due on the same day: its (translated) name is formatted once.
        local = timezone.localtime(value, tz)
        day = days.get(local.date())
        if day is None:
            day = days[local.date()] = date_format(local, "D j M")
        return f"{day} {local:%H:%M}"

    rows = []
    # "3 h 20 min left" depends on whole minutes only: worded once per distinct value.
    words: dict[tuple[bool, int, int | None] | None, str] = {}
    for ticket in page.rows:
        css, left = urgency(ticket, page.now, engines)
        calendar_id = ticket.next_due_calendar_id
        engine = engines.get(calendar_id) if calendar_id is not None else None
        # The words name business hours (and working days) of the ticket's calendar.
        key = (
            None
            if left is None
            else (math.copysign(1.0, left) < 0, int(abs(left) // 60), calendar_id)
        )
        if key not in words:
            words[key] = business_time(left, engine)
        due_text = moment(ticket.next_due_at) if ticket.next_due_at is not None else ""
        rows.append(
            QueueRow(
                pk=ticket.pk,
                url=url_pattern.format(ticket.pk),
                reference=ticket.reference,
                subject=ticket.subject,
                category=categories[ticket.category],
                requester=ticket.requester.name,
                organisation=ticket.organisation.name if ticket.organisation else "",
                priority_key=ticket.priority.key if ticket.priority else "",
                priority_definition=ticket.priority.definition if ticket.priority else "",
                status=statuses[ticket.status],
                line=lines[ticket.support_line],
                assignee=str(ticket.assignee) if ticket.assignee else "",
                due=due_text,
                css=css,
                left=left,
                left_words=words[key],
                received=moment(ticket.received_at),
                updated=moment(ticket.updated_at),
                major=ticket.major_incident_at is not None,
            )
        )
    return rows


def queue_rows_context(
    rows: list[QueueRow],
    *,
    selectable: bool = True,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    checked: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """What ``tickets/_queue_rows.html`` prints a page of rows from: checkboxes only for a role
    that has the bulk action (a manager reads the queue and has none), ticked for ``checked``
    ids; ``shown`` names the columns the template's cells print."""
    shown = columns_with_ticket(columns)
    return {
        "rows": rows,
        "columns": [(c, COLUMNS[c]) for c in shown],
        "shown": dict.fromkeys(shown, True),
        "selectable": selectable,
        "checked": checked,
    }
