"""ITSL's post-incident review (issue #15 item 2): a closed ticket of a priority the tenant
picked gets its review at close, due within N working days of its SLA calendar; the agent
writes it, shares it with the customer, and the monthly report counts it."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scope

from contracts.models import Contact
from sla.models import Priority
from tests.conftest import Cast
from tickets.choices import Channel, Status
from tickets.models import EventKind, PostIncidentReview, ReviewPolicy, ReviewStatus, Ticket
from tickets.reviews.services import review_done, review_open, review_save
from tickets.services import ticket_assign, ticket_change_status, ticket_create

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _policy(cast: Cast, *priorities: Priority, days: int = 2) -> ReviewPolicy:
    with scope(tenant=cast.tenant_a):
        policy = ReviewPolicy.objects.create(tenant=cast.tenant_a, due_working_days=days)
        policy.priorities.set(priorities)
        return policy


def _ticket(
    cast: Cast,
    priority: Priority,
    *,
    subject: str = "Hubs is down",
    requester: Contact | None = None,
) -> Ticket:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a, requester=requester or cast.customer_contact, subject=subject,
            description="Nobody can log in.", channel=Channel.EMAIL, enforce_entitlement=False,
            priority=priority,
        )  # fmt: skip
        return ticket_assign(ticket=ticket, assignee=cast.agent, actor=cast.agent)


def _close(cast: Cast, ticket: Ticket, capture: Any) -> Ticket:
    with scope(tenant=cast.tenant_a), capture(execute=True):
        return ticket_change_status(
            ticket=ticket, status=Status.CLOSED, actor=cast.agent, channel=Channel.PORTAL
        )


def test_closing_a_ticket_of_a_chosen_priority_opens_its_review_assigned_and_prefilled(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _policy(cast, desk.p1, desk.p2)
    ticket = _close(cast, _ticket(cast, desk.p2), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review = PostIncidentReview.objects.get(ticket=ticket)
        assert review.assignee == cast.agent
        assert review.status == ReviewStatus.DRAFT
        assert "Ticket received" in review.timeline and "closed" in review.timeline
        assert ticket.events.filter(kind=EventKind.REVIEW_OPENED, is_public=False).count() == 1


def test_closing_a_ticket_of_another_priority_opens_no_review(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _policy(cast, desk.p1)
    ticket = _close(cast, _ticket(cast, desk.p3), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        assert not PostIncidentReview.objects.filter(ticket=ticket).exists()


def test_a_tenant_without_a_review_rule_gets_no_reviews(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _close(cast, _ticket(cast, desk.p1), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        assert not PostIncidentReview.objects.exists()
        assert ticket.status == Status.CLOSED


def test_the_review_is_due_two_working_days_later_across_the_weekend_and_a_holiday(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    """Closed Thursday 2026-04-02 at 15:00; Good Friday (04-03), the weekend and Easter
    Monday (04-06) are closed on the office calendar: Tuesday is working day 1, Wednesday
    working day 2, due at its close (17:00); the warning starts at Tuesday's close."""
    _policy(cast, desk.p2, days=2)
    ticket = _ticket(cast, desk.p2)
    with time_machine.travel(at(2026, 4, 2, 15, 0), tick=False):
        _close(cast, ticket, django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review = PostIncidentReview.objects.get(ticket=ticket)
    assert review.due_at == at(2026, 4, 8, 17, 0)
    assert review.warn_at == at(2026, 4, 7, 17, 0)


def test_a_review_of_a_ticket_not_closed_is_refused_and_nothing_is_saved(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast, desk.p1)
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError) as refused:
            review_open(ticket=ticket, actor=cast.agent)
        assert "closed ticket" in str(refused.value)
        assert not PostIncidentReview.objects.exists()
        assert not ticket.events.filter(kind=EventKind.REVIEW_OPENED).exists()


def test_an_agent_may_open_a_review_by_hand_once(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _close(cast, _ticket(cast, desk.p3), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review_open(ticket=ticket, actor=cast.agent)
        with pytest.raises(ValidationError, match="already has"):
            review_open(ticket=ticket, actor=cast.agent)
        assert PostIncidentReview.objects.count() == 1


def test_a_review_is_done_only_with_its_impact_and_root_cause(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _policy(cast, desk.p1)
    ticket = _close(cast, _ticket(cast, desk.p1), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review = PostIncidentReview.objects.get(ticket=ticket)
        with pytest.raises(ValidationError, match="Root cause"):
            review_done(review=review, actor=cast.agent)
        review = review_save(
            review=review, actor=cast.agent, impact="All users", timeline=review.timeline,
            root_cause="An expired certificate", shared_with_customer=False,
            assignee=cast.agent,
        )  # fmt: skip
        done = review_done(review=review, actor=cast.agent)
        assert done.status == ReviewStatus.DONE and done.done_at is not None
        assert ticket.events.filter(kind=EventKind.REVIEW_DONE).count() == 1
