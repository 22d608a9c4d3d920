"""Every write of the SLA app: clocks derived from ticket history, escalation, the notice
outbox, and the configuration edits that trigger recomputation.

The clock rules themselves are pure functions in :mod:`sla.clocks`; this module reads the
history, stores the figures, and acts on thresholds exactly once (an :class:`Alert` row per
ticket, metric and threshold, written in the transaction that acts).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, FloatField, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from supportdesk.models import AuditAction, AuditEvent, Tenant, User
from tickets.choices import SupportLine
from tickets.events import enqueue_safely, event_record, events_publish
from tickets.models import ACTIVE_STATUSES, EventKind, Ticket, TicketEvent, TicketSchedule

from . import clocks as engine_rules
from .calendar import BusinessCalendar
from .calendar_errors import calendar_error
from .clocks import BulkRow, Change, Figures, Timeline
from .models import (
    Alert,
    Calendar,
    Clock,
    ClockState,
    EscalationRule,
    Metric,
    Notice,
    NoticeKind,
    NoticeMail,
    Priority,
    RecomputeJob,
    RecomputeState,
    SLAPolicy,
    SLATarget,
    TargetUnit,
)

logger = logging.getLogger(__name__)

BREACH_PERCENT = 100
"""Always watched, rule or not: crossing it records the breach on the ticket's log."""


# --------------------------------------------------------------------------------------------
# Clocks of one ticket
# --------------------------------------------------------------------------------------------


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
            kind__in=[EventKind.CREATED, EventKind.STATUS_CHANGED, EventKind.REPLIED],
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
        elif by_staff and is_public:
            changes.append(Change(at=at, responded=True))
    return initial, changes


@dataclass
class _Derived:
    clock: Clock
    figures: Figures
    rules: list[EscalationRule]
    thresholds: list[int]


def _thresholds(rules: Iterable[EscalationRule]) -> list[int]:
    return sorted({r.threshold_percent for r in rules} | {BREACH_PERCENT})


def _engine(calendar: Calendar) -> BusinessCalendar:
    return calendar.engine


def _derive(ticket: Ticket, now: dt.datetime) -> tuple[list[_Derived], list[Clock]]:
    """The figures of every clock the ticket's policy promises; and the clocks to drop."""
    existing = {
        c.metric: c
        for c in Clock.objects.filter(ticket=ticket).select_related(
            "calendar", "target__policy", "target__priority"
        )
    }
    policy = (
        SLAPolicy.objects.filter(pk=ticket.sla_policy_id)
        .select_related("calendar")
        .prefetch_related("targets__calendar")
        .first()
        if ticket.sla_policy_id is not None
        else None
    )
    rules = list(EscalationRule.objects.filter(is_active=True).prefetch_related("notify_users"))
    initial, changes = ticket_history(ticket)
    derived: list[_Derived] = []
    dropped: list[Clock] = []
    for metric in Metric.values:
        target = (
            policy.target_for(metric=metric, priority_id=ticket.priority_id) if policy else None
        )
        clock = existing.get(metric)
        timeline = engine_rules.clock_timeline(
            metric=metric, received_at=ticket.received_at, initial_status=initial, changes=changes
        )
        if clock is not None and _frozen(clock, timeline):
            # An outcome reached is final: a later priority, plan, policy or calendar change
            # does not turn last month's met response into a missed one.
            derived.append(_Derived(clock, _stored_figures(clock), [], []))
            continue
        if target is None:
            if clock is not None:
                dropped.append(clock)
            continue
        target.policy = policy  # type: ignore[assignment]  # spare a query
        calendar = target.effective_calendar()
        engine = _engine(calendar)
        start = engine_rules.from_epoch(engine_rules.to_epoch(ticket.received_at))
        budget = target.budget(start=start, engine=engine).total_seconds()
        applicable = [
            r
            for r in rules
            if r.applies_to(
                policy_id=ticket.sla_policy_id, priority_id=ticket.priority_id, metric=metric
            )
        ]
        thresholds = _thresholds(applicable)
        if clock is not None:  # live, or running again (reopened): a frozen one returned above
            _carry_forward(clock, timeline, ticket, target, calendar, budget, now)
        figures = engine_rules.clock_figures(
            timeline=timeline,
            budget_seconds=budget,
            engine=engine,
            now=now,
            thresholds=thresholds,
            carried_seconds=clock.carried_seconds if clock is not None else 0.0,
            carried_at=_carried_epoch(clock),
        )
        if clock is None:
            clock = Clock(tenant_id=ticket.tenant_id, ticket=ticket, metric=metric)
        clock.target = target
        clock.calendar = calendar
        clock.started_at = start
        clock.budget_seconds = budget
        _apply(clock, timeline, figures, now)
        derived.append(_Derived(clock, figures, applicable, thresholds))
    return derived, dropped


def _carried_epoch(clock: Clock | None) -> int | None:
    if clock is None or clock.carried_at is None:
        return None
    return engine_rules.to_epoch(clock.carried_at)


def _carry(
    clock: Clock,
    segments: Sequence[Sequence[Any]],
    old: BusinessCalendar,
    at: dt.datetime,
    why: dict[str, Any],
) -> None:
    """Forward-only recompute of one clock, the rule of every change path: keep the business
    time used until ``at`` as counted under the rules then (``old``, the clock's budget), so
    only the rest is counted under the new rules."""
    moment = engine_rules.to_epoch(at)
    if clock.carried_at is not None and engine_rules.to_epoch(clock.carried_at) >= moment:
        return  # already carried at (or after) this change
    clock.carried_seconds = engine_rules.used_until(
        segments=segments,
        carried_seconds=clock.carried_seconds,
        carried_at=_carried_epoch(clock),
        engine=old,
        at=moment,
    )
    clock.carried_at = engine_rules.from_epoch(moment)
    clock.carried_why = why


def _carry_forward(
    clock: Clock,
    timeline: Timeline,
    ticket: Ticket,
    target: SLATarget,
    calendar: Calendar,
    budget: float,
    now: dt.datetime,
) -> None:
    """Carry a live clock's used time over a change of its rules, if they changed.

    Rules changed when the clock now follows another target (priority or policy), its
    target's amount or calendar changed, or its calendar was edited and the bulk recompute
    (a task) has not reached this clock yet (``Calendar.recompute_from``).
    """
    stored = clock.calendar
    if (
        stored.recompute_from is not None
        and stored.recompute_config is not None
        and clock.computed_at < stored.recompute_from
    ):
        _carry(
            clock,
            timeline.segments,
            BusinessCalendar.from_dict(stored.recompute_config),
            stored.recompute_from,
            {"kind": "calendar", "name": stored.name},
        )
    old_target = clock.target
    if (clock.target_id, clock.calendar_id) == (target.pk, calendar.pk) and abs(
        clock.budget_seconds - budget
    ) < 0.5:
        return
    why: dict[str, Any]
    if old_target is None or old_target.policy_id != target.policy_id:
        why = {"kind": "policy", "name": target.policy.name}
    elif old_target.priority_id != target.priority_id and ticket.priority_id is not None:
        old_rank = old_target.priority.rank if old_target.priority else None
        new = ticket.priority
        # The old priority is known through a target of its own; else a shorter promise
        # means a raise (the ticket's priority field has already changed).
        raised = (
            new.rank < old_rank
            if old_rank is not None and new is not None
            else budget < clock.budget_seconds
        )
        why = {"kind": "priority", "name": new.key if new else "", "raised": raised}
    else:
        why = {"kind": "target", "name": target.policy.name}
    _carry(clock, timeline.segments, stored.engine, now, why)


def _frozen(clock: Clock, timeline: Timeline) -> bool:
    """Whether ``clock`` reached its outcome and the history still ends it there."""
    return (
        clock.pk is not None
        and clock.state == ClockState.STOPPED
        and timeline.stopped_at is not None
        and clock.stopped_at is not None
        and engine_rules.to_epoch(clock.stopped_at) == timeline.stopped_at
    )


def _stored_figures(clock: Clock) -> Figures:
    return Figures(
        state=ClockState.STOPPED,
        due_at=clock.due_at,
        elapsed_seconds=clock.elapsed_seconds,
        breached_at=clock.breached_at,
        met=clock.met,
    )


def _apply(clock: Clock, timeline: Timeline, figures: Figures, now: dt.datetime) -> None:
    clock.state = figures.state
    clock.segments = timeline.as_json()
    clock.elapsed_seconds = figures.elapsed_seconds
    clock.due_at = figures.due_at
    clock.stopped_at = (
        engine_rules.from_epoch(timeline.stopped_at) if timeline.stopped_at is not None else None
    )
    clock.breached_at = figures.breached_at
    clock.met = figures.met
    clock.computed_at = now


def _keep_recorded_breaches(
    derived: list[_Derived], alerts: Iterable[tuple[str, int, dt.datetime | None]]
) -> None:
    """A breach once recorded (event written, notices sent) is never undone: the clock keeps
    a breach time and a stopped clock counts as missed, whatever the history says now."""
    recorded = {metric: due for metric, percent, due in alerts if percent == BREACH_PERCENT}
    for item in derived:
        clock = item.clock
        if clock.metric not in recorded:
            continue
        if clock.breached_at is None:
            clock.breached_at = recorded[clock.metric] or clock.due_at
        if clock.state == ClockState.STOPPED:
            clock.met = False


def _next_alert(item: _Derived, fired: set[tuple[str, int]]) -> dt.datetime | None:
    if item.figures.state != ClockState.RUNNING:
        return None
    pending = [
        moment
        for percent, moment in item.figures.thresholds.items()
        if moment is not None and (item.clock.metric, percent) not in fired
    ]
    return min(pending) if pending else None


def sla_refresh(
    *, ticket: Ticket, now: dt.datetime | None = None, flush_notices: bool = True
) -> list[Clock]:
    """Derive the ticket's clocks from its history, act once on every threshold now crossed,
    and store the nearest due time on the ticket.

    Precondition: inside a transaction, holding the ticket's row lock (or having just created
    the ticket), within the tenant's scope. Returns the ticket's clocks. ``flush_notices``
    False leaves queued notices for the caller to batch (the sweep sends one mail per person
    per run, not one per ticket).
    """
    now = now or timezone.now()
    derived, dropped = _derive(ticket, now)
    alerts_fired = list(
        Alert.objects.filter(ticket=ticket).values_list("metric", "threshold_percent", "due_at")
    )
    fired = {(metric, percent) for metric, percent, _due in alerts_fired}
    _keep_recorded_breaches(derived, alerts_fired)
    events = _fire(ticket, derived, fired, now)
    for item in derived:
        item.clock.next_alert_at = _next_alert(item, fired)
        item.clock.save()
    if dropped:
        Clock.objects.filter(pk__in=[c.pk for c in dropped]).delete()
    running = [d.clock for d in derived if d.clock.state == ClockState.RUNNING and d.clock.due_at]
    nearest = min(running, key=lambda c: c.due_at) if running else None  # type: ignore[arg-type, return-value]
    alerts = [d.clock.next_alert_at for d in derived if d.clock.next_alert_at is not None]
    fields = {
        "due_at": nearest.due_at if nearest else None,
        "calendar": nearest.calendar if nearest else None,
        "alert_at": min(alerts) if alerts else None,
    }
    schedule = TicketSchedule(ticket=ticket, tenant_id=ticket.tenant_id, **fields)
    if not TicketSchedule.objects.filter(pk=ticket.pk).update(**fields):
        schedule.save(force_insert=True)
    ticket.schedule = schedule
    Ticket.objects.filter(pk=ticket.pk).update(
        support_line=ticket.support_line, version=ticket.version
    )
    if events:
        events_publish(events)
        if flush_notices:
            notices_flush_on_commit(tenant_id=ticket.tenant_id)
    return [d.clock for d in derived]


# --------------------------------------------------------------------------------------------
# Escalation: thresholds acted on exactly once
# --------------------------------------------------------------------------------------------


def _fire(
    ticket: Ticket, derived: list[_Derived], fired: set[tuple[str, int]], now: dt.datetime
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


def _recipients(ticket: Ticket, rules: Sequence[EscalationRule]) -> list[User]:
    people: dict[int, User] = {}
    organisation = ticket.organisation
    for rule in rules:
        candidates: list[Any] = []
        if rule.notify_assignee:
            candidates.append(ticket.assignee)
        if rule.notify_account_manager and organisation is not None:
            candidates.append(getattr(organisation, "account_manager", None))
        if rule.notify_service_owner and organisation is not None:
            candidates.append(getattr(organisation, "service_owner", None))
        candidates.extend(rule.notify_users.all())
        for user in candidates:
            if user is not None and user.is_active and user.email:
                people[user.pk] = user
    return list(people.values())


def _local(moment: dt.datetime | None, tenant: Tenant) -> str:
    if moment is None:
        return "-"
    from zoneinfo import ZoneInfo

    return date_format(timezone.localtime(moment, ZoneInfo(tenant.time_zone)), "D j M H:i")


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
    tenant = ticket.tenant
    metric_label = Metric(clock.metric).label
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
                },
            )
        )
    lines = [
        r.move_to_line for r in rules if r.move_to_line and r.move_to_line > ticket.support_line
    ]
    if lines:
        old_line = ticket.support_line
        ticket.support_line = max(lines)
        ticket.version += 1
        events.append(
            event_record(
                ticket=ticket,
                kind=EventKind.ESCALATED,
                old=SupportLine(old_line).label,
                new=SupportLine(ticket.support_line).label,
                is_public=False,
                at=now,
                data={"metric": clock.metric, "percent": percent, "line": ticket.support_line},
            )
        )
    recipients = [] if superseded else _recipients(ticket, rules)
    if breach:
        kind = NoticeKind.BREACH
    elif percent == 0:
        kind = NoticeKind.ESCALATION
    else:
        kind = NoticeKind.WARNING
    for user in recipients:
        with translation.override(user.language or tenant.default_language):
            if breach:
                what = _("%(metric)s target breached (was due %(due)s)") % {
                    "metric": metric_label,
                    "due": _local(clock.due_at, tenant),
                }
            elif percent == 0:
                what = _("escalated at once: %(metric)s due %(due)s") % {
                    "metric": metric_label,
                    "due": _local(clock.due_at, tenant),
                }
            else:
                what = _("%(percent)d%% of the %(metric)s time used, due %(due)s") % {
                    "percent": percent,
                    "metric": metric_label.lower(),
                    "due": _local(clock.due_at, tenant),
                }
            link = f"{tenant.base_url()}/agent/tickets/{ticket.pk}/"
            text = f"{ticket.reference} {ticket.subject}: {what}\n{link}"
        notice_queue(
            tenant=tenant,
            key=f"alert:{ticket.pk}:{clock.metric}:{percent}:{user.pk}",
            kind=kind,
            recipient=user,
            ticket=ticket,
            text=text,
        )
    return events


def notice_queue(
    *, tenant: Tenant, key: str, kind: str, recipient: User, ticket: Ticket | None, text: str
) -> Notice | None:
    """Queue one notice for one person unless ``key`` was queued before (then None).

    Caller is inside the transaction of the change the notice is about; after commit,
    :func:`notices_flush_on_commit` batches and sends.
    """
    try:
        with transaction.atomic():
            return Notice.objects.create(
                tenant=tenant,
                key=key[:200],
                kind=kind,
                recipient=recipient,
                ticket=ticket,
                text=text,
            )
    except IntegrityError:
        return None


def notices_flush_on_commit(*, tenant_id: int) -> None:
    """After commit, batch the tenant's queued notices into mails and send them."""

    def enqueue() -> None:
        from .tasks import sla_notices_flush

        enqueue_safely(sla_notices_flush, tenant_id)

    transaction.on_commit(enqueue)


def notices_batch(*, tenant: Tenant) -> list[NoticeMail]:
    """Group every unbatched notice into one mail per recipient (a busy morning is one mail).

    Runs in its own transaction; rows already taken by a concurrent batcher are skipped.
    Returns the mails written; they are sent after commit.
    """
    with transaction.atomic():
        pending = list(
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(mail__isnull=True)
            .select_related("recipient")
            .order_by("recipient_id", "created_at", "id")
        )
        by_recipient: dict[int, list[Notice]] = defaultdict(list)
        for notice in pending:
            by_recipient[notice.recipient_id].append(notice)
        mails: list[NoticeMail] = []
        for notices in by_recipient.values():
            recipient = notices[0].recipient
            with translation.override(recipient.language or tenant.default_language):
                subject = (
                    _("[%(tenant)s] %(count)d SLA notices")
                    % {"tenant": tenant.name, "count": len(notices)}
                    if len(notices) > 1
                    else f"[{tenant.name}] {notices[0].text.splitlines()[0]}"
                )
                body = render_to_string(
                    "sla/notice_mail.txt",
                    {"tenant": tenant, "recipient": recipient, "notices": notices},
                )
            mail = NoticeMail.objects.create(
                tenant=tenant,
                recipient=recipient,
                to_email=recipient.email,
                subject=subject[:300],
                body=body,
            )
            Notice.objects.filter(pk__in=[n.pk for n in notices]).update(mail=mail)
            mails.append(mail)

        def enqueue() -> None:
            from .tasks import sla_notice_mail_send

            for mail in mails:
                enqueue_safely(sla_notice_mail_send, tenant.pk, mail.pk)

        transaction.on_commit(enqueue)
    return mails


def notice_mail_send(*, mail_id: int, tenant: Tenant) -> bool:
    """Send one batched mail unless it was sent; True when this call sent it.

    The row is locked while sending, so two workers never send it at the same time; a worker
    killed mid-send leaves it unsent and the redelivered task sends it again under the same
    Message-ID (``<notice-<id>@<tenant>.supportdesk>``), which mail systems de-duplicate.
    """
    with transaction.atomic():
        mail = NoticeMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.sent_at is not None:
            return False
        mail.attempts += 1
        NoticeMail.objects.filter(pk=mail.pk).update(attempts=mail.attempts)
        message = EmailMessage(
            subject=mail.subject,
            body=mail.body,
            to=[mail.to_email],
            headers={
                "Message-ID": mail.message_id(tenant.slug),
                "Auto-Submitted": "auto-generated",
                "X-Auto-Response-Suppress": "All",
            },
        )
        message.send(fail_silently=False)
        NoticeMail.objects.filter(pk=mail.pk).update(sent_at=timezone.now())
    return True


# --------------------------------------------------------------------------------------------
# The sweep: beat enqueues it every minute; it is idempotent
# --------------------------------------------------------------------------------------------


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


def sla_sweep(*, now: dt.datetime | None = None) -> int:
    """Act on every threshold that has come due; returns how many tickets were refreshed.

    Each ticket is refreshed in its own transaction under its row lock, so a concurrent
    sweep or agent action waits instead of acting twice; Alert rows make it exactly once.
    """
    now = now or timezone.now()
    by_tenant: dict[int, list[int]] = defaultdict(list)
    for tenant_id, ticket_id in due_clocks(now=now):
        by_tenant[tenant_id].append(ticket_id)
    done = 0
    _recover_outbox(now)
    for tenant in Tenant.objects.filter(pk__in=by_tenant):
        with scope(tenant=tenant):
            for ticket_id in by_tenant[tenant.pk]:
                with transaction.atomic():
                    ticket = (
                        Ticket.objects.select_for_update(of=("self",))
                        .select_related("organisation", "assignee", "tenant")
                        .filter(pk=ticket_id)
                        .first()
                    )
                    if ticket is None:
                        continue
                    sla_refresh(ticket=ticket, now=now, flush_notices=False)
                    done += 1
            # One batch per tenant and run: each person gets one mail for all their tickets.
            notices_flush_on_commit(tenant_id=tenant.pk)
    return done


def _recover_outbox(now: dt.datetime) -> None:
    """Re-enqueue what a lost task left behind: notices never batched, mails never sent.

    Only rows older than a few minutes, so work whose task is merely queued is not doubled
    (and doubling would be harmless: batching and sending are both idempotent). The same for
    a :class:`RecomputeJob` still queued: running its spec twice writes the same clocks.
    """
    stale = now - dt.timedelta(minutes=5)
    with scopes_disabled():
        tenants = set(
            Notice.objects.filter(mail__isnull=True, created_at__lt=stale).values_list(
                "tenant_id", flat=True
            )[:1000]
        )
        mails = list(
            NoticeMail.objects.filter(
                sent_at__isnull=True, created_at__lt=stale, attempts__lt=20
            ).values_list("tenant_id", "pk")[:1000]
        )
        # A recompute whose task never reached a worker (the broker was away at the edit):
        # the job row was written with the edit, so it is run now instead of staying queued.
        jobs = list(
            RecomputeJob.objects.filter(
                state=RecomputeState.QUEUED, created_at__lt=stale
            ).values_list("tenant_id", "pk")[:100]
        )
    from .tasks import sla_notice_mail_send, sla_notices_flush, sla_recompute_run

    for tenant_id in tenants:
        enqueue_safely(sla_notices_flush, tenant_id)
    for tenant_id, mail_id in mails:
        enqueue_safely(sla_notice_mail_send, tenant_id, mail_id)
    for tenant_id, job_id in jobs:
        enqueue_safely(sla_recompute_run, tenant_id, job_id)


# --------------------------------------------------------------------------------------------
# Bulk recomputation after a calendar or target edit
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rebase:
    """A change of the rules at ``at`` (forward-only recompute): each live clock carries the
    business time it used until then, counted on the calendar it was on; ``old_configs``
    gives a calendar's hours before an edit (by calendar id). ``why`` is what the
    explanation names ("calendar Office edited")."""

    at: dt.datetime
    why: dict[str, Any]
    old_configs: dict[int, dict[str, Any]] = field(default_factory=dict)


# Positions in the rows the bulk recompute reads.
_ID, _TICKET, _METRIC, _TARGET, _POLICY, _PRIORITY, _STARTED, _TENANT = range(8)
_CALENDAR, _CARRIED, _CARRIED_AT, _STATE, _SEGMENTS = range(8, 13)


def clocks_recompute_bulk(
    *,
    clocks: QuerySet[Clock],
    now: dt.datetime | None = None,
    batch: int = 200_000,
    rebase: Rebase | None = None,
) -> int:
    """Recompute due times of many live clocks from their cached segments, in bulk.

    Budget, calendar and thresholds come from each clock's current target; segments (real
    time, independent of calendar and target) are reused, so no event is read. The common
    clock, running since receipt (or since its last rule change) without a pause, needs not
    even its segments: one numpy call per calendar covers them all. With ``rebase`` the
    rules changed at ``rebase.at``: the time each clock used until then is carried first
    (:func:`sla.clocks.used_until_many`, the rule :func:`sla_refresh` follows too). Clocks
    whose target is gone are left to :func:`sla_refresh`. Returns how many clocks were
    written. Caller is inside a transaction and the tenant's scope.
    """
    now = now or timezone.now()
    live = clocks.filter(
        state__in=[ClockState.RUNNING, ClockState.PAUSED], target__isnull=False
    ).annotate(seg_count=_json_length("segments"))
    live = live.annotate(started=_epoch("started_at"), carried=_epoch("carried_at"))
    columns = ("id", "ticket_id", "metric", "target_id", "ticket__sla_policy_id",
               "ticket__priority_id", "started", "tenant_id", "calendar_id", "carried_seconds",
               "carried")  # fmt: skip
    simple = _raw_rows(
        live.filter(state=ClockState.RUNNING, seg_count=1).order_by().values_list(*columns)
    )
    general = [
        (*row[:-1], json.loads(row[-1]) if isinstance(row[-1], str) else row[-1])
        for row in _raw_rows(
            live.exclude(state=ClockState.RUNNING, seg_count=1)
            .order_by()
            .values_list(*columns, "state", "segments")
        )
    ]
    if not simple and not general:
        return 0
    rebased: set[int] = set()
    if rebase is not None:
        simple, general, rebased = _rebase_rows(simple, general, rebase)
    targets = {t.pk: t for t in SLATarget.objects.select_related("policy__calendar", "calendar")}
    rules = list(EscalationRule.objects.filter(is_active=True))
    ticket_ids = {r[_TICKET] for r in simple} | {r[_TICKET] for r in general}
    fired: dict[tuple[int, str], set[int]] = defaultdict(set)
    recorded: dict[tuple[int, str], float] = {}  # breaches recorded: never undone
    alerts = Alert.objects.filter(ticket__status__in=ACTIVE_STATUSES)
    if ticket_ids:
        # The task's batches cover a range of ticket ids: read only that range's alerts
        # (read whole, every batch parsed all the tenant's alert times again).
        alerts = alerts.filter(ticket_id__gte=min(ticket_ids), ticket_id__lte=max(ticket_ids))
    for ticket_id, metric, percent, alert_due in _raw_rows(
        alerts.annotate(due=_epoch("due_at"))
        .order_by()
        .values_list("ticket_id", "metric", "threshold_percent", "due")
    ):
        if ticket_id in ticket_ids:
            fired[(ticket_id, metric)].add(percent)
            if percent == BREACH_PERCENT and alert_due is not None:
                recorded[(ticket_id, metric)] = float(alert_due)
    rule_cache: dict[tuple[int | None, int | None, str], list[int]] = {}

    def next_threshold(row: Sequence[Any]) -> int | None:
        _id, ticket_id, metric, _target, policy_id, priority_id = row[:6]
        key = (policy_id, priority_id, metric)
        if key not in rule_cache:
            rule_cache[key] = _thresholds(
                r
                for r in rules
                if r.applies_to(policy_id=policy_id, priority_id=priority_id, metric=metric)
            )
        done = fired.get((ticket_id, metric), ())
        return next((p for p in rule_cache[key] if p not in done), None)

    by_calendar: dict[int, tuple[Calendar, list[Any], list[Any]]] = {}
    calendar_of = {pk: target.effective_calendar() for pk, target in targets.items()}
    for kind, rows in ((0, simple), (1, general)):
        for row in rows:
            calendar = calendar_of[row[_TARGET]]
            entry = by_calendar.setdefault(calendar.pk, (calendar, [], []))
            (entry[1] if kind == 0 else entry[2]).append(row)
    parts: list[_ClockFigures] = []
    for calendar_id, (calendar, simple_rows, general_rows) in by_calendar.items():
        engine = _engine(calendar)
        parts.append(_bulk_simple(simple_rows, calendar_id, engine, targets, next_threshold, now))
        parts.append(_bulk_general(general_rows, calendar_id, engine, targets, next_threshold, now))
    # In id order, each batch's UPDATE walks the table (and its primary key) forwards once.
    figures = _ClockFigures.concatenate(parts).sorted_by_id()
    if recorded:
        kept = [
            (r[_ID], recorded[(r[_TICKET], r[_METRIC])])
            for r in (*simple, *general)
            if (r[_TICKET], r[_METRIC]) in recorded
        ]
        at = np.searchsorted(figures.ids, np.array([k[0] for k in kept], dtype=np.int64))
        undone = np.isnan(figures.breached[at])
        figures.breached[at[undone]] = np.array([k[1] for k in kept])[undone]
    changed_tickets: set[int] = set()
    why = rebase.why if rebase is not None else None
    for start in range(0, len(figures.ids), batch):
        changed_tickets |= _write_clock_figures(
            figures.take(slice(start, start + batch)), now, rebased=rebased, why=why
        )
    tenant_id = (simple or general)[0][_TENANT]
    # A ticket's nearest due time follows from its clocks: unchanged clocks, unchanged ticket.
    _refresh_next_due(changed_tickets, tenant_id)
    return len(figures.ids)


def _rebase_rows(
    simple: list[tuple[Any, ...]], general: list[tuple[Any, ...]], rebase: Rebase
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], set[int]]:
    """The rows with the time each clock used until ``rebase.at`` carried (counted on the
    calendar it was on, before the edit); clocks carried at or after it already are kept.
    Returns the rows and the ids of the clocks carried now."""
    at = engine_rules.to_epoch(rebase.at)
    rows = [*simple, *general]
    by_calendar: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row[_CARRIED_AT] is None or row[_CARRIED_AT] < at:
            by_calendar[row[_CALENDAR]].append(i)
    calendars = {c.pk: c for c in Calendar.objects.filter(pk__in=list(by_calendar))}
    carried: dict[int, float] = {}
    for calendar_id, positions in by_calendar.items():
        config = rebase.old_configs.get(calendar_id)
        engine = (
            BusinessCalendar.from_dict(config)
            if config is not None
            else _engine(calendars[calendar_id])
        )
        picked = [rows[i] for i in positions]
        used = engine_rules.used_until_many(
            segments=[
                r[_SEGMENTS] if len(r) > _SEGMENTS else [[r[_STARTED], None]] for r in picked
            ],
            carried_seconds=np.array([r[_CARRIED] or 0.0 for r in picked], dtype=np.float64),
            carried_at=np.array(
                [np.nan if r[_CARRIED_AT] is None else r[_CARRIED_AT] for r in picked]
            ),
            engine=engine,
            at=at,
        )
        for i, value in zip(positions, used.tolist(), strict=True):
            carried[i] = value

    def carry(i: int, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if i not in carried:
            return row
        return (*row[:_CARRIED], carried[i], float(at), *row[_CARRIED_AT + 1 :])

    out = [carry(i, row) for i, row in enumerate(rows)]
    ids = {rows[i][_ID] for i in carried}
    return out[: len(simple)], out[len(simple) :], ids


def _raw_rows(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the driver returns them: 200,000 rows through
    Django's per-value converters cost a calendar edit half a second. Only for columns whose
    raw value is already what the caller wants (numbers, strings; JSON arrives as text)."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. ``pk__in=[]``: Django knows without asking the database
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _epoch(field: str) -> Func:
    """Epoch seconds of a datetime column, computed by the database (no parsing here)."""
    if connection.vendor == "postgresql":
        template = "EXTRACT(EPOCH FROM %(expressions)s)"
    else:  # SQLite; clock start times are whole seconds
        template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
    return Func(F(field), template=template, output_field=FloatField())


def _json_length(field: str) -> Func:
    """Length of a JSON array column, in the database's own dialect."""
    function = "jsonb_array_length" if connection.vendor == "postgresql" else "json_array_length"
    return Func(F(field), function=function, output_field=IntegerField())


def _budgets(
    starts: np.ndarray, target_ids: Sequence[int], targets: dict[int, SLATarget], engine: Any
) -> np.ndarray:
    """Business seconds each target allows from each start; working days in bulk.

    "Within n working days" ends at the close of the n-th open day after the start's local
    date, so the deadline depends on that date only: one ``add_days`` per date, then one
    ``between_many`` for all.
    """
    budgets = np.empty(len(starts))
    closes: dict[tuple[dt.date, int], float] = {}
    fixed: dict[int, float] = {}  # target id -> business seconds, whatever the start
    days_idx: list[int] = []
    days_close: list[float] = []
    for i, target_id in enumerate(target_ids):
        target = targets[target_id]
        if target.unit != TargetUnit.WORKING_DAYS:
            if target_id not in fixed:
                fixed[target_id] = target.budget(
                    start=engine_rules.from_epoch(0), engine=engine
                ).total_seconds()
            budgets[i] = fixed[target_id]
            continue
        start = engine_rules.from_epoch(starts[i])
        key = (start.astimezone(engine.timezone).date(), target.amount)
        if key not in closes:
            closes[key] = engine.add_days(start, target.amount).timestamp()
        days_idx.append(i)
        days_close.append(closes[key])
    if days_idx:
        idx = np.array(days_idx)
        budgets[idx] = engine.between_many(starts[idx], np.array(days_close))
    return budgets


def _carry_columns(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Carried seconds (0 where none) and carried-at epochs (NaN where none) of the rows."""
    carried_at = np.array(
        [np.nan if r[_CARRIED_AT] is None else r[_CARRIED_AT] for r in rows], dtype=np.float64
    )
    carried = np.array([r[_CARRIED] or 0.0 for r in rows], dtype=np.float64)
    return np.where(np.isnan(carried_at), 0.0, carried), carried_at


def _bulk_simple(
    rows: list[Any],
    calendar_id: int,
    engine: Any,
    targets: dict[int, SLATarget],
    next_threshold: Any,
    now: dt.datetime,
) -> _ClockFigures:
    """Clocks running without a pause since receipt (or their last rule change):
    due = add(start, budget - carried), vectorised."""
    if not rows:
        return _ClockFigures.empty(calendar_id)
    starts = np.array([r[_STARTED] for r in rows], dtype=np.float64)
    budgets = _budgets(starts, [r[_TARGET] for r in rows], targets, engine)
    carried, carried_at = _carry_columns(rows)
    counting_from = np.fmax(starts, carried_at)  # NaN carried_at: from the start

    def reached(amount: np.ndarray) -> np.ndarray:
        """When ``amount`` business seconds are used; at the change if the carry has it."""
        left = amount - carried
        result = np.where(np.isnan(carried_at), counting_from, carried_at)
        ahead = left > 0
        if ahead.any():
            result[ahead] = engine.add_many(counting_from[ahead], left[ahead])
        return result

    due = reached(budgets)
    percents = np.array([np.nan if (p := next_threshold(r)) is None else p for r in rows])
    has_alert = ~np.isnan(percents)
    alert = np.full(len(rows), np.nan)
    if has_alert.any():
        alert[has_alert] = reached(budgets * np.nan_to_num(percents) / 100)[has_alert]
    return _ClockFigures(
        ids=np.array([r[_ID] for r in rows], dtype=np.int64),
        ticket_ids=np.array([r[_TICKET] for r in rows], dtype=np.int64),
        calendar_id=calendar_id,
        budget=budgets,
        elapsed=carried,
        due=due,
        breached=np.where(due < now.timestamp(), due, np.nan),
        next_alert=alert,
        carried=carried,
        carried_at=carried_at,
    )


def _bulk_general(
    rows: list[Any],
    calendar_id: int,
    engine: Any,
    targets: dict[int, SLATarget],
    next_threshold: Any,
    now: dt.datetime,
) -> _ClockFigures:
    """Paused clocks and clocks with pauses behind them: the segment-aware bulk path."""
    if not rows:
        return _ClockFigures.empty(calendar_id)
    starts = np.array([r[_STARTED] for r in rows], dtype=np.float64)
    budgets = _budgets(starts, [r[_TARGET] for r in rows], targets, engine)
    carried, carried_at = _carry_columns(rows)
    bulk_rows = [
        BulkRow(
            segments=row[_SEGMENTS],
            budget_seconds=float(budgets[i]),
            next_threshold_percent=next_threshold(row),
            carried_seconds=float(carried[i]),
            carried_at=None if row[_CARRIED_AT] is None else int(row[_CARRIED_AT]),
        )
        for i, row in enumerate(rows)
    ]
    figures = engine_rules.clock_figures_many(rows=bulk_rows, engine=engine, now=now)
    paused = np.array([row[_STATE] == ClockState.PAUSED for row in rows], dtype=bool)
    return _ClockFigures(
        ids=np.array([r[_ID] for r in rows], dtype=np.int64),
        ticket_ids=np.array([r[_TICKET] for r in rows], dtype=np.int64),
        calendar_id=calendar_id,
        budget=budgets,
        elapsed=np.asarray(figures.elapsed_seconds, dtype=np.float64),
        due=np.where(paused, np.nan, figures.due_epoch),
        breached=np.asarray(figures.breached_epoch, dtype=np.float64),
        next_alert=np.where(paused, np.nan, figures.next_alert_epoch),
        carried=carried,
        carried_at=carried_at,
    )


@dataclass(frozen=True)
class _ClockFigures:
    """Recomputed figures of many clocks, column-wise; times are epoch seconds, NaN for none.

    Kept as numpy columns up to the database: converting every time to a ``datetime`` in
    Python cost more than the arithmetic that produced it.
    """

    ids: np.ndarray
    ticket_ids: np.ndarray
    calendar_id: np.ndarray | int
    budget: np.ndarray
    elapsed: np.ndarray
    due: np.ndarray
    breached: np.ndarray
    next_alert: np.ndarray
    carried: np.ndarray
    carried_at: np.ndarray

    _COLUMNS = ("budget", "elapsed", "due", "breached", "next_alert", "carried", "carried_at")

    @classmethod
    def empty(cls, calendar_id: int) -> _ClockFigures:
        nothing = np.empty(0)
        ids = np.empty(0, dtype=np.int64)
        return cls(ids, ids, calendar_id, *([nothing] * len(cls._COLUMNS)))

    @classmethod
    def concatenate(cls, parts: Sequence[_ClockFigures]) -> _ClockFigures:
        if not parts:
            return cls.empty(0)
        return cls(
            ids=np.concatenate([p.ids for p in parts]),
            ticket_ids=np.concatenate([p.ticket_ids for p in parts]),
            calendar_id=np.concatenate(
                [np.full(len(p.ids), p.calendar_id, dtype=np.int64) for p in parts]
            ),
            **{c: np.concatenate([getattr(p, c) for p in parts]) for c in cls._COLUMNS},
        )

    def take(self, index: Any) -> _ClockFigures:
        """The clocks at ``index`` (a slice or an array of positions)."""
        return _ClockFigures(
            ids=self.ids[index],
            ticket_ids=self.ticket_ids[index],
            calendar_id=self.calendar_ids()[index],
            **{c: getattr(self, c)[index] for c in self._COLUMNS},
        )

    def sorted_by_id(self) -> _ClockFigures:
        return self.take(np.argsort(self.ids, kind="stable"))

    def calendar_ids(self) -> np.ndarray:
        if isinstance(self.calendar_id, np.ndarray):
            return self.calendar_id
        return np.full(len(self.ids), self.calendar_id, dtype=np.int64)


def _nullable(epochs: np.ndarray) -> list[float | None]:
    """Epoch seconds as Python floats, None for NaN (the database's NULL)."""
    return [None if value != value else value for value in epochs.tolist()]


def _write_clock_figures(
    figures: _ClockFigures,
    now: dt.datetime,
    *,
    rebased: set[int] | None = None,
    why: dict[str, Any] | None = None,
) -> set[int]:
    """Store recomputed figures; returns the tickets whose clocks changed. The clocks in
    ``rebased`` carried their used time over a change just now: they also get ``why``."""
    if not len(figures.ids):
        return set()
    rebased = rebased or set()
    flags = [pk in rebased for pk in figures.ids.tolist()]
    columns = (
        figures.ids.tolist(),
        figures.calendar_ids().tolist(),
        figures.budget.tolist(),
        figures.elapsed.tolist(),
        _nullable(figures.due),
        _nullable(figures.breached),
        _nullable(figures.next_alert),
        figures.carried.tolist(),
        _nullable(figures.carried_at),
        flags,
    )
    why_json = json.dumps(why or {})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Times travel as epoch numbers and become timestamps in the UPDATE: adapting
            # 200,000 datetimes in Python was a third of a calendar edit's time.
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sla_clock_figures ("
                " id bigint, calendar_id bigint, budget double precision,"
                " elapsed double precision, due double precision, breached double precision,"
                " next_alert double precision, carried double precision,"
                " carried_at double precision, rebased boolean) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE sla_clock_figures")
            raw = cursor.cursor
            with raw.copy(
                "COPY sla_clock_figures (id, calendar_id, budget, elapsed, due, breached,"
                " next_alert, carried, carried_at, rebased) FROM STDIN"
            ) as copy:
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
            cursor.execute(
                "UPDATE sla_clock c SET calendar_id = f.calendar_id, budget_seconds = f.budget,"
                " elapsed_seconds = f.elapsed, due_at = f.due_at, breached_at = f.breached_at,"
                " next_alert_at = f.next_alert_at, computed_at = %s,"
                " carried_seconds = f.carried, carried_at = f.carried_at,"
                " carried_why = CASE WHEN f.rebased THEN %s::jsonb ELSE c.carried_why END"
                " FROM (SELECT id, calendar_id, budget, elapsed, to_timestamp(due) AS due_at,"
                "  to_timestamp(breached) AS breached_at,"
                "  to_timestamp(next_alert) AS next_alert_at, carried,"
                "  to_timestamp(carried_at) AS carried_at, rebased"
                "  FROM sla_clock_figures) f"
                " WHERE c.id = f.id"
                # Rewriting a row (and its index entries) that did not change is the cost
                # that matters; an edit usually moves only some due times.
                " AND (c.calendar_id, c.budget_seconds, c.elapsed_seconds, c.due_at,"
                " c.breached_at, c.next_alert_at, c.carried_seconds, c.carried_at)"
                " IS DISTINCT FROM (f.calendar_id, f.budget, f.elapsed, f.due_at,"
                " f.breached_at, f.next_alert_at, f.carried, f.carried_at)"
                " RETURNING c.ticket_id",
                [now, why_json],
            )
            return {ticket_id for (ticket_id,) in cursor.fetchall()}

    def moment(value: float | None) -> dt.datetime | None:
        return None if value is None else engine_rules.from_epoch(value)

    names = ["calendar_id", "budget_seconds", "elapsed_seconds", "due_at", "breached_at",
             "next_alert_at", "computed_at", "carried_seconds", "carried_at"]  # fmt: skip
    plain: list[Clock] = []
    carried: list[Clock] = []
    for pk, calendar_id, budget, elapsed, due, breached, alert, kept, kept_at, flag in zip(
        *columns, strict=True
    ):
        obj = Clock(
            id=pk,
            calendar_id=calendar_id,
            budget_seconds=budget,
            elapsed_seconds=elapsed,
            due_at=moment(due),
            breached_at=moment(breached),
            next_alert_at=moment(alert),
            computed_at=now,
            carried_seconds=kept,
            carried_at=moment(kept_at),
            carried_why=why or {},
        )
        (carried if flag else plain).append(obj)
    Clock.objects.bulk_update(plain, names, batch_size=500)
    Clock.objects.bulk_update(carried, [*names, "carried_why"], batch_size=500)
    # bulk_update does not say which rows differed: every ticket counts as changed.
    return set(figures.ticket_ids.tolist())


def _refresh_next_due(ticket_ids: Iterable[int], tenant_id: int) -> None:
    """Store each ticket's nearest running due time and earliest pending threshold in its
    :class:`TicketSchedule` row, set-based; the ticket rows themselves are not touched."""
    ids = sorted(ticket_ids)
    if not ids:
        return
    if connection.vendor == "postgresql":
        # One join and one hash aggregate rather than a lookup per ticket: the nearest running
        # due time (with its calendar) and the earliest pending threshold of each ticket.
        # Sorted by id, the schedule rows are rewritten in table order.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(
                "UPDATE tickets_ticketschedule t SET due_at = n.due_at,"
                " calendar_id = n.calendar_id, alert_at = n.alert_at"
                " FROM (SELECT u.id,"
                "  MIN(c.due_at) FILTER (WHERE c.state = 'running') AS due_at,"
                "  (ARRAY_AGG(c.calendar_id ORDER BY c.due_at)"
                "   FILTER (WHERE c.state = 'running' AND c.due_at IS NOT NULL))[1]"
                "   AS calendar_id,"
                "  MIN(c.next_alert_at) AS alert_at"
                "  FROM unnest(%s::bigint[]) AS u(id)"
                "  LEFT JOIN sla_clock c ON c.tenant_id = %s AND c.ticket_id = u.id"
                "  GROUP BY u.id) n"
                " WHERE t.tenant_id = %s AND t.ticket_id = n.id"
                " AND (t.due_at IS DISTINCT FROM n.due_at"
                "  OR t.calendar_id IS DISTINCT FROM n.calendar_id"
                "  OR t.alert_at IS DISTINCT FROM n.alert_at)",
                [ids, tenant_id, tenant_id],
            )
        return
    nearest = Clock.objects.filter(
        ticket_id=OuterRef("ticket_id"), state=ClockState.RUNNING, due_at__isnull=False
    ).order_by("due_at")
    alert = (
        Clock.objects.filter(ticket_id=OuterRef("ticket_id"), next_alert_at__isnull=False)
        .order_by("next_alert_at")
        .values("next_alert_at")[:1]
    )
    for start in range(0, len(ids), 500):
        TicketSchedule.objects.filter(pk__in=ids[start : start + 500]).update(
            due_at=Subquery(nearest.values("due_at")[:1]),
            calendar=Subquery(nearest.values("calendar_id")[:1]),
            alert_at=Subquery(alert),
        )


def clocks_policy_moved(*, tickets: Sequence[Ticket], at: dt.datetime) -> int:
    """Recompute the clocks of tickets that were just put under another SLA policy (a plan
    or contract change), forward only, in bulk; returns how many clocks were written.

    A live clock whose metric the new policy also promises at the ticket's priority follows
    the new target: the business time it used until ``at`` is carried, counted on the
    calendar it was on, and the rest is counted under the new target, the rule
    :func:`sla_refresh` follows for one ticket (so both give the same figures). A stopped
    clock keeps its outcome. A ticket that gains or loses a metric is derived again on its
    own. Precondition: each ticket's ``sla_policy`` is stored, the caller holds the
    tickets' row locks inside a transaction, within the tenant's scope.
    """
    if not tickets:
        return 0
    policies = {
        p.pk: p
        for p in SLAPolicy.objects.filter(
            pk__in={t.sla_policy_id for t in tickets if t.sla_policy_id is not None}
        ).prefetch_related("targets")
    }
    live: dict[int, dict[str, int]] = defaultdict(dict)
    present: dict[int, set[str]] = defaultdict(set)
    for clock_id, ticket_id, metric, state in Clock.objects.filter(
        ticket_id__in=[t.pk for t in tickets]
    ).values_list("id", "ticket_id", "metric", "state"):
        present[ticket_id].add(metric)
        if state != ClockState.STOPPED:
            live[ticket_id][metric] = clock_id
    retarget: list[Clock] = []
    by_policy: dict[int, list[int]] = defaultdict(list)
    one_by_one: list[Ticket] = []
    for ticket in tickets:
        policy = policies.get(ticket.sla_policy_id) if ticket.sla_policy_id else None
        moves: list[Clock] = []
        for metric in Metric.values:
            target = (
                policy.target_for(metric=metric, priority_id=ticket.priority_id)
                if policy is not None
                else None
            )
            clock_id = live[ticket.pk].get(metric)
            if clock_id is not None and target is not None:
                moves.append(Clock(id=clock_id, target_id=target.pk))
            elif (clock_id is not None) or (
                target is not None and metric not in present[ticket.pk]
            ):
                moves = []  # a metric gained or lost: the whole ticket is derived again
                one_by_one.append(ticket)
                break
        else:
            if moves and policy is not None:
                retarget.extend(moves)
                by_policy[policy.pk].append(ticket.pk)
    # The clock keeps its calendar until the recompute: the carry counts on the one it was on.
    Clock.objects.bulk_update(retarget, ["target"], batch_size=500)
    written = 0
    for policy_id, ticket_ids in by_policy.items():
        written += clocks_recompute_bulk(
            clocks=Clock.objects.filter(ticket_id__in=ticket_ids),
            now=at,
            rebase=Rebase(at=at, why={"kind": "policy", "name": policies[policy_id].name}),
        )
    for ticket in one_by_one:
        written += len(sla_refresh(ticket=ticket, now=at))
    return written


def _clocks_of_calendar(calendar: Calendar) -> QuerySet[Clock]:
    """Live clocks whose calendar follows ``calendar``: directly, or through their target."""
    return Clock.objects.filter(
        Q(target__calendar=calendar)
        | Q(target__calendar__isnull=True, target__policy__calendar=calendar)
    )


# --------------------------------------------------------------------------------------------
# Configuration edits (admins): each writes an audit event and recomputes what it moves
# --------------------------------------------------------------------------------------------


def _config_event(
    *,
    tenant: Tenant,
    actor: User | None,
    obj: Any,
    action: str,
    old: Any = None,
    new: Any = None,
    recomputed: int = 0,
) -> AuditEvent:
    """One line in the tenant's audit trail (the same trail as every other setting)."""
    changes: dict[str, Any] = {}
    if old is not None or new is not None:
        changes["configuration"] = [old, new]
    if recomputed:
        changes["clocks_recomputed"] = [None, recomputed]
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes,
    )


def _validate_calendar_config(config: Any) -> dict[str, Any]:
    try:
        return BusinessCalendar.from_dict(config).to_dict()
    except ValueError as exc:
        raise ValidationError({"config": calendar_error(exc)}) from exc


def calendar_create(
    *, tenant: Tenant, name: str, config: dict[str, Any], is_default: bool, actor: User | None
) -> Calendar:
    """A new business calendar; ``config`` is validated by the engine (errors name the field)."""
    _validate_calendar_config(config)
    with transaction.atomic():
        if is_default:
            Calendar.objects.filter(is_default=True).update(is_default=False)
        calendar = Calendar(tenant=tenant, name=name.strip(), config=config, is_default=is_default)
        calendar.full_clean()
        calendar.save()
        _config_event(
            tenant=tenant, actor=actor, obj=calendar, action=AuditAction.CREATED, new=config
        )
    return calendar


def calendar_update(
    *,
    calendar: Calendar,
    name: str,
    config: dict[str, Any],
    is_default: bool,
    actor: User | None,
    now: dt.datetime | None = None,
) -> int:
    """Change a calendar and recompute every live clock counted on it; returns that count.

    Saving it unchanged is a success that writes nothing (no audit line, no recompute).
    """
    _validate_calendar_config(config)
    if (calendar.name, calendar.config, calendar.is_default) == (name.strip(), config, is_default):
        return 0
    with transaction.atomic():
        old = calendar.config
        if is_default and not calendar.is_default:
            Calendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(
                is_default=False
            )
        calendar.name = name.strip()
        calendar.config = config
        calendar.is_default = is_default
        calendar.full_clean()
        calendar.save()
        count = 0
        if old != config:
            count = clocks_recompute(
                tenant=calendar.tenant,
                obj=calendar,
                spec={"calendar": calendar.pk, "old_config": old},
                why={"kind": "calendar", "name": calendar.name},
                now=now,
            )
        _config_event(
            tenant=calendar.tenant,
            actor=actor,
            obj=calendar,
            action=AuditAction.CHANGED,
            old=old,
            new=config,
            recomputed=count,
        )
    return count


def policy_save(
    *,
    tenant: Tenant,
    policy: SLAPolicy | None,
    name: str,
    description: str,
    calendar: Calendar,
    actor: User | None,
) -> SLAPolicy:
    """Create or change a policy's name, description and calendar (recomputing its clocks).

    Saving it unchanged writes nothing.
    """
    with transaction.atomic():
        creating = policy is None
        if policy is None:
            policy = SLAPolicy(tenant=tenant)
            old = None
        else:
            old = _policy_json(policy)
            if old == {"name": name.strip(), "description": description, "calendar": calendar.pk}:
                return policy
        calendar_changed = not creating and policy.calendar_id != calendar.pk
        policy.name = name.strip()
        policy.description = description
        policy.calendar = calendar
        policy.full_clean()
        policy.save()
        count = 0
        if calendar_changed:
            count = clocks_recompute(
                tenant=tenant,
                obj=policy,
                spec={"policy_calendar": policy.pk},
                why={"kind": "target", "name": policy.name},
            )
        _config_event(
            tenant=tenant,
            actor=actor,
            obj=policy,
            action=AuditAction.CREATED if creating else AuditAction.CHANGED,
            old=old,
            new=_policy_json(policy),
            recomputed=count,
        )
    return policy


def _policy_json(policy: SLAPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "calendar": policy.calendar_id,
    }


def policy_update(
    *,
    tenant: Tenant,
    policy: SLAPolicy,
    name: str,
    description: str,
    calendar: Calendar,
    targets: Sequence[TargetSpec],
    actor: User | None,
) -> int:
    """The policy page's save: name, description, calendar and the target grid, all or
    nothing (one transaction). Returns the count of clocks recomputed."""
    with transaction.atomic():
        policy_save(
            tenant=tenant,
            policy=policy,
            name=name,
            description=description,
            calendar=calendar,
            actor=actor,
        )
        return policy_targets_set(policy=policy, targets=targets, actor=actor)


@dataclass(frozen=True)
class TargetSpec:
    """One cell of a policy's target grid; ``amount`` None means no promise."""

    metric: str
    priority: Priority | None
    amount: int | None
    unit: str = TargetUnit.HOURS
    calendar: Calendar | None = None


def policy_targets_set(
    *, policy: SLAPolicy, targets: Sequence[TargetSpec], actor: User | None
) -> int:
    """Replace the policy's targets with ``targets`` and recompute the clocks they govern.

    Changed amounts, units or calendars are recomputed in bulk from cached segments; tickets
    that gain or lose a promise are derived again from their history. Returns the count of
    clocks recomputed.
    """
    with transaction.atomic():
        existing = {(t.metric, t.priority_id): t for t in policy.targets.all()}
        old = [_target_json(t) for t in existing.values()]
        touched: list[int] = []
        shape_changed = False
        wanted: set[tuple[str, int | None]] = set()
        for spec in targets:
            key = (spec.metric, spec.priority.pk if spec.priority else None)
            current = existing.get(key)
            if spec.amount is None:
                continue
            wanted.add(key)
            if current is None:
                current = SLATarget(
                    tenant=policy.tenant, policy=policy, metric=spec.metric, priority=spec.priority
                )
                shape_changed = True
            elif (current.amount, current.unit, current.calendar_id) == (
                spec.amount,
                spec.unit,
                spec.calendar.pk if spec.calendar else None,
            ):
                continue
            current.amount = spec.amount
            current.unit = spec.unit
            current.calendar = spec.calendar
            current.full_clean(exclude=["policy", "priority"])
            current.save()
            touched.append(current.pk)
        gone = [t for key, t in existing.items() if key not in wanted]
        if not touched and not gone:
            return 0  # saved unchanged: nothing to record, nothing to recompute
        if gone:
            shape_changed = True
            SLATarget.objects.filter(pk__in=[t.pk for t in gone]).delete()
        what: dict[str, Any] = {}
        if touched:
            what["targets"] = touched
        if shape_changed:
            what["refresh_policy"] = policy.pk
        count = clocks_recompute(
            tenant=policy.tenant,
            obj=policy,
            spec=what,
            why={"kind": "target", "name": policy.name},
        )
        _config_event(
            tenant=policy.tenant,
            actor=actor,
            obj=policy,
            action=AuditAction.CHANGED,
            old={"targets": old},
            new={"targets": [_target_json(t) for t in policy.targets.all()]},
            recomputed=count,
        )
    return count


def _target_json(target: SLATarget) -> dict[str, Any]:
    return {
        "metric": target.metric,
        "priority": target.priority_id,
        "amount": target.amount,
        "unit": target.unit,
        "calendar": target.calendar_id,
    }


def tickets_refresh(*, tickets: QuerySet[Ticket], now: dt.datetime | None = None) -> int:
    """Derive the clocks of each ticket again from its history (row lock per ticket)."""
    count = 0
    for ticket_id in list(tickets.values_list("pk", flat=True)):
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("organisation", "assignee", "tenant")
                .get(pk=ticket_id)
            )
            count += len(sla_refresh(ticket=ticket, now=now))
    return count


def priority_save(
    *,
    tenant: Tenant,
    priority: Priority | None,
    key: str,
    name: str,
    definition: str,
    examples: str,
    rank: int,
    is_default: bool,
    actor: User | None,
) -> Priority:
    """Create or change one level of the tenant's priority scheme; unchanged, writes nothing."""
    with transaction.atomic():
        creating = priority is None
        if priority is None:
            priority = Priority(tenant=tenant)
        old = None if creating else _priority_json(priority)
        wanted = {
            "key": key.strip(),
            "name": name.strip(),
            "rank": rank,
            "is_default": is_default,
            "definition": definition,
            "examples": examples,
        }
        if old == wanted:
            return priority
        if is_default:
            Priority.objects.filter(is_default=True).exclude(pk=priority.pk).update(
                is_default=False
            )
        priority.key = key.strip()
        priority.name = name.strip()
        priority.definition = definition
        priority.examples = examples
        priority.rank = rank
        priority.is_default = is_default
        priority.full_clean()
        priority.save()
        _config_event(
            tenant=tenant,
            actor=actor,
            obj=priority,
            action=AuditAction.CREATED if creating else AuditAction.CHANGED,
            old=old,
            new=_priority_json(priority),
        )
    return priority


def _priority_json(priority: Priority) -> dict[str, Any]:
    return {
        "key": priority.key,
        "name": priority.name,
        "rank": priority.rank,
        "is_default": priority.is_default,
        "definition": priority.definition,
        "examples": priority.examples,
    }


def escalation_rule_save(
    *,
    tenant: Tenant,
    rule: EscalationRule | None,
    values: dict[str, Any],
    notify_users: Sequence[User],
    actor: User | None,
) -> EscalationRule:
    """Create or change an escalation rule; live clocks pick up new thresholds in bulk.

    Saving it unchanged writes nothing.
    """
    fields = (
        "name",
        "policy",
        "priority",
        "metric",
        "threshold_percent",
        "move_to_line",
        "notify_assignee",
        "notify_account_manager",
        "notify_service_owner",
        "is_active",
    )
    with transaction.atomic():
        creating = rule is None
        if rule is None:
            rule = EscalationRule(tenant=tenant)
        else:
            unchanged = all(getattr(rule, f) == values[f] for f in fields if f in values) and {
                u.pk for u in rule.notify_users.all()
            } == {u.pk for u in notify_users}
            if unchanged:
                return rule
        for field_name in fields:
            if field_name in values:
                setattr(rule, field_name, values[field_name])
        rule.full_clean()
        rule.save()
        rule.notify_users.set(notify_users)
        # New thresholds change when each live clock next needs the sweep.
        count = clocks_recompute(tenant=tenant, obj=rule, spec={"running": True}, why=None)
        _config_event(
            tenant=tenant,
            actor=actor,
            obj=rule,
            action=AuditAction.CREATED if creating else AuditAction.CHANGED,
            new={f: getattr(rule, f"{f}_id" if f in ("policy", "priority") else f) for f in fields},
            recomputed=count,
        )
    return rule


def sla_rebuild(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Rebuild every ticket's clocks and schedule row from its history; returns the count.

    For repairs after a restore or a migration that lost derived rows: each ticket goes
    through :func:`sla_refresh` in its own short transaction under its row lock, so the desk
    keeps working meanwhile. Thresholds already acted on are not acted on again (alerts are
    kept); one notice flush per tenant at the end. Caller is outside any transaction.
    """
    now = now or timezone.now()
    count = 0
    with scope(tenant=tenant):
        for ticket_id in Ticket.objects.order_by("pk").values_list("pk", flat=True).iterator():
            with transaction.atomic():
                ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket_id)
                sla_refresh(ticket=ticket, now=now, flush_notices=False)
            count += 1
        with transaction.atomic():
            notices_flush_on_commit(tenant_id=tenant.pk)
    return count


# --------------------------------------------------------------------------------------------
# Recompute after an edit: inline when small, else a Celery task in batches with progress
# --------------------------------------------------------------------------------------------

RECOMPUTE_INLINE_MAX = 2_000
"""Clocks an edit recomputes inside the request; above it, a task does (with progress)."""

RECOMPUTE_BATCH_TICKETS = 5_000
"""Tickets per batch of the task: each batch is one transaction, so a ticket's clocks and
its schedule row change together, and the queue never shows half an edit inside a ticket."""


def _spec_clocks(spec: dict[str, Any]) -> QuerySet[Clock]:
    """The live clocks ``spec`` (see :class:`RecomputeJob`) recomputes in bulk."""
    where = Q(pk__in=[])
    if "calendar" in spec:
        calendar_id = spec["calendar"]
        where |= Q(target__calendar_id=calendar_id) | Q(
            target__calendar__isnull=True, target__policy__calendar_id=calendar_id
        )
    if "policy_calendar" in spec:
        where |= Q(target__policy_id=spec["policy_calendar"], target__calendar__isnull=True)
    if spec.get("targets"):
        where |= Q(target_id__in=spec["targets"])
    if spec.get("running"):
        where |= Q(state=ClockState.RUNNING)
    return Clock.objects.filter(where, state__in=[ClockState.RUNNING, ClockState.PAUSED])


def _spec_rebase(
    spec: dict[str, Any], why: dict[str, Any] | None, at: dt.datetime
) -> Rebase | None:
    if why is None:  # escalation rules: thresholds move, not the promise
        return None
    old = {spec["calendar"]: spec["old_config"]} if "old_config" in spec else {}
    return Rebase(at=at, why=why, old_configs=old)


def clocks_recompute(
    *,
    tenant: Tenant,
    obj: Any,
    spec: dict[str, Any],
    why: dict[str, Any] | None,
    now: dt.datetime | None = None,
) -> int:
    """Recompute what a configuration edit moves, forward only (time used before the edit
    stays as counted then); returns how many clocks that is.

    Up to :data:`RECOMPUTE_INLINE_MAX` clocks are recomputed here, in the caller's
    transaction. More are left to :func:`sla.tasks.sla_recompute_run`, enqueued on commit,
    with a :class:`RecomputeJob` the admin page shows; until a batch reaches a ticket it
    keeps its old due time (an edited calendar's old hours are kept on it meanwhile, so a
    ticket changed before its batch counts the same way). Caller is inside a transaction
    and the tenant's scope.
    """
    if not spec:
        return 0
    now = now or timezone.now()
    clocks = _spec_clocks(spec)
    count = clocks.count()
    refresh = spec.get("refresh_policy")
    refresh_tickets = (
        Ticket.objects.active().filter(sla_policy_id=refresh) if refresh is not None else None
    )
    tickets = refresh_tickets.count() if refresh_tickets is not None else 0
    if count + tickets <= RECOMPUTE_INLINE_MAX:
        written = clocks_recompute_bulk(clocks=clocks, now=now, rebase=_spec_rebase(spec, why, now))
        if refresh_tickets is not None:
            written += tickets_refresh(tickets=refresh_tickets)
        return written
    job = RecomputeJob.objects.create(
        tenant=tenant,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        spec=spec,
        at=now,
        why=why or {},
        total=count + tickets,
    )
    if "old_config" in spec:
        Calendar.objects.filter(pk=spec["calendar"]).update(
            recompute_from=now, recompute_config=spec["old_config"]
        )

    def enqueue() -> None:
        from .tasks import sla_recompute_run

        enqueue_safely(sla_recompute_run, tenant.pk, job.pk)

    transaction.on_commit(enqueue)
    return count + tickets


def recompute_run(*, job_id: int, batch_tickets: int | None = None) -> RecomputeJob | None:
    """Run a queued :class:`RecomputeJob`: its clocks in batches of tickets, each batch one
    transaction holding those tickets' row locks (clocks and schedule rows together), the
    progress written after each. Caller is in the tenant's scope, outside a transaction
    (or in one it rolls back, as the benchmark does)."""
    batch_tickets = batch_tickets or RECOMPUTE_BATCH_TICKETS
    job = RecomputeJob.objects.filter(pk=job_id).first()
    if job is None or job.state == RecomputeState.DONE:
        return job
    RecomputeJob.objects.filter(pk=job.pk).update(state=RecomputeState.RUNNING)
    spec = job.spec
    rebase = _spec_rebase(spec, job.why or None, job.at)
    clocks = _spec_clocks(spec)
    done = 0
    try:
        ticket_ids = sorted(set(clocks.values_list("ticket_id", flat=True)))
        for start in range(0, len(ticket_ids), batch_tickets):
            chunk = ticket_ids[start : start + batch_tickets]
            # By id range, not a list of 5,000 ids: the same tickets, a cheaper query.
            first, last = chunk[0], chunk[-1]
            with transaction.atomic():
                list(
                    Ticket.objects.select_for_update(of=("self",))
                    .filter(pk__gte=first, pk__lte=last, status__in=ACTIVE_STATUSES)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                written = clocks_recompute_bulk(
                    clocks=clocks.filter(ticket_id__gte=first, ticket_id__lte=last),
                    rebase=rebase,
                )
                done += written
                RecomputeJob.objects.filter(pk=job.pk).update(done=done)
        if spec.get("refresh_policy") is not None:
            refresh_tickets = Ticket.objects.active().filter(sla_policy_id=spec["refresh_policy"])
            done += tickets_refresh(tickets=refresh_tickets)
            RecomputeJob.objects.filter(pk=job.pk).update(done=done)
    except Exception:
        RecomputeJob.objects.filter(pk=job.pk).update(
            state=RecomputeState.FAILED, finished_at=timezone.now()
        )
        raise
    if "old_config" in spec:
        # This edit's old hours are no longer needed once every clock carried them.
        Calendar.objects.filter(pk=spec["calendar"], recompute_from=job.at).update(
            recompute_from=None, recompute_config=None
        )
    RecomputeJob.objects.filter(pk=job.pk).update(
        state=RecomputeState.DONE, done=max(done, job.total), finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job
