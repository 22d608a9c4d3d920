"""Clock state agrees with the ticket's status whatever order its events were processed in.

Every pair of changes is applied in both orders, the second five minutes after the first;
a customer's mail carries the time it was received (10:25), before either was processed. A
mail received before the agent set the ticket pending but processed after it reopens the
ticket, and its clocks run again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_scopes import scope

from sla.models import Clock, ClockState, Metric
from tests.conftest import Cast
from tests.sla.test_frozen_outcomes import file_at
from tests.tickets.conftest import Desk, at, build_desk
from tickets.choices import Channel
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import changes, ticket_change_status, ticket_reply

pytestmark = pytest.mark.django_db

RECEIVED = at(2026, 3, 2, 10, 25)  # a Monday; the mail's own time

Action = Callable[[Cast, Ticket], object]


def _status(status: str) -> Action:
    def act(cast: Cast, ticket: Ticket) -> object:
        return ticket_change_status(
            ticket=ticket, status=status, actor=cast.agent, channel=Channel.PORTAL
        )

    return act


def _customer_mail(cast: Cast, ticket: Ticket) -> object:
    return ticket_reply(
        ticket=ticket,
        body="Here is the log you asked for.",
        public=True,
        channel=Channel.EMAIL,
        author_contact=cast.customer_contact,
        at=RECEIVED,
    )


def _agent_reply(cast: Cast, ticket: Ticket) -> object:
    return ticket_reply(
        ticket=ticket, body="Looking at it.", public=True, channel=Channel.PORTAL, author=cast.agent
    )


ACTIONS: dict[str, Action] = {
    "customer mail (received 10:25)": _customer_mail,
    "agent replies": _agent_reply,
    "pending": _status("pending"),
    "on hold": _status("on_hold"),
    "solved": _status("solved"),
    "open": _status("open"),
}


def _expected(metric: str, status: str, answered: bool) -> str:
    if status in ("solved", "closed") or (metric == Metric.FIRST_RESPONSE and answered):
        return ClockState.STOPPED
    return ClockState.PAUSED if status == "pending" else ClockState.RUNNING


@pytest.mark.parametrize(("first", "second"), list(itertools.product(ACTIONS, repeat=2)))
def test_clock_state_follows_the_status_in_every_processing_order(
    cast: Cast, first: str, second: str
) -> None:
    desk: Desk = build_desk(cast)
    with scope(tenant=cast.tenant_a):
        ticket = file_at(cast, at(2026, 3, 2, 10, 0))
        for name, minute in ((first, 30), (second, 35)):
            with time_machine.travel(at(2026, 3, 2, 10, minute), tick=False):
                try:
                    ACTIONS[name](cast, Ticket.objects.get(pk=ticket.pk))
                except ValidationError:
                    pass  # a move the state machine refuses (pending twice) changes nothing
        ticket = Ticket.objects.get(pk=ticket.pk)
        # The first-response clock stops for good at a staff reply or a solve.
        answered = TicketEvent.objects.filter(
            Q(kind=EventKind.REPLIED, by_staff=True, is_public=True)
            | Q(kind=EventKind.STATUS_CHANGED, new_value__in=["solved", "closed"]),
            ticket=ticket,
        ).exists()
        states = dict(Clock.objects.filter(ticket=ticket).values_list("metric", "state"))
        promised = set(desk.policy.targets.values_list("metric", flat=True))
        assert states == {
            metric: _expected(metric, ticket.status, answered) for metric in promised
        }, (first, second, ticket.status)
        assert (ticket.schedule.due_at is not None) == (ClockState.RUNNING in states.values())
    assert desk.policy.pk


def test_events_are_timed_after_the_row_lock_so_the_log_reads_in_the_order_applied(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_desk(cast)
    with scope(tenant=cast.tenant_a):
        ticket = file_at(cast, at(2026, 3, 2, 10, 0))
        with time_machine.travel(at(2026, 3, 2, 10, 30), tick=False) as clock:
            locked = changes.ticket_locked

            def slow_lock(ticket: Ticket) -> Ticket:
                clock.shift(60)  # another transaction held the row for a minute
                return locked(ticket)

            monkeypatch.setattr(changes, "ticket_locked", slow_lock)
            _status("pending")(cast, ticket)
        event = TicketEvent.objects.filter(ticket=ticket).latest("id")
        assert event.at == at(2026, 3, 2, 10, 31)
