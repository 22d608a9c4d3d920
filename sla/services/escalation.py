"""Escalation: thresholds acted on exactly once; whom they notify is the notifications app's
(handed over through :func:`supportdesk.notices.notice_sink`)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from supportdesk.notices import notice_sink
from tickets.events import event_record
from tickets.models import EventKind, Ticket, TicketEvent

from ..models import (
    Alert,
    Clock,
    ClockState,
    EscalationRule,
)

if TYPE_CHECKING:
    from .refresh import Derived

logger = logging.getLogger(__name__)

BREACH_PERCENT = 100
"""Always watched, rule or not: crossing it records the breach on the ticket's log."""


def alerts_fire(
    ticket: Ticket, derived: list[Derived], fired: set[tuple[str, int]], now: dt.datetime
) -> list[TicketEvent]:
    events: list[TicketEvent] = []
    for item in derived:
        running = item.figures.state == ClockState.RUNNING
        if not running and item.figures.breached_at is None:
            continue
        metric = item.clock.metric
        # A clock stopped or paused after its due time breached as surely as a running one:
        # the breach is recorded (so ``met`` and the record agree), warnings are not.
        # (A frozen outcome has no thresholds: acted on when it was reached, if ever.)
        breach_moment = item.figures.thresholds.get(BREACH_PERCENT) if running else None
        breach_due = breach_moment is not None and breach_moment <= now
        for percent in item.thresholds if running else item.thresholds[-1:]:
            moment = item.figures.thresholds.get(percent) if running else item.figures.breached_at
            if moment is None or moment > now or (metric, percent) in fired:
                continue
            try:
                with transaction.atomic():
                    Alert.objects.create(
                        tenant_id=ticket.tenant_id,
                        ticket=ticket,
                        metric=metric,
                        cycle=item.clock.cycle,
                        threshold_percent=percent,
                        due_at=item.clock.due_at,
                        fired_at=now,
                    )
            except IntegrityError:
                # Someone acted on it already (a concurrent sweep); acting again would repeat.
                fired.add((metric, percent))
                continue
            fired.add((metric, percent))
            rules = [r for r in item.rules if r.threshold_percent == percent]
            # A warning first acted on once the breach is already due (a ticket overdue when
            # it came in, a sweep that was down) warns of nothing: its line move still
            # applies, its warning event and notices do not; the breach says it all.
            superseded = breach_due and 0 < percent < BREACH_PERCENT
            events.extend(_act(ticket, item.clock, percent, rules, now, superseded=superseded))
    return events


class LineMover(Protocol):
    def __call__(
        self, *, ticket: Ticket, line: int, at: dt.datetime, data: dict[str, Any]
    ) -> TicketEvent | None: ...


_line_movers: list[LineMover] = []


def line_mover_subscribe(mover: LineMover) -> None:
    """Make ``mover`` the service that moves a ticket up a support line when an escalation
    rule says so (the tickets app's ``ticket_line_raise``): it writes the ticket and returns
    the event to publish, or None when the ticket is on that line or higher already."""
    _line_movers[:] = [mover]


def _line_mover() -> LineMover:
    if not _line_movers:
        raise ImproperlyConfigured("no line mover is subscribed: add 'tickets' to INSTALLED_APPS")
    return _line_movers[0]


def _act(
    ticket: Ticket,
    clock: Clock,
    percent: int,
    rules: list[EscalationRule],
    now: dt.datetime,
    *,
    superseded: bool = False,
) -> list[TicketEvent]:
    """Record the crossing, move the ticket up a line, and queue notices, per the rules.
    ``superseded``: a warning whose breach is due too: only the line move applies."""
    breach = percent >= BREACH_PERCENT
    events: list[TicketEvent] = []
    if not superseded:
        events.append(
            event_record(
                ticket=ticket,
                kind=EventKind.SLA_BREACHED if breach else EventKind.SLA_WARNING,
                new=f"{percent}%",
                is_public=False,
                at=now,
                data={
                    "metric": clock.metric,
                    "percent": percent,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                    "rules": [r.name for r in rules],
                    "rule_ids": [r.pk for r in rules],
                    **({"cycle": clock.cycle} if clock.cycle else {}),
                },
            )
        )
    lines = [r.move_to_line for r in rules if r.move_to_line]
    if lines:
        moved = _line_mover()(
            ticket=ticket,
            line=max(lines),
            at=now,
            data={"metric": clock.metric, "percent": percent},
        )
        if moved is not None:
            events.append(moved)
    if not superseded and rules:
        notice_sink().sla_crossed(
            ticket=ticket, clock=clock, percent=percent, rules=rules, breach=breach
        )
    return events
