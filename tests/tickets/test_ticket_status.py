"""The status state machine and what every transition does to each clock."""

from __future__ import annotations

import itertools

import pytest
import time_machine
from django.core.exceptions import ValidationError

from sla.models import Clock, ClockState, Metric
from tests.conftest import Cast
from tickets.choices import Channel, Status
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import (
    CONTACT_TRANSITIONS,
    TRANSITIONS,
    TransitionNotAllowed,
    ticket_change_status,
    ticket_create,
)

from .conftest import Desk, at

pytestmark = pytest.mark.django_db

DONE = (Status.SOLVED, Status.CLOSED)


def _new(cast: Cast) -> Ticket:
    return ticket_create(
        tenant=cast.tenant_a,
        requester=cast.customer_contact,
        subject="Cannot log in",
        description="",
        channel=Channel.EMAIL,
    )


def _move(ticket: Ticket, status: str, cast: Cast) -> Ticket:
    return ticket_change_status(
        ticket=ticket, status=status, actor=cast.agent, channel=Channel.PORTAL
    )


def _states(ticket: Ticket) -> dict[str, str]:
    return dict(Clock.objects.filter(ticket=ticket).values_list("metric", "state"))


def _expected(before: str, after: str) -> dict[str, str]:
    def state(status: str) -> str:
        if status in DONE:
            return ClockState.STOPPED
        return ClockState.PAUSED if status == Status.PENDING else ClockState.RUNNING

    # The first-response clock stops for good once the ticket was solved or closed.
    first = ClockState.STOPPED if before in DONE or after in DONE else state(after)
    return {Metric.FIRST_RESPONSE: first, Metric.RESOLUTION: state(after)}


ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
REFUSED = [
    (a, b) for a, b in itertools.product(Status.values, Status.values) if b not in TRANSITIONS[a]
]


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_every_allowed_transition_moves_each_clock_as_the_rules_say(
    cast: Cast, desk: Desk, in_tenant_a: object, before: str, after: str
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as clock:
        ticket = _new(cast)
        if before != Status.NEW:
            ticket = _move(ticket, before, cast)
        clock.shift(600)
        ticket = _move(ticket, after, cast)
    assert ticket.status == after
    assert _states(ticket) == _expected(before, after)
    event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS_CHANGED).last()
    assert event is not None
    assert (event.old_value, event.new_value, event.actor) == (before, after, cast.agent)


@pytest.mark.parametrize(("before", "after"), REFUSED)
def test_a_transition_the_state_machine_does_not_allow_is_refused_and_changes_nothing(
    cast: Cast, desk: Desk, in_tenant_a: object, before: str, after: str
) -> None:
    ticket = _new(cast)
    if before != Status.NEW:
        ticket = _move(ticket, before, cast)
    version = ticket.version
    with pytest.raises(TransitionNotAllowed):
        _move(ticket, after, cast)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == (before, version)


def test_a_customer_may_reopen_a_solved_ticket_but_not_put_it_on_hold(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _move(_new(cast), Status.SOLVED, cast)
    with pytest.raises(TransitionNotAllowed):
        ticket_change_status(
            ticket=ticket,
            status=Status.ON_HOLD,
            actor=None,
            channel=Channel.PORTAL,
            contact=cast.customer_contact,
        )
    ticket = ticket_change_status(
        ticket=ticket,
        status=Status.OPEN,
        actor=cast.customer,
        channel=Channel.PORTAL,
        contact=cast.customer_contact,
    )
    assert ticket.status == Status.OPEN
    assert Status.ON_HOLD not in CONTACT_TRANSITIONS[Status.SOLVED]


def test_a_customer_cannot_change_someone_elses_ticket(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _new(cast)
    with pytest.raises(ValidationError):
        ticket_change_status(
            ticket=ticket,
            status=Status.SOLVED,
            actor=None,
            channel=Channel.PORTAL,
            contact=cast.named_contact,
        )


def test_a_contact_cannot_pretend_to_be_staff(cast: Cast, desk: Desk, in_tenant_a: object) -> None:
    ticket = _new(cast)
    with pytest.raises(ValidationError):
        _move(ticket, Status.SOLVED, Cast(**{**cast.__dict__, "agent": cast.customer}))
