"""ITSL's post-incident review (issue #15 item 2): a closed ticket of a priority the tenant
picked gets its review at close, due within N working days of its SLA calendar; the agent
writes it, shares it with the customer, and the monthly report counts it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from contracts.models import Contact
from notifications.models import Notice
from reports.services import sla_report_build
from sla.models import Priority
from sla.services import calendar_update
from supportdesk.demo import demo_file
from supportdesk.models import Tenant
from supportdesk.notices import NoticeKind
from tests.conftest import Cast, api_client_for, client_for
from tests.reports.test_monthly_report import OCTOBER
from tickets.choices import Channel, Status
from tickets.models import EventKind, PostIncidentReview, ReviewPolicy, ReviewStatus, Ticket
from tickets.reviews.services import (
    review_action_add,
    review_action_remove,
    review_done,
    review_open,
    review_policy_save,
    review_save,
    reviews_due_recompute,
)
from tickets.services import ticket_assign, ticket_change_status, ticket_create
from tickets.tasks import reviews_warn_all

from .conftest import OFFICE, Desk, at

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


def test_the_prefilled_timeline_is_in_the_tenants_language_whoever_closes_it(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    cast.tenant_a.default_language = "sv"
    cast.tenant_a.save(update_fields=["default_language"])
    _policy(cast, desk.p1, desk.p2)
    ticket = _close(cast, _ticket(cast, desk.p2), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        timeline = PostIncidentReview.objects.get(ticket=ticket).timeline
    assert "Nytt → Stängt" in timeline and "Closed" not in timeline


def test_closing_a_ticket_of_a_chosen_priority_opens_its_review_assigned_and_prefilled(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _policy(cast, desk.p1, desk.p2)
    ticket = _close(cast, _ticket(cast, desk.p2), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review = PostIncidentReview.objects.get(ticket=ticket)
        assert review.assignee == cast.agent
        assert review.status == ReviewStatus.DRAFT
        assert "Ticket received" in review.timeline and "New → Closed" in review.timeline
        assert "new ->" not in review.timeline and "-> closed" not in review.timeline
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


def _reviewed(
    cast: Cast, desk: Desk, capture: Any, **fields: Any
) -> tuple[Ticket, PostIncidentReview]:
    """A closed P1 of the customer with its review written (``fields`` override)."""
    _policy(cast, desk.p1)
    ticket = _close(cast, _ticket(cast, desk.p1), capture)
    with scope(tenant=cast.tenant_a):
        review = PostIncidentReview.objects.get(ticket=ticket)
        values = {
            "impact": "Nobody could log in for 2 hours", "timeline": review.timeline,
            "root_cause": "An expired certificate", "shared_with_customer": False,
            "assignee": cast.agent, **fields,
        }  # fmt: skip
        return ticket, review_save(review=review, actor=cast.agent, **values)


def test_the_customer_reads_the_review_on_their_ticket_only_once_it_is_shared(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    url = reverse("portal:ticket-detail", kwargs={"ticket_id": ticket.pk})
    page = client_for(cast.customer, cast.tenant_a).get(url)
    assert page.status_code == 200
    assert "An expired certificate" not in page.content.decode()
    with scope(tenant=cast.tenant_a):
        review_save(
            review=review, actor=cast.agent, impact=review.impact, timeline=review.timeline,
            root_cause=review.root_cause, shared_with_customer=True, assignee=cast.agent,
        )  # fmt: skip
    page = client_for(cast.customer, cast.tenant_a).get(url)
    assert "An expired certificate" in page.content.decode()
    assert "Post-incident review" in page.content.decode()


def test_the_agent_writes_the_review_on_its_page_and_marks_it_done(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-review", kwargs={"ticket_id": ticket.pk})
    assert client.get(url).status_code == 200
    saved = client.post(
        url,
        {"assignee": cast.agent.pk, "impact": "All users", "timeline": "10:00 down",
         "root_cause": "Disk full", "shared_with_customer": "on"},
    )  # fmt: skip
    assert saved.status_code == 302
    client.post(
        reverse("tickets:ticket-review-action", kwargs={"ticket_id": ticket.pk}),
        {"description": "Alert on disk usage", "owner": cast.agent.pk, "due_on": "2026-12-31"},
    )
    client.post(reverse("tickets:ticket-review-done", kwargs={"ticket_id": ticket.pk}))
    with scope(tenant=cast.tenant_a):
        review.refresh_from_db()
        assert review.status == ReviewStatus.DONE and review.shared_with_customer
        assert review.root_cause == "Disk full"
        assert [a.description for a in review.actions.all()] == ["Alert on disk usage"]


def test_opening_a_review_from_the_page_of_a_ticket_not_closed_says_why_and_saves_nothing(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast, desk.p1)
    client = client_for(cast.agent, cast.tenant_a)
    answer = client.post(
        reverse("tickets:ticket-review-open", kwargs={"ticket_id": ticket.pk}), follow=True
    )
    assert answer.status_code == 200
    assert "A post-incident review is written for a closed ticket" in answer.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not PostIncidentReview.objects.exists()


def test_the_api_reads_writes_and_refuses_a_review(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    open_ticket = _ticket(cast, desk.p2, subject="Still open")
    ticket, _review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    api = api_client_for(cast.agent, cast.tenant_a)
    refused = api.post(f"/api/v1/tickets/{open_ticket.pk}/review/")
    assert refused.status_code == 400, refused.content
    assert "closed ticket" in refused.content.decode()
    assert api.get(f"/api/v1/tickets/{open_ticket.pk}/review/").status_code == 404
    read = api.get(f"/api/v1/tickets/{ticket.pk}/review/")
    assert read.status_code == 200 and read.json()["root_cause"] == "An expired certificate"
    patched = api.patch(
        f"/api/v1/tickets/{ticket.pk}/review/", json.dumps({"shared_with_customer": True}),
        content_type="application/json",
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["shared_with_customer"] is True
    added = api.post(
        f"/api/v1/tickets/{ticket.pk}/review/actions/",
        json.dumps({"description": "Renew certificates automatically", "due_on": "2026-12-01"}),
        content_type="application/json",
    )
    assert added.status_code == 201
    done = api.post(f"/api/v1/tickets/{ticket.pk}/review/done/")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert done.json()["actions"][0]["description"] == "Renew certificates automatically"


def test_the_monthly_report_counts_reviews_done_and_overdue(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _policy(cast, desk.p1, days=1)
    with time_machine.travel(at(2026, 10, 5, 10, 0), tick=False):
        late = _close(
            cast, _ticket(cast, desk.p1, subject="Late"), django_capture_on_commit_callbacks
        )
        done = _close(
            cast, _ticket(cast, desk.p1, subject="Done"), django_capture_on_commit_callbacks
        )
        with scope(tenant=cast.tenant_a):
            review = review_save(
                review=PostIncidentReview.objects.get(ticket=done), actor=cast.agent,
                impact="Some", timeline="", root_cause="A bug", shared_with_customer=False,
                assignee=None,
            )  # fmt: skip
            review_done(review=review, actor=cast.agent)
    with scope(tenant=cast.tenant_a):
        assert PostIncidentReview.objects.get(ticket=late).due_at == at(2026, 10, 6, 17, 0)
        report = sla_report_build(tenant=cast.tenant_a, month=OCTOBER, now=at(2026, 11, 2, 9))
    assert (report.total.reviews_done, report.total.reviews_overdue) == (1, 1)


def test_the_assignee_is_warned_once_on_the_last_working_day(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _policy(cast, desk.p1, days=2)
    ticket = _ticket(cast, desk.p1)
    with time_machine.travel(at(2026, 10, 5, 10, 0), tick=False):  # Monday
        _close(cast, ticket, django_capture_on_commit_callbacks)
    with time_machine.travel(at(2026, 10, 6, 12, 0), tick=False):  # working day 1
        assert reviews_warn_all() == 0
    with time_machine.travel(at(2026, 10, 7, 9, 0), tick=False):  # the last working day
        with django_capture_on_commit_callbacks(execute=True):
            assert reviews_warn_all() == 1
        assert reviews_warn_all() == 0
    with scopes_disabled():
        notices = Notice.objects.filter(kind=NoticeKind.REVIEW_DUE)
        assert [n.recipient_id for n in notices] == [cast.agent.pk]


def test_the_review_pages_read_in_swedish(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, _review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get(reverse("tickets:ticket-review", kwargs={"ticket_id": ticket.pk}))
    assert "Granskning efter incident" in page.content.decode()
    assert "Grundorsak" in page.content.decode()
    settings_page = client_for(cast.admin, cast.tenant_a)
    cast.admin.language = "sv"
    cast.admin.save(update_fields=["language"])
    text = settings_page.get(reverse("tickets:review-settings")).content.decode()
    assert "Prioriteter som kräver en granskning" in text


def test_the_admin_sets_the_review_rule_and_bad_days_are_refused(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("tickets:review-settings")
    bad = client.post(url, {"priorities": [desk.p1.pk], "due_working_days": "0"})
    assert bad.status_code == 200
    with scope(tenant=cast.tenant_a):
        assert not ReviewPolicy.objects.exists()
    ok = client.post(url, {"priorities": [desk.p1.pk, desk.p2.pk], "due_working_days": "3"})
    assert ok.status_code == 302
    with scope(tenant=cast.tenant_a):
        policy = ReviewPolicy.objects.get()
        assert policy.due_working_days == 3
        assert set(policy.priorities.all()) == {desk.p1, desk.p2}


def test_the_itsl_demo_reviews_p1_and_p2_and_ships_one_shared_done_review(
    tmp_path: Path,
) -> None:
    data = yaml.safe_load(demo_file("itsl").read_text(encoding="utf-8"))
    (tmp_path / "itsl.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    call_command("seed_demo", demo_dir=tmp_path, stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="itsl")
    with scope(tenant=tenant):
        policy = ReviewPolicy.objects.get()
        assert sorted(policy.priorities.values_list("key", flat=True)) == ["P1", "P2"]
        (review,) = PostIncidentReview.objects.select_related("ticket")
        assert review.status == ReviewStatus.DONE and review.shared_with_customer
        assert review.ticket.status == Status.CLOSED and review.actions.count() == 1


def test_an_action_is_removed_from_its_review_only_on_the_page_and_by_api(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    other_ticket = _close(cast, _ticket(cast, desk.p1), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        other = PostIncidentReview.objects.get(ticket=other_ticket)
    with scope(tenant=cast.tenant_a):
        keep = review_action_add(
            review=review, actor=cast.agent, description="Monitor expiry", owner=None, due_on=None
        )
        wrong = review_action_add(
            review=review, actor=cast.agent, description="Typo action", owner=None, due_on=None
        )
        theirs = review_action_add(
            review=other, actor=cast.agent, description="Other review's", owner=None, due_on=None
        )
        # Another review's action is not this review's to remove.
        with pytest.raises(ValidationError) as refused:
            review_action_remove(review=review, action_id=theirs.pk, actor=cast.agent)
        assert "action" in refused.value.message_dict
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get(reverse("tickets:ticket-review", args=[ticket.pk])).content.decode()
    url = reverse("tickets:ticket-review-action-remove", args=[ticket.pk, wrong.pk])
    assert f'action="{url}"' in page and "Remove the action “Typo action”?" in page
    assert client.post(url).status_code == 302
    again = client.post(url, follow=True).content.decode()
    assert "This review has no such action." in again
    api = api_client_for(cast.agent, cast.tenant_a)
    gone = api.delete(f"/api/v1/tickets/{ticket.pk}/review/actions/{keep.pk}/")
    assert gone.status_code == 204, gone.content
    across = api.delete(f"/api/v1/tickets/{ticket.pk}/review/actions/{theirs.pk}/")
    assert across.status_code == 400
    manager = api_client_for(cast.manager, cast.tenant_a)
    assert (
        manager.delete(f"/api/v1/tickets/{other_ticket.pk}/review/actions/{theirs.pk}/").status_code
        == 404
    )
    with scope(tenant=cast.tenant_a):
        assert list(review.actions.all()) == [] and list(other.actions.all()) == [theirs]


def test_the_customer_reads_a_shared_review_in_the_portal_api_without_its_owners(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    api = api_client_for(cast.customer, cast.tenant_a)
    url = f"/api/v1/portal/tickets/{ticket.pk}/"
    assert api.get(url).json()["review"] is None  # not shared yet
    with scope(tenant=cast.tenant_a):
        review_action_add(
            review=review, actor=cast.agent, description="Renew certificates automatically",
            owner=cast.agent, due_on=None,
        )  # fmt: skip
        review_save(
            review=review, actor=cast.agent, impact=review.impact, timeline=review.timeline,
            root_cause=review.root_cause, shared_with_customer=True, assignee=cast.agent,
        )  # fmt: skip
    shared = api.get(url).json()["review"]
    assert shared["root_cause"] == "An expired certificate" and shared["status"] == "draft"
    assert shared["actions"] == [
        {"description": "Renew certificates automatically", "due_on": None}
    ]
    assert "assignee" not in shared and "owner" not in shared["actions"][0]


def test_a_manager_reads_the_review_with_its_owners_and_cannot_change_it(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, review = _reviewed(cast, desk, django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review_action_add(
            review=review, actor=cast.agent, description="Alert on certificate expiry",
            owner=cast.agent, due_on=None,
        )  # fmt: skip
    manager = client_for(cast.manager, cast.tenant_a)
    url = reverse("tickets:ticket-review", kwargs={"ticket_id": ticket.pk})
    page = manager.get(url).content.decode()
    assert "An expired certificate" in page
    assert f"Alert on certificate expiry · {cast.agent}" in page
    assert "<form" not in page.split("<main", 1)[-1]
    assert manager.post(url, {"impact": "Rewritten"}).status_code == 404
    listed = manager.get(reverse("tickets:reviews")).content.decode()
    assert url in listed
    ticket_page = manager.get(reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk}))
    assert url in ticket_page.content.decode()
    with scope(tenant=cast.tenant_a):
        review.refresh_from_db()
        assert review.impact != "Rewritten"


SHORTER = {**OFFICE, "week": {d: ["08:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}


def _two_closed_monday(cast: Cast, desk: Desk, capture: Any) -> tuple[Ticket, Ticket]:
    """Two P1s closed on Monday 2026-10-05 at 10:00, the rule's 2 working days (due
    Wednesday 17:00); the second one's review done."""
    _policy(cast, desk.p1, days=2)
    open_one, done_one = _ticket(cast, desk.p1), _ticket(cast, desk.p1, subject="Mail is down")
    with time_machine.travel(at(2026, 10, 5, 10, 0), tick=False):
        _close(cast, open_one, capture)
        _close(cast, done_one, capture)
    with scope(tenant=cast.tenant_a):
        review = review_save(
            review=PostIncidentReview.objects.get(ticket=done_one), actor=cast.agent,
            impact="All users", timeline="", root_cause="A full disk",
            shared_with_customer=False, assignee=cast.agent,
        )  # fmt: skip
        review_done(review=review, actor=cast.agent)
    return open_one, done_one


def _due(cast: Cast, ticket: Ticket) -> tuple[Any, Any]:
    with scope(tenant=cast.tenant_a):
        review = PostIncidentReview.objects.get(ticket=ticket)
    return review.due_at, review.warn_at


def test_a_calendar_edit_moves_an_open_reviews_due_time_and_leaves_a_done_one(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    open_one, done_one = _two_closed_monday(cast, desk, django_capture_on_commit_callbacks)
    assert _due(cast, open_one) == (at(2026, 10, 7, 17, 0), at(2026, 10, 6, 17, 0))
    with scope(tenant=cast.tenant_a), time_machine.travel(at(2026, 10, 5, 12, 0), tick=False):
        calendar_update(
            calendar=desk.office, name="Office", config=SHORTER, is_default=True,
            actor=cast.admin,
        )  # fmt: skip
    assert _due(cast, open_one) == (at(2026, 10, 7, 16, 0), at(2026, 10, 6, 16, 0))
    assert _due(cast, done_one) == (at(2026, 10, 7, 17, 0), at(2026, 10, 6, 17, 0))
    with scope(tenant=cast.tenant_a):
        moved = open_one.events.get(kind=EventKind.REVIEW_DUE_MOVED)
        assert (moved.old_value, moved.new_value) == ("2026-10-07 17:00", "2026-10-07 16:00")
        assert not moved.is_public
        assert not done_one.events.filter(kind=EventKind.REVIEW_DUE_MOVED).exists()


def test_a_calendar_edit_of_a_calendar_no_review_counts_on_moves_nothing(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    open_one, _done = _two_closed_monday(cast, desk, django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        calendar_update(
            calendar=desk.always, name="24/7", config=SHORTER, is_default=False, actor=cast.admin
        )
        assert not open_one.events.filter(kind=EventKind.REVIEW_DUE_MOVED).exists()
    assert _due(cast, open_one) == (at(2026, 10, 7, 17, 0), at(2026, 10, 6, 17, 0))


def test_a_change_of_the_rules_days_moves_open_reviews_and_leaves_done_ones(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    open_one, done_one = _two_closed_monday(cast, desk, django_capture_on_commit_callbacks)
    client = client_for(cast.admin, cast.tenant_a)
    page = client.post(
        reverse("tickets:review-settings"), {"priorities": [desk.p1.pk], "due_working_days": "3"}
    )
    assert page.status_code == 302
    assert _due(cast, open_one) == (at(2026, 10, 8, 17, 0), at(2026, 10, 7, 17, 0))
    assert _due(cast, done_one) == (at(2026, 10, 7, 17, 0), at(2026, 10, 6, 17, 0))
    with scope(tenant=cast.tenant_a):
        assert open_one.events.filter(kind=EventKind.REVIEW_DUE_MOVED).count() == 1
        assert not done_one.events.filter(kind=EventKind.REVIEW_DUE_MOVED).exists()


def test_a_warning_sent_is_not_sent_again_when_the_due_time_moves_later(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    open_one, _done = _two_closed_monday(cast, desk, django_capture_on_commit_callbacks)
    with time_machine.travel(at(2026, 10, 7, 9, 0), tick=False):  # the last working day
        with django_capture_on_commit_callbacks(execute=True):
            assert reviews_warn_all() == 1
    with scope(tenant=cast.tenant_a), time_machine.travel(at(2026, 10, 7, 10, 0), tick=False):
        policy = ReviewPolicy.objects.get()
        review_policy_save(policy=policy, priorities=[desk.p1], due_working_days=3)
    assert _due(cast, open_one) == (at(2026, 10, 8, 17, 0), at(2026, 10, 7, 17, 0))
    with time_machine.travel(at(2026, 10, 8, 9, 0), tick=False):  # the new last working day
        with django_capture_on_commit_callbacks(execute=True):
            assert reviews_warn_all() == 0
    with scopes_disabled():
        assert Notice.objects.filter(kind=NoticeKind.REVIEW_DUE).count() == 1


@pytest.mark.parametrize("reviews", [1, 4])
def test_moving_due_times_takes_the_same_queries_for_one_review_or_many(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any, reviews: int
) -> None:
    _policy(cast, desk.p1, days=2)
    tickets = [_ticket(cast, desk.p1, subject=f"Down {n}") for n in range(reviews)]
    with time_machine.travel(at(2026, 10, 5, 10, 0), tick=False):
        for ticket in tickets:
            _close(cast, ticket, django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        ReviewPolicy.objects.update(due_working_days=4)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            moved = reviews_due_recompute(tenant=cast.tenant_a, every=True)
    assert moved == reviews
    # The default calendar, the reviews (locked), the rule, the update, the events, the
    # deliveries owed, and the savepoint around them (taken and released).
    assert len(queries) == QUERIES_TO_MOVE_DUE_TIMES, [q["sql"] for q in queries]


QUERIES_TO_MOVE_DUE_TIMES = 8


def test_the_review_page_explains_its_due_time_in_words(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    open_one, _done = _two_closed_monday(cast, desk, django_capture_on_commit_callbacks)
    url = reverse("tickets:ticket-review", kwargs={"ticket_id": open_one.pk})
    text = client_for(cast.agent, cast.tenant_a).get(url).content.decode()
    assert (
        "Due 2 working days after the close on Monday 5 October 2026 10:00, on the "
        "“Office” calendar (Europe/Stockholm): Mon–Fri 08:00–17:00." in text
    )
    assert "the last one ends Wednesday 7 October 2026 17:00" in text
    assert "warned once from 2026-10-06 17:00" in text
    # The header's due time is Stockholm's wall clock too (it read 15:00, UTC).
    assert "Due 07/10/2026 17:00" in text
    cast.manager.language = "sv"
    cast.manager.save(update_fields=["language"])
    text = client_for(cast.manager, cast.tenant_a).get(url).content.decode()
    assert "Förfaller 2 arbetsdagar efter stängningen" in text


def test_a_done_review_whose_rule_changed_since_says_so_instead_of_a_count(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    _open, done_one = _two_closed_monday(cast, desk, django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        review_policy_save(
            policy=ReviewPolicy.objects.get(), priorities=[desk.p1], due_working_days=4
        )
    url = reverse("tickets:ticket-review", kwargs={"ticket_id": done_one.pk})
    text = client_for(cast.agent, cast.tenant_a).get(url).content.decode()
    assert "Due 2026-10-07 17:00 by the review rule and the SLA calendar in force then" in text
    assert "working days after the close" not in text
