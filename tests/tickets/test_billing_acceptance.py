"""Converting a ticket to a kind the plan bills never makes it billable silently: the
customer is asked, the ticket waits on them, and they accept or decline in the portal
(issue #15 item 9; Syneton: a question turned into a change request)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django_scopes import scope

from contracts.models import SupportPlan
from tests.conftest import Cast, client_for
from tickets.choices import Category, Channel, Status
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import ticket_convert, ticket_create

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _question(cast: Cast, desk: Desk, *, accepted: bool = False) -> Ticket:
    """A question of tenant A's customer, on a plan that bills change requests."""
    with scope(tenant=cast.tenant_a):
        SupportPlan.objects.filter(pk=desk.plan.pk).update(
            included_categories=[Category.QUESTION, Category.INCIDENT]
        )
        return ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="Add a field",
            description="x", channel=Channel.PORTAL,
            category=Category.CHANGE_REQUEST if accepted else Category.QUESTION,
            accepted_billable=accepted,
        )  # fmt: skip


def _convert(cast: Cast, ticket: Ticket, capture: Any, category: str) -> Ticket:
    with scope(tenant=cast.tenant_a), capture(execute=True):
        return ticket_convert(ticket=ticket, category=category, actor=cast.agent)


def _kinds(ticket: Ticket) -> list[str]:
    with scope(tenant=ticket.tenant):
        events = TicketEvent.objects.filter(ticket=ticket).order_by("at", "id")
        return list(events.values_list("kind", flat=True))


def _decide(cast: Cast, ticket: Ticket, decision: str, capture: Any) -> Any:
    portal = client_for(cast.customer_contact.user, cast.tenant_a)
    with capture(execute=True):
        return portal.post(
            f"/portal/tickets/{ticket.pk}/billing/", {"decision": decision}, follow=True
        )


def test_a_conversion_to_billed_work_asks_the_customer_and_waits_on_them(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _question(cast, desk)
    mail.outbox.clear()
    ticket = _convert(cast, ticket, django_capture_on_commit_callbacks, Category.CHANGE_REQUEST)
    assert (ticket.billable, ticket.billing_accepted, ticket.status) == (
        True, False, Status.PENDING,
    )  # fmt: skip
    with scope(tenant=cast.tenant_a):
        billed = TicketEvent.objects.get(ticket=ticket, kind=EventKind.BILLABLE_CHANGED)
    assert billed.data["acceptance"] == "requested"
    (asked,) = [m for m in mail.outbox if cast.customer_contact.email in m.to]
    assert "accept" in asked.subject.lower() and "/portal/tickets/" in asked.body
    page = client_for(cast.customer_contact.user, cast.tenant_a).get(
        f"/portal/tickets/{ticket.pk}/"
    )
    assert 'id="billing-decision"' in page.content.decode()


def test_the_customer_accepts_and_the_work_goes_on(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _question(cast, desk)
    ticket = _convert(cast, ticket, django_capture_on_commit_callbacks, Category.CHANGE_REQUEST)
    page = _decide(cast, ticket, "accept", django_capture_on_commit_callbacks)
    assert "You accepted the charge" in page.content.decode()
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert (ticket.billable, ticket.billing_accepted, ticket.status) == (True, True, Status.OPEN)
    assert _kinds(ticket)[-2:] == [EventKind.BILLING_ACCEPTED, EventKind.STATUS_CHANGED]
    again = _decide(cast, ticket, "accept", django_capture_on_commit_callbacks)
    assert "not waiting for you to accept a charge" in again.content.decode()
    with scope(tenant=cast.tenant_a):
        assert TicketEvent.objects.filter(kind=EventKind.BILLING_ACCEPTED).count() == 1


def test_the_customer_declines_and_the_ticket_stays_what_it_was(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _question(cast, desk)
    ticket = _convert(cast, ticket, django_capture_on_commit_callbacks, Category.CHANGE_REQUEST)
    page = _decide(cast, ticket, "decline", django_capture_on_commit_callbacks)
    assert "You declined the charge" in page.content.decode()
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert (ticket.category, ticket.billable, ticket.status) == (
        Category.QUESTION, False, Status.OPEN,
    )  # fmt: skip
    assert EventKind.BILLING_DECLINED in _kinds(ticket)


@pytest.mark.parametrize("decision", ["", "maybe", "ACCEPT"])
def test_anything_but_accept_or_decline_changes_nothing(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any, decision: str
) -> None:
    ticket = _question(cast, desk)
    ticket = _convert(cast, ticket, django_capture_on_commit_callbacks, Category.CHANGE_REQUEST)
    page = _decide(cast, ticket, decision, django_capture_on_commit_callbacks)
    assert page.status_code == 200 and "Choose to accept or to decline" in page.content.decode()
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert (ticket.billing_accepted, ticket.status) == (False, Status.PENDING)


def test_nothing_is_asked_when_the_new_kind_is_included_or_the_charge_was_accepted(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    included = _question(cast, desk)
    included = _convert(cast, included, django_capture_on_commit_callbacks, Category.INCIDENT)
    assert (included.billable, included.status) == (False, Status.NEW)
    accepted = _question(cast, desk, accepted=True)
    assert (accepted.billable, accepted.billing_accepted) == (True, True)
    accepted = _convert(cast, accepted, django_capture_on_commit_callbacks, Category.BUG)
    assert accepted.status == Status.NEW and accepted.billing_accepted
