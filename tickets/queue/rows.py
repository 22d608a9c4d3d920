"""The queue's rows as the page prints them: each ticket's cells prepared in Python."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from ..choices import Category, Status, SupportLine
from .columns import DEFAULT_COLUMNS, columns_with_ticket
from .query import QueueChoices, QueuePage, queue_attach, urgency


@dataclass(frozen=True)
class QueueRow:
    """What the queue page prints for one ticket, prepared in Python (fast to render)."""

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

    def as_html(
        self,
        *,
        selectable: bool = True,
        columns: Sequence[str] = DEFAULT_COLUMNS,
        checked: bool = False,
    ) -> SafeString:
        """The table row with ``columns`` (the ticket's own cell always), and a checkbox for
        the bulk action when ``selectable``, ticked when ``checked`` (a refresh keeps it).

        Built here rather than in the template: a page has 50-200 rows, and the template
        engine's per-row cost was most of the page's time. Every value is escaped
        (``html.escape`` escapes what Django's ``escape`` does)."""

        e = html.escape
        reference = e(self.reference)
        cells = {
            "due": self._due_cell(),
            "ticket": f'<td><a href="{e(self.url)}">{reference}</a> {e(self.subject)}'
            f"<br><small>{e(self.category)}</small></td>",
            "requester": self._requester_cell(),
            "priority": self._priority_cell(),
            "status": f"<td>{e(self.status)}</td>",
            "line": f"<td>{e(self.line)}</td>",
            "assignee": f"<td>{e(self.assignee or '–')}</td>",
            "received": f"<td>{e(self.received)}</td>",
            "updated": f"<td>{e(self.updated)}</td>",
        }
        select = (
            f'<td><input type="checkbox" name="tickets" value="{self.pk}"'
            f' aria-label="{reference}"{" checked" if checked else ""}></td>'
            if selectable
            else ""
        )
        body = "".join(cells[c] for c in columns_with_ticket(columns))
        return mark_safe(f'<tr data-ticket="{self.pk}">{select}{body}</tr>')  # noqa: S308 - escaped

    def _due_cell(self) -> str:
        e = html.escape
        due = f"<br><small>{e(self.due)}</small>" if self.due else ""
        return f'<td><span class="badge {e(self.css)}">{e(self.left_words)}</span>{due}</td>'

    def _requester_cell(self) -> str:
        e = html.escape
        organisation = f"<br><small>{e(self.organisation)}</small>" if self.organisation else ""
        return f"<td>{e(self.requester)}{organisation}</td>"

    def _priority_cell(self) -> str:
        e = html.escape
        if not self.priority_key:
            return "<td>–</td>"
        return f'<td><span title="{e(self.priority_definition)}">{e(self.priority_key)}</span></td>'


def queue_rows(
    page: QueuePage, *, tz: Any, url_pattern: str, choices: QueueChoices
) -> list[QueueRow]:
    """The page's tickets as display rows; ``url_pattern`` has ``{}`` for the ticket id."""
    from django.utils.formats import date_format

    from ..templatetags.ticket_tags import business_time

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
            )
        )
    return rows


def queue_rows_html(
    rows: list[QueueRow],
    *,
    selectable: bool = True,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    checked: frozenset[int] = frozenset(),
) -> SafeString:
    """The table body of a page of rows, in one piece; checkboxes only for a role that has
    the bulk action (a manager reads the queue and has none), ticked for ``checked`` ids."""
    html = "".join(
        row.as_html(selectable=selectable, columns=columns, checked=row.pk in checked)
        for row in rows
    )
    return mark_safe(html)  # noqa: S308 - rows escape
