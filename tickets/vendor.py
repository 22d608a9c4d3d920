"""Customer updates while a ticket waits on the upstream vendor (Synerity: "we keep you
informed until the problem is solved"). The escalation itself is a write of
:func:`tickets.services.ticket_vendor_escalate`; this module holds the periodic sweep that
reminds the assignee when the customer is owed an update."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DateTimeField, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils.translation import gettext as _

from contracts.services import organisations_with_feature
from sla.calendar import BusinessCalendar
from sla.models import Calendar
from supportdesk.models import Tenant
from supportdesk.notices import NoticeKind, notice_sink

from .choices import VendorState
from .models import ACTIVE_STATUSES, EventKind, Message, Ticket, TicketEvent

PROACTIVE_FEATURE = "vendor_updates_proactive"
"""The feature-matrix key of plans whose customers get updates without asking (Synerity's
Silver and Guld: "Proaktivt"); on other plans updates are given on request."""

MAX_PERIODS = 100
"""Periods counted at most: a wait that long is one reminder per sweep-visible period."""


@dataclass(frozen=True)
class Reminder:
    ticket: Ticket
    period: int  # 1: the first N business days without an update, 2: the next N, ...


def update_period(
    *, engine: BusinessCalendar | None, since: dt.datetime, days: int, now: dt.datetime
) -> int:
    """How many whole periods of ``days`` business days (working days of ``engine``;
    calendar days without a calendar) have passed from ``since`` to ``now``: 0 while the
    first is still running. Pure."""
    period = 0
    while period < MAX_PERIODS:
        n = (period + 1) * days
        due = engine.add_days(since, n) if engine is not None else since + dt.timedelta(days=n)
        if due > now:
            break
        period += 1
    return period


def vendor_updates_due(*, tenant: Tenant, now: dt.datetime) -> list[Reminder]:
    """Tickets waiting on the vendor whose customer has had no public update (a public
    staff reply, or the escalation's last change) for the tenant's ``vendor_update_days``
    business days, on plans with :data:`PROACTIVE_FEATURE`. A fixed number of queries.
    Caller holds the tenant's scope."""
    last_reply = (
        Message.objects.filter(ticket=OuterRef("pk"), is_public=True, author__isnull=False)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    last_change = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=EventKind.VENDOR_STATE)
        .order_by("-id")
        .values("at")[:1]
    )
    tickets = list(
        Ticket.objects.filter(
            vendor_state=VendorState.WAITING,
            status__in=ACTIVE_STATUSES,
            assignee__isnull=False,
        )
        .select_related("assignee")
        .annotate(
            last_update=Greatest(
                Coalesce(Subquery(last_reply), Subquery(last_change), "received_at"),
                Coalesce(Subquery(last_change), "received_at"),
                output_field=DateTimeField(),
            )
        )
        .order_by("id")
    )
    if not tickets:
        return []
    proactive = organisations_with_feature(
        tenant=tenant,
        organisation_ids={t.organisation_id for t in tickets},
        key=PROACTIVE_FEATURE,
        at=now,
    )
    calendar = Calendar.objects.filter(is_default=True).first()
    engine = calendar.engine if calendar is not None else None
    due = []
    for ticket in tickets:
        if ticket.organisation_id not in proactive:
            continue
        since: dt.datetime = ticket.last_update  # type: ignore[attr-defined]
        period = update_period(engine=engine, since=since, days=tenant.vendor_update_days, now=now)
        if period:
            due.append(Reminder(ticket, period))
    return due


def vendor_updates_remind(*, tenant: Tenant, now: dt.datetime) -> int:
    """Queue one notice to the assignee per ticket and period owed an update (see
    :func:`vendor_updates_due`); exactly once by the notice's key (ticket, its last update,
    period), so every sweep may run this. Returns how many tickets were due. Caller holds
    the tenant's scope and a transaction."""
    due = vendor_updates_due(tenant=tenant, now=now)
    sink = notice_sink()
    for item in due:
        ticket = item.ticket
        since = int(ticket.last_update.timestamp())  # type: ignore[attr-defined]
        sink.queue(
            tenant=tenant,
            key=f"vendor_update:{ticket.pk}:{since}:{item.period}:{ticket.assignee_id}",
            kind=NoticeKind.VENDOR_UPDATE,
            recipient=ticket.assignee,
            ticket=ticket,
            text=_(
                "%(reference)s %(subject)s: waiting on the vendor (%(vendor)s); the customer "
                "has had no update for %(days)s business days"
            )
            % {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "vendor": ticket.vendor_reference,
                "days": tenant.vendor_update_days * item.period,
            }
            + "\n"
            + tenant.base_url()
            + reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk}),
        )
    if due:
        sink.flush_on_commit(tenant_id=tenant.pk)
    return len(due)
