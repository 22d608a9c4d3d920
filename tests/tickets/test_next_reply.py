"""The next-reply metric, end to end: each customer message after a reply starts a clock that
the next public staff reply stops; it pauses while the ticket waits on the customer, warns
and breaches once per cycle, is explained in words, counted in the monthly report and shown
in the API and the portal.

Also the registry's own rule: every metric value has exactly one rule (sla/metrics.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django_scopes import scope

from reports.services import sla_report_build
from sla.choices import Metric
from sla.clocks import Change
from sla.explanations import clock_explain
from sla.metrics import METRICS, reply_cycles
from sla.models import Alert, Clock, ClockState, EscalationRule, SLATarget, TargetUnit
from sla.services import calendar_update, sla_sweep, tickets_refresh
from tests.conftest import Cast, api_client_for, client_for
from tests.tickets.conftest import OFFICE, Desk, at
from tickets.choices import Channel
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import ticket_change_status, ticket_create, ticket_reply

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)


def test_every_metric_has_one_rule_in_the_registry() -> None:
    assert list(METRICS) == list(Metric.values)
    assert all(rule.metric == key for key, rule in METRICS.items())


def _t(hour: int, minute: int = 0) -> dt.datetime:
    return at(2026, 3, 2, hour, minute)


@pytest.mark.parametrize(
    ("changes", "starts"),
    [
        # No reply yet: the opening message is the first response's; nothing to time.
        ([Change(_t(9), customer=True)], []),
        # Reply, then a message: one cycle from the message, open.
        ([Change(_t(9), responded=True), Change(_t(10), customer=True)], [_t(10)]),
        # Further messages while one waits do not restart it: the oldest counts.
        (
            [
                Change(_t(9), responded=True),
                Change(_t(10), customer=True),
                Change(_t(11), customer=True),
                Change(_t(12), responded=True),
                Change(_t(13), customer=True),
            ],
            [_t(10), _t(13)],
        ),
        # A message on a solved ticket starts the clock when it is reopened.
        (
            [
                Change(_t(9), responded=True),
                Change(_t(10), status="solved"),
                Change(_t(11), customer=True),
                Change(_t(11, 5), status="open"),
            ],
            [_t(11, 5)],
        ),
        # Solved without a reply: the first response was not needed; the customer's next
        # message waits for a reply.
        (
            [
                Change(_t(9), status="solved"),
                Change(_t(10), customer=True),
                Change(_t(10), status="open"),
            ],
            [_t(10)],
        ),
    ],
)
def test_a_cycle_starts_at_the_oldest_unanswered_message_after_a_reply(
    changes: list[Change], starts: list[dt.datetime]
) -> None:
    assert [start for start, _status, _part in reply_cycles(_t(8), "new", changes)] == starts


def _next_reply_target(desk: Desk, cast: Cast, hours: int = 2) -> SLATarget:
    return SLATarget.objects.create(
        tenant=cast.tenant_a,
        policy=desk.policy,
        metric=Metric.NEXT_REPLY,
        amount=hours,
        unit=TargetUnit.HOURS,
    )


def _file(cast: Cast, moment: dt.datetime) -> Ticket:
    with time_machine.travel(moment, tick=False):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Invoices do not print",
            description="Since Monday.",
            channel=Channel.PORTAL,
        )


def _agent(cast: Cast, ticket: Ticket, moment: dt.datetime, body: str = "Looking at it.") -> None:
    with time_machine.travel(moment, tick=False):
        ticket_reply(
            ticket=Ticket.objects.get(pk=ticket.pk),
            body=body,
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
        )


def _customer(cast: Cast, ticket: Ticket, moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        ticket_reply(
            ticket=Ticket.objects.get(pk=ticket.pk),
            body="It still fails.",
            public=True,
            channel=Channel.PORTAL,
            author_contact=cast.customer_contact,
        )


def _clock(ticket: Ticket) -> Clock:
    return Clock.objects.get(ticket=ticket, metric=Metric.NEXT_REPLY)


def test_each_customer_message_after_a_reply_gets_its_own_deadline(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    _next_reply_target(desk, cast, hours=2)
    ticket = _file(cast, _t(9))
    assert not Clock.objects.filter(ticket=ticket, metric=Metric.NEXT_REPLY).exists()
    _agent(cast, ticket, _t(9, 30))
    assert not Clock.objects.filter(ticket=ticket, metric=Metric.NEXT_REPLY).exists()

    _customer(cast, ticket, _t(10))
    clock = _clock(ticket)
    assert (clock.state, clock.cycle, clock.started_at) == (ClockState.RUNNING, 1, _t(10))
    assert clock.due_at == _t(12)
    ticket.refresh_from_db()
    assert ticket.next_due_at == _t(12)  # sooner than the resolution: the queue's order

    _agent(cast, ticket, _t(11))  # answered in time
    clock = _clock(ticket)
    assert (clock.state, clock.met) == (ClockState.STOPPED, True)

    _customer(cast, ticket, _t(15, 30))  # 2 business hours: due the next morning at 08:30
    clock = _clock(ticket)
    assert (clock.state, clock.cycle, clock.due_at) == (
        ClockState.RUNNING,
        2,
        at(2026, 3, 3, 8, 30),
    )
    assert (clock.cycles_met, clock.cycles_missed) == (1, 0)  # the first cycle, final


def test_the_clock_pauses_while_waiting_on_the_customer(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    _next_reply_target(desk, cast, hours=2)
    ticket = _file(cast, _t(9))
    _agent(cast, ticket, _t(9, 10))
    _customer(cast, ticket, _t(10))
    with time_machine.travel(_t(10, 30), tick=False):
        ticket_change_status(
            ticket=Ticket.objects.get(pk=ticket.pk),
            status="pending",
            actor=cast.agent,
            channel=Channel.PORTAL,
        )
    assert _clock(ticket).state == ClockState.PAUSED
    with time_machine.travel(_t(13, 30), tick=False):
        ticket_change_status(
            ticket=Ticket.objects.get(pk=ticket.pk),
            status="open",
            actor=cast.agent,
            channel=Channel.PORTAL,
        )
    clock = _clock(ticket)
    # 30 minutes used before the pause, 90 left from 13:30.
    assert (clock.state, clock.due_at) == (ClockState.RUNNING, _t(15))


def test_a_late_reply_breaches_once_per_cycle_and_stays_missed(
    cast: Cast, desk: Desk, in_tenant_a: object, django_capture_on_commit_callbacks: object
) -> None:
    _next_reply_target(desk, cast, hours=1)
    EscalationRule.objects.create(
        tenant=cast.tenant_a,
        name="Next reply soon",
        metric=Metric.NEXT_REPLY,
        threshold_percent=50,
    ).notify_users.add(cast.agent)
    ticket = _file(cast, _t(8))
    _agent(cast, ticket, _t(8, 5))
    _customer(cast, ticket, _t(9))  # due 10:00, warned at 09:30
    for moment in (_t(9, 31), _t(9, 32), _t(10, 1), _t(10, 2)):
        with time_machine.travel(moment, tick=False):
            with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
                sla_sweep()
    assert sorted(
        Alert.objects.filter(metric=Metric.NEXT_REPLY).values_list("cycle", "threshold_percent")
    ) == [(1, 50), (1, 100)]
    _agent(cast, ticket, _t(10, 30))  # late
    clock = _clock(ticket)
    assert (clock.state, clock.met) == (ClockState.STOPPED, False)

    _customer(cast, ticket, _t(11))  # a second cycle: due 12:00, warned at 11:30 again
    with time_machine.travel(_t(11, 31), tick=False):
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            sla_sweep()
    assert sorted(
        Alert.objects.filter(metric=Metric.NEXT_REPLY).values_list("cycle", "threshold_percent")
    ) == [(1, 50), (1, 100), (2, 50)]
    clock = _clock(ticket)
    assert (clock.cycle, clock.cycles_met, clock.cycles_missed) == (2, 0, 1)
    warnings = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA_WARNING)
    assert [e.data.get("cycle") for e in warnings.order_by("id")] == [1, 2]
    # Each warning reached the agent, once per cycle.
    assert len([m for m in mail.outbox if ticket.reference in m.body]) == 2

    # The report counts both cycles: one missed, the second still running and not yet due.
    with time_machine.travel(_t(11, 40), tick=False):
        report = sla_report_build(tenant=cast.tenant_a, month=MONDAY.replace(day=1))
    outcome = report.total.outcomes[Metric.NEXT_REPLY]
    assert (outcome.met, outcome.missed) == (0, 1)
    with time_machine.travel(_t(12, 30), tick=False):  # the second is overdue now
        report = sla_report_build(tenant=cast.tenant_a, month=MONDAY.replace(day=1))
    assert report.total.outcomes[Metric.NEXT_REPLY].missed == 2


def test_the_explanation_names_the_message_that_started_it(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    _next_reply_target(desk, cast, hours=2)
    ticket = _file(cast, _t(9))
    _agent(cast, ticket, _t(9, 10))
    _customer(cast, ticket, _t(10))
    _agent(cast, ticket, _t(10, 20))
    _customer(cast, ticket, _t(14))
    words = " ".join(clock_explain(_clock(ticket)))
    assert "Next reply within 2 business hours" in words
    assert "the customer's message of" in words and "14:00" in words
    assert "Earlier replies on this ticket: 1 on time, 0 late." in words


def test_the_api_and_the_portal_show_the_next_reply(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: object
) -> None:
    with scope(tenant=cast.tenant_a):
        _next_reply_target(desk, cast, hours=2)
        ticket = _file(cast, _t(9))
        _agent(cast, ticket, _t(9, 10))
    with scope(tenant=cast.tenant_a):
        _customer(cast, ticket, _t(10))
    with time_machine.travel(_t(10), tick=False):
        staff = api_client_for(cast.agent, cast.tenant_a)
        body = staff.get(f"/api/v1/tickets/{ticket.pk}/").json()
        clocks = {c["metric"]: c for c in body["clocks"]}
        assert clocks["next_reply"]["cycle"] == 1
        assert clocks["next_reply"]["due_at"].startswith("2026-03-02T11:00:00Z")
        assert any("customer's message" in line for line in clocks["next_reply"]["explanation"])

        portal_api = api_client_for(cast.customer, cast.tenant_a)
        detail = portal_api.get(f"/api/v1/portal/tickets/{ticket.pk}/").json()
        assert detail["next_reply_due"].startswith("2026-03-02T11:00:00Z")
        portal = client_for(cast.customer, cast.tenant_a)
        page = portal.get(f"/portal/tickets/{ticket.pk}/").content.decode()
        assert "Next reply by" in page and "today 12:00" in page


def test_periodic_updates_restart_at_every_public_reply_and_count_each_period(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    """The second metric on the same rule shape: an agent update every 2 business hours
    while the ticket is open, from receipt, whether or not the customer wrote."""
    SLATarget.objects.create(
        tenant=cast.tenant_a,
        policy=desk.policy,
        metric=Metric.PERIODIC_UPDATE,
        amount=2,
        unit=TargetUnit.HOURS,
    )
    ticket = _file(cast, _t(9))

    def update() -> Clock:
        return Clock.objects.get(ticket=ticket, metric=Metric.PERIODIC_UPDATE)

    assert (update().cycle, update().due_at) == (1, _t(11))
    _agent(cast, ticket, _t(10))  # on time; the next period runs from this reply
    assert (update().cycle, update().due_at, update().cycles_met) == (2, _t(12), 1)
    _customer(cast, ticket, _t(10, 30))  # a customer message does not restart it
    assert (update().cycle, update().due_at) == (2, _t(12))
    _agent(cast, ticket, _t(13))  # late
    assert (update().cycle, update().cycles_met, update().cycles_missed) == (3, 1, 1)
    with time_machine.travel(_t(13, 30), tick=False):
        ticket_change_status(
            ticket=Ticket.objects.get(pk=ticket.pk),
            status="solved",
            actor=cast.agent,
            channel=Channel.PORTAL,
        )
    clock = update()
    assert (clock.state, clock.met) == (ClockState.STOPPED, None)  # solved: nothing owed
    report = sla_report_build(tenant=cast.tenant_a, month=MONDAY.replace(day=1))
    outcome = report.total.outcomes[Metric.PERIODIC_UPDATE]
    assert (outcome.met, outcome.missed) == (1, 1)


def test_a_calendar_edit_recomputes_the_current_cycle_in_bulk_as_a_refresh_would(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    """The bulk path counts a cycle from its own start (the customer's message), carrying the
    time used before the edit, and agrees with deriving the ticket again from its history."""
    _next_reply_target(desk, cast, hours=2)
    ticket = _file(cast, _t(9))
    _agent(cast, ticket, _t(9, 10))
    _customer(cast, ticket, _t(10))
    _agent(cast, ticket, _t(10, 20))
    _customer(cast, ticket, _t(14))
    assert (_clock(ticket).cycle, _clock(ticket).due_at) == (2, _t(16))
    short_monday = {**OFFICE, "week": {**OFFICE["week"], "mon": ["08:00-15:30"]}}  # type: ignore[dict-item]
    with time_machine.travel(_t(15), tick=False):
        assert calendar_update(
            calendar=desk.office,
            name="Office",
            config=short_monday,
            is_default=True,
            actor=cast.admin,
        )
    clock = _clock(ticket)
    # 1 h used 14-15 under the old hours; 30 min left on Monday, 30 more on Tuesday.
    assert (clock.cycle, clock.started_at, clock.carried_seconds) == (2, _t(14), 3600)
    assert clock.due_at == at(2026, 3, 3, 8, 30)
    with time_machine.travel(_t(15, 1), tick=False):
        tickets_refresh(tickets=Ticket.objects.filter(pk=ticket.pk))
    again = _clock(ticket)
    assert (again.cycle, again.due_at, again.cycles_met) == (2, at(2026, 3, 3, 8, 30), 1)
