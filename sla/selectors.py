"""The SLA app's reads that other modules share: a ticket's history as its clocks see it,
and the tickets whose thresholds have come due. Writes live in :mod:`sla.services`."""

from __future__ import annotations

import datetime as dt

from django_scopes import scopes_disabled

from tickets.models import EventKind, Ticket, TicketEvent, TicketSchedule

from .clocks import Change


def ticket_history(ticket: Ticket) -> tuple[str, list[Change]]:
    """The initial status and the changes that move clocks, in the order they took effect.

    That is the order they were applied (event ids: each change is written under the
    ticket's row lock), not the order of their times: a mail received at 10:25 but
    processed at 10:35 reopens a ticket set pending at 10:30, so its status change takes
    effect at 10:30, not before the pending it undid. Each change's time is therefore at
    least the previous one's; then the clock state always follows the ticket's status.
    """
    rows = (
        TicketEvent.objects.filter(
            ticket=ticket,
            kind__in=[
                EventKind.CREATED,
                EventKind.STATUS_CHANGED,
                EventKind.REPLIED,
                EventKind.VENDOR_STATE,
            ],
        )
        .order_by("id")
        .values_list("kind", "at", "new_value", "by_staff", "is_public", "data")
    )
    initial = ticket.status
    changes: list[Change] = []
    latest: dt.datetime | None = None
    for kind, event_at, new_value, by_staff, is_public, data in rows:
        at = event_at if latest is None or event_at > latest else latest
        latest = at
        if kind == EventKind.CREATED:
            initial = new_value or initial
            if data.get("responded"):
                changes.append(Change(at=ticket.received_at, responded=True))
        elif kind == EventKind.STATUS_CHANGED:
            changes.append(Change(at=at, status=new_value))
        elif kind == EventKind.VENDOR_STATE:
            # Whether the wait pauses was the tenant's setting when it began (the event's).
            changes.append(Change(at=at, vendor_wait=bool(data.get("pauses_resolution"))))
        elif by_staff and is_public:
            changes.append(Change(at=at, responded=True))
        elif not by_staff:
            changes.append(Change(at=at, customer=True))
    return initial, changes


def due_clocks(*, now: dt.datetime, limit: int = 5000) -> list[tuple[int, int]]:
    """(tenant_id, ticket_id) of every ticket with a threshold due: one index range scan on
    the tickets' earliest pending threshold (``TicketSchedule.alert_at``).

    Deliberately across tenants (the sweep serves them all); callers re-enter each tenant's
    scope before touching its tickets.
    """
    with scopes_disabled():
        return list(
            TicketSchedule.objects.filter(alert_at__lte=now)
            .order_by("alert_at")
            .values_list("tenant_id", "ticket_id")[:limit]
        )
