"""Clocks follow the ticket's history: pauses, replies, reopening, and recomputation after a
priority, plan or calendar change, checked against the calendar engine itself."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sla.models import (
    Clock,
    ClockState,
    EscalationRule,
    Metric,
    SLAPolicy,
    SLATarget,
    TargetUnit,
)
from sla.services import TargetSpec, calendar_update, policy_targets_set
from tests.conftest import Cast
from tickets.choices import Channel, Status
from tickets.models import Ticket
from tickets.services import (
    ticket_change_priority,
    ticket_change_sla_policy,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

from .conftest import OFFICE, Desk, at

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)


def _new(cast: Cast, **kwargs: object) -> Ticket:
    return ticket_create(
        tenant=cast.tenant_a,
        requester=cast.customer_contact,
        subject="Reports are empty",
        description="Since this morning.",
        channel=Channel.EMAIL,
        **kwargs,  # type: ignore[arg-type]
    )


def _clock(ticket: Ticket, metric: str = Metric.FIRST_RESPONSE) -> Clock:
    return Clock.objects.get(ticket=ticket, metric=metric)


def _status(ticket: Ticket, status: str, cast: Cast) -> Ticket:
    return ticket_change_status(
        ticket=ticket, status=status, actor=cast.agent, channel=Channel.PORTAL
    )


def test_waiting_on_the_customer_pauses_and_resumes_with_the_remaining_business_time(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    engine = desk.office.engine
    with time_machine.travel(at(2026, 3, 2, 15, 0), tick=False) as traveller:  # Monday
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 16, 30))
        ticket = _status(ticket, Status.PENDING, cast)
        paused = _clock(ticket, Metric.RESOLUTION)
        assert paused.state == ClockState.PAUSED and paused.due_at is None
        assert paused.elapsed_seconds == 90 * 60
        traveller.move_to(at(2026, 3, 4, 10, 15))  # Wednesday
        ticket = _status(ticket, Status.OPEN, cast)
    resolution = _clock(ticket, Metric.RESOLUTION)
    budget = engine.between(at(2026, 3, 2, 15, 0), engine.add_days(at(2026, 3, 2, 15, 0), 2))
    expected = engine.add(at(2026, 3, 4, 10, 15), budget - dt.timedelta(minutes=90))
    assert resolution.state == ClockState.RUNNING
    assert resolution.due_at == expected
    first = _clock(ticket)
    assert first.due_at == engine.add(at(2026, 3, 4, 10, 15), 4 * H - dt.timedelta(minutes=90))
    ticket.refresh_from_db()
    assert ticket.next_due_at == first.due_at


def test_the_first_public_staff_reply_stops_the_first_response_clock_and_opens_the_ticket(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 10, 0))
        ticket_reply(
            ticket=ticket,
            body="Internal: looking",
            public=False,
            channel=Channel.PORTAL,
            author=cast.agent,
        )
        assert _clock(ticket).state == ClockState.RUNNING
        traveller.move_to(at(2026, 3, 2, 11, 0))
        ticket_reply(
            ticket=ticket,
            body="We are on it",
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
        )
    ticket.refresh_from_db()
    first = _clock(ticket)
    assert (first.state, first.met, first.stopped_at) == (
        ClockState.STOPPED,
        True,
        at(2026, 3, 2, 11, 0),
    )
    assert ticket.status == Status.OPEN
    assert ticket.first_responded_at == at(2026, 3, 2, 11, 0)
    assert ticket.next_due_at == _clock(ticket, Metric.RESOLUTION).due_at


def test_a_customer_reply_does_not_count_as_a_response_but_reopens_a_pending_ticket(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _status(_new(cast), Status.PENDING, cast)
        traveller.move_to(at(2026, 3, 2, 12, 0))
        ticket_reply(
            ticket=ticket,
            body="Here is the log",
            public=True,
            channel=Channel.EMAIL,
            author_contact=cast.customer_contact,
        )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    first = _clock(ticket)
    assert first.state == ClockState.RUNNING
    assert first.due_at == at(2026, 3, 2, 16, 0)  # 4 h from 12:00, nothing used before


def test_a_late_response_is_recorded_as_breached_and_not_met(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 3, 9, 0))
        ticket_reply(
            ticket=ticket, body="Sorry", public=True, channel=Channel.PORTAL, author=cast.agent
        )
    first = _clock(ticket)
    assert first.met is False
    assert first.breached_at == at(2026, 3, 2, 13, 0)


def test_reopening_a_solved_ticket_rearms_resolution_with_the_time_left(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    engine = desk.office.engine
    start = at(2026, 3, 2, 9, 0)
    budget = engine.between(start, engine.add_days(start, 2))
    with time_machine.travel(start, tick=False) as traveller:
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 11, 0))
        ticket = _status(ticket, Status.SOLVED, cast)
        solved = _clock(ticket, Metric.RESOLUTION)
        assert (solved.state, solved.met) == (ClockState.STOPPED, True)
        assert ticket.next_due_at is None
        traveller.move_to(at(2026, 3, 5, 9, 0))
        ticket = _status(ticket, Status.OPEN, cast)
    again = _clock(ticket, Metric.RESOLUTION)
    assert again.state == ClockState.RUNNING and again.met is None
    assert again.due_at == engine.add(at(2026, 3, 5, 9, 0), budget - 2 * H)
    assert _clock(ticket).state == ClockState.STOPPED  # first response stays answered


@time_machine.travel(at(2026, 3, 2, 9, 0), tick=False)
def test_a_priority_change_derives_the_due_time_again_from_receipt(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _new(cast)
    assert _clock(ticket).due_at == at(2026, 3, 2, 13, 0)
    ticket = ticket_change_priority(ticket=ticket, priority=desk.p1, actor=cast.agent)
    first = _clock(ticket)
    assert first.due_at == at(2026, 3, 2, 10, 0)  # 60 minutes on the 24/7 calendar
    assert first.calendar == desk.always
    ticket.refresh_from_db()
    assert ticket.next_due_at == at(2026, 3, 2, 10, 0)


@time_machine.travel(at(2026, 3, 2, 9, 0), tick=False)
def test_a_plan_without_a_promise_drops_the_clocks(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _new(cast)
    ticket = ticket_change_sla_policy(ticket=ticket, policy=None, actor=cast.admin)
    assert not Clock.objects.filter(ticket=ticket).exists()
    assert ticket.next_due_at is None
    faster = SLAPolicy.objects.create(tenant=cast.tenant_a, name="Faster", calendar=desk.office)
    SLATarget.objects.create(
        tenant=cast.tenant_a,
        policy=faster,
        metric=Metric.FIRST_RESPONSE,
        amount=30,
        unit=TargetUnit.MINUTES,
    )
    ticket = ticket_change_sla_policy(ticket=ticket, policy=faster, actor=cast.admin)
    assert _clock(ticket).due_at == at(2026, 3, 2, 9, 30)
    assert not Clock.objects.filter(ticket=ticket, metric=Metric.RESOLUTION).exists()


def test_a_calendar_edit_recomputes_running_and_paused_clocks_in_bulk(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    EscalationRule.objects.create(
        tenant=cast.tenant_a, name="Warn", metric=Metric.RESOLUTION, threshold_percent=50
    )
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        running = _new(cast)
        paused = _status(_new(cast), Status.PENDING, cast)
        traveller.move_to(at(2026, 3, 2, 10, 0))
        shorter = {
            **OFFICE,
            "week": {d: ["08:00-12:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
        count = calendar_update(
            calendar=desk.office, name="Office", config=shorter, is_default=True, actor=cast.admin
        )
        assert count == 4

        def figures() -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
            clocks = Clock.objects.filter(ticket__in=[running, paused])
            tickets = Ticket.objects.filter(pk__in=[running.pk, paused.pk])
            return (
                {(c.pk, c.due_at, c.state, c.next_alert_at) for c in clocks},
                {(t.pk, t.next_due_at, t.next_due_calendar_id, t.next_alert_at) for t in tickets},
            )

        expected = figures()
        # The bulk path agrees with deriving each ticket from its history: clocks, the
        # queue's due time and the sweep's next threshold alike.
        from sla.services import tickets_refresh

        tickets_refresh(tickets=Ticket.objects.filter(pk__in=[running.pk, paused.pk]))
    assert figures() == expected
    assert any(alert is not None for *_rest, alert in expected[1])
    assert _clock(running).due_at == at(2026, 3, 3, 9, 0)  # 3 h on Monday, 1 h on Tuesday
    running.refresh_from_db()
    assert running.next_due_at == at(2026, 3, 3, 9, 0)


def test_changing_a_target_recomputes_its_clocks(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        ticket = _new(cast)
        policy_targets_set(
            policy=desk.policy,
            targets=[
                TargetSpec(Metric.FIRST_RESPONSE, None, 2, TargetUnit.HOURS),
                TargetSpec(Metric.RESOLUTION, None, 2, TargetUnit.WORKING_DAYS),
            ],
            actor=cast.admin,
        )
    assert _clock(ticket).due_at == at(2026, 3, 2, 11, 0)
