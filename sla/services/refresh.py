"""Clocks of one ticket: derived from its history, stored, and their next alert scheduled."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from supportdesk.notices import notice_sink
from tickets.events import events_publish
from tickets.models import Ticket, TicketSchedule

from .. import clocks as engine_rules
from ..calendar import BusinessCalendar
from ..clocks import Figures, Timeline
from ..metrics import METRICS
from ..models import (
    Alert,
    Calendar,
    Clock,
    ClockState,
    EscalationRule,
    SLAPolicy,
    SLATarget,
)
from ..selectors import ticket_history
from .escalation import BREACH_PERCENT, alerts_fire

logger = logging.getLogger(__name__)


@dataclass
class Derived:
    clock: Clock
    figures: Figures
    rules: list[EscalationRule]
    thresholds: list[int]


def thresholds_of(rules: Iterable[EscalationRule]) -> list[int]:
    return sorted({r.threshold_percent for r in rules} | {BREACH_PERCENT})


def engine_of(calendar: Calendar) -> BusinessCalendar:
    return calendar.engine


def _derive(
    ticket: Ticket, now: dt.datetime, recorded_breaches: set[tuple[str, int]]
) -> tuple[list[Derived], list[Clock]]:
    """The figures of every clock the ticket's policy promises; and the clocks to drop.

    ``recorded_breaches``: the (metric, cycle) pairs whose breach was recorded."""
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
    derived: list[Derived] = []
    dropped: list[Clock] = []
    for metric, rule in METRICS.items():
        target = (
            policy.target_for(metric=metric, priority_id=ticket.priority_id) if policy else None
        )
        clock = existing.get(metric)
        timeline = rule.timeline(
            received_at=ticket.received_at, initial_status=initial, changes=changes
        )
        if timeline is None:  # not started yet (a next reply before any customer message)
            if clock is not None:
                dropped.append(clock)
            continue
        if clock is not None and _frozen(clock, timeline):
            # An outcome reached is final: a later priority, plan, policy or calendar change
            # does not turn last month's met response into a missed one.
            derived.append(Derived(clock, _stored_figures(clock), [], []))
            continue
        if target is None:
            if clock is not None:
                dropped.append(clock)
            continue
        target.policy = policy  # type: ignore[assignment]  # spare a query
        calendar = target.effective_calendar()
        engine = engine_of(calendar)
        start = engine_rules.from_epoch(
            timeline.started
            if timeline.started is not None
            else engine_rules.to_epoch(ticket.received_at)
        )
        budget = target.budget(start=start, engine=engine).total_seconds()
        applicable = [
            r
            for r in rules
            if r.applies_to(
                policy_id=ticket.sla_policy_id, priority_id=ticket.priority_id, metric=metric
            )
        ]
        thresholds = thresholds_of(applicable)
        if clock is not None and clock.cycle != timeline.cycle:
            _settle_cycles(clock, timeline, target, engine, recorded_breaches, now)
        elif clock is not None:  # live, or running again (reopened): a frozen one returned above
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
            _settle_cycles(clock, timeline, target, engine, recorded_breaches, now)
        clock.target = target
        clock.calendar = calendar
        clock.started_at = start
        clock.budget_seconds = budget
        _apply(clock, timeline, figures, now)
        derived.append(Derived(clock, figures, applicable, thresholds))
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


def _settle_cycles(
    clock: Clock,
    timeline: Timeline,
    target: SLATarget,
    engine: BusinessCalendar,
    recorded_breaches: set[tuple[str, int]],
    now: dt.datetime,
) -> None:
    """Move a cycle metric's clock on to the timeline's current cycle: count the outcome of
    each cycle it had not counted yet (the one it followed keeps the outcome it reached,
    recorded breaches included), and start the new cycle with nothing carried.

    Counted outcomes are final, like a stopped clock's: later rule changes do not recount
    them. A cycle the clock never followed (the metric's target came later) is judged now.
    """
    first_uncounted = max(clock.cycle, 1)
    for number, past in enumerate(timeline.past, start=1):
        if number < first_uncounted:
            continue
        if number == clock.cycle and clock.pk is not None and clock.state == ClockState.STOPPED:
            met = clock.met
        else:
            start = engine_rules.from_epoch(past.started or 0)
            figures = engine_rules.clock_figures(
                timeline=past,
                budget_seconds=target.budget(start=start, engine=engine).total_seconds(),
                engine=engine,
                now=now,
                carried_seconds=clock.carried_seconds if number == clock.cycle else 0.0,
                carried_at=_carried_epoch(clock) if number == clock.cycle else None,
            )
            met = figures.met
        if (clock.metric, number) in recorded_breaches:
            met = False
        if met is True:
            clock.cycles_met += 1
        elif met is False:
            clock.cycles_missed += 1
    clock.cycle = timeline.cycle
    clock.carried_seconds, clock.carried_at, clock.carried_why = 0.0, None, {}


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
    derived: list[Derived], alerts: Iterable[tuple[str, int, int, dt.datetime | None]]
) -> None:
    """A breach once recorded (event written, notices sent) is never undone: the clock keeps
    a breach time and a stopped clock counts as missed, whatever the history says now."""
    recorded = {
        (metric, cycle): due for metric, cycle, percent, due in alerts if percent == BREACH_PERCENT
    }
    for item in derived:
        clock = item.clock
        key = (clock.metric, clock.cycle)
        if key not in recorded:
            continue
        if clock.breached_at is None:
            clock.breached_at = recorded[key] or clock.due_at
        if clock.state == ClockState.STOPPED:
            clock.met = False


def _next_alert(item: Derived, fired: set[tuple[str, int]]) -> dt.datetime | None:
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
    alerts_fired = list(
        Alert.objects.filter(ticket=ticket).values_list(
            "metric", "cycle", "threshold_percent", "due_at"
        )
    )
    breaches = {(m, c) for m, c, percent, _due in alerts_fired if percent == BREACH_PERCENT}
    derived, dropped = _derive(ticket, now, breaches)
    # Each clock's thresholds are acted on once per cycle: only its current cycle's count.
    cycle_of = {d.clock.metric: d.clock.cycle for d in derived}
    fired = {
        (metric, percent)
        for metric, cycle, percent, _due in alerts_fired
        if cycle_of.get(metric, 0) == cycle
    }
    _keep_recorded_breaches(derived, alerts_fired)
    events = alerts_fire(ticket, derived, fired, now)
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
    if events:
        events_publish(events)
        if flush_notices:
            notice_sink().flush_on_commit(tenant_id=ticket.tenant_id)
    return [d.clock for d in derived]


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
