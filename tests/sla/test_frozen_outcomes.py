"""Outcomes reached are frozen: a later change does not rewrite a met or missed target; a
first response nobody needed (solved without a public reply) is neither met nor missed."""

from __future__ import annotations

import pytest
import time_machine
from django_scopes import scope

from sla.explanations import clock_explain
from sla.models import Clock, ClockState, Metric
from tests.conftest import Cast
from tests.tickets.conftest import Desk, at, build_desk
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.services import (
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

pytestmark = pytest.mark.django_db


def file_at(cast: Cast, moment: object) -> Ticket:
    """A ticket from tenant A's customer, filed at ``moment``."""
    with time_machine.travel(moment, tick=False):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Invoices do not print",
            description="x",
            channel=Channel.PORTAL,
        )


def _clock(ticket: Ticket, metric: str = Metric.FIRST_RESPONSE) -> Clock:
    return Clock.objects.get(ticket=ticket, metric=metric)


def test_raising_the_priority_after_the_first_response_keeps_it_met(cast: Cast) -> None:
    desk: Desk = build_desk(cast)
    with scope(tenant=cast.tenant_a):
        ticket = file_at(cast, at(2026, 3, 2, 9, 0))  # P3: first response within 4 h
        with time_machine.travel(at(2026, 3, 2, 10, 30), tick=False):
            ticket_reply(
                ticket=ticket, body="On it.", public=True, channel=Channel.PORTAL, author=cast.agent
            )
        before = _clock(ticket)
        assert before.met is True
        with time_machine.travel(at(2026, 3, 2, 11, 0), tick=False):
            # P1 promises 60 minutes around the clock: 10:30 would have been late.
            ticket_change_priority(
                ticket=Ticket.objects.get(pk=ticket.pk), priority=desk.p1, actor=cast.agent
            )
        after = _clock(ticket)
        assert (after.met, after.due_at, after.target_id, after.budget_seconds) == (
            True,
            before.due_at,
            before.target_id,
            before.budget_seconds,
        )
        # The resolution clock is still running and follows the new priority.
        assert _clock(ticket, Metric.RESOLUTION).target.priority_id == desk.p1.pk


def test_a_first_response_on_a_ticket_solved_without_a_reply_is_not_needed(cast: Cast) -> None:
    build_desk(cast)
    with scope(tenant=cast.tenant_a):
        ticket = file_at(cast, at(2026, 3, 2, 9, 0))
        with time_machine.travel(at(2026, 3, 2, 9, 30), tick=False):
            ticket_change_status(
                ticket=ticket, status="solved", actor=cast.agent, channel=Channel.PORTAL
            )
        clock = _clock(ticket)
        assert clock.state == ClockState.STOPPED
        assert clock.met is None
        with time_machine.travel(at(2026, 3, 2, 9, 31), tick=False):
            assert clock_explain(clock)[-1].startswith("Not needed")


def test_a_first_response_solved_after_its_breach_without_a_reply_is_missed(cast: Cast) -> None:
    build_desk(cast)
    with scope(tenant=cast.tenant_a):
        ticket = file_at(cast, at(2026, 3, 2, 9, 0))
        with time_machine.travel(at(2026, 3, 2, 15, 0), tick=False):
            ticket_change_status(
                ticket=ticket, status="solved", actor=cast.agent, channel=Channel.PORTAL
            )
        assert _clock(ticket).met is False
