"""A ticket moved up a support line by an SLA rule: the tickets app writes its own rows.

The SLA app decides *that* a threshold moves a ticket (its escalation rules) and calls the
line mover this app subscribes from ``TicketsConfig.ready()``
(:func:`sla.services.line_mover_subscribe`); it never writes a ticket's fields itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .choices import SupportLine
from .events import event_record
from .models import EventKind, Ticket, TicketEvent


def ticket_line_raise(
    *, ticket: Ticket, line: int, at: dt.datetime, data: dict[str, Any]
) -> TicketEvent | None:
    """Move ``ticket`` up to ``line`` (never down) and record it; None when it is there
    already. Precondition: the caller holds the ticket's row lock inside a transaction (the
    SLA refresh does) and publishes the returned event with its own."""
    if line <= ticket.support_line:
        return None
    old = ticket.support_line
    ticket.support_line = line
    ticket.version += 1
    Ticket.objects.filter(pk=ticket.pk).update(support_line=line, version=ticket.version)
    return event_record(
        ticket=ticket,
        kind=EventKind.ESCALATED,
        old=SupportLine(old).label,
        new=SupportLine(line).label,
        is_public=False,
        at=at,
        data={**data, "line": line},
    )
