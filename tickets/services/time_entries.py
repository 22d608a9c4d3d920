"""Time agents log on tickets, capped for billable out-of-scope work without an accepted
quote (:mod:`tickets.quotes.rules`); the account manager hears when such work starts and
when it reaches the quote-free hours."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from supportdesk.models import User
from supportdesk.notices import NoticeKind, notice_sink

from ..events import event_record, events_publish
from ..models import EventKind, Ticket, TimeEntry
from ..quotes.rules import QuoteCap, quote_cap
from .steps import require_agent, ticket_locked, ticket_touch


def time_entry_log(
    *,
    ticket: Ticket,
    agent: User,
    minutes: int,
    billable: bool,
    note: str = "",
    work_date: dt.date | None = None,
) -> TimeEntry:
    """Record time an agent spent on the ticket; without ``work_date``, on today in the
    tenant's time zone (the time report's months are the tenant's)."""
    require_agent(agent)
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"minutes": _("Log between 1 minute and 24 hours.")})
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        cap = quote_cap(ticket=locked, at=now)
        if billable and cap.refuses(minutes):
            raise ValidationError(
                {
                    "minutes": _(
                        "This out-of-scope ticket may carry %(allowed)s h of billable time "
                        "without a quote the customer accepted; %(logged)s h are logged. "
                        "Propose a quote, or log the time as non-billable."
                    )
                    % {
                        "allowed": _hours_text(cap.allowed_minutes or 0),
                        "logged": _hours_text(cap.logged_minutes),
                    }
                }
            )
        entry = TimeEntry.objects.create(
            tenant_id=locked.tenant_id,
            ticket=locked,
            agent=agent,
            minutes=minutes,
            billable=billable,
            note=note.strip()[:300],
            work_date=work_date
            or timezone.localdate(now, timezone=ZoneInfo(ticket.tenant.time_zone)),
        )
        event = event_record(
            ticket=locked,
            kind=EventKind.TIME_LOGGED,
            actor=agent,
            by_staff=True,
            new=f"{minutes} min",
            is_public=False,
            data={"time_entry_id": entry.pk, "minutes": minutes, "billable": billable},
        )
        ticket_touch(locked, now)
        events_publish([event])
        if billable and cap.out_of_scope and cap.notify:
            _quote_notices(locked, cap, minutes)
    return entry


def _hours_text(minutes: int) -> str:
    return f"{(Decimal(minutes) / 60).quantize(Decimal('0.01')).normalize():f}"


def _quote_notices(ticket: Ticket, cap: QuoteCap, minutes: int) -> None:
    """Tell the account manager, once each, that billable out-of-scope work started and that
    it reached the plan's quote-free hours (the notice's unique key makes it once)."""
    link = ticket.tenant.base_url() + reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
    total = cap.logged_minutes + minutes
    sends: list[tuple[str, str]] = []
    if cap.logged_minutes == 0:
        sends.append(
            (
                "quote_work_started",
                _("%(reference)s %(subject)s: billable out-of-scope work started"),
            )
        )
    threshold = cap.threshold_minutes
    if threshold is not None and cap.logged_minutes < threshold <= total:
        sends.append(
            (
                "quote_threshold",
                _(
                    "%(reference)s %(subject)s: billable out-of-scope work reached "
                    "%(hours)s h; more needs a quote the customer accepts"
                ),
            )
        )
    for key, text in sends:
        for user in cap.notify:
            notice_sink().queue(
                tenant=ticket.tenant,
                key=f"{key}:{ticket.pk}:{user.pk}",
                kind=NoticeKind.OUT_OF_SCOPE,
                recipient=user,
                ticket=ticket,
                text=text
                % {
                    "reference": ticket.reference,
                    "subject": ticket.subject,
                    "hours": _hours_text(threshold or 0),
                }
                + "\n"
                + link,
            )
    if sends:
        notice_sink().flush_on_commit(tenant_id=ticket.tenant_id)
