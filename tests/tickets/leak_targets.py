"""Tenant B's objects behind the agent pages' and ticket API's URL kwargs
(``attachment_id`` comes from ``tests/portal/leak_targets.py``)."""

from __future__ import annotations

from django_scopes import scope

from contracts.models import Contact
from tests.conftest import B_MARKER, Cast
from tickets.choices import Channel, Rating, Status, VendorState
from tickets.followers.services import ticket_cc_add, ticket_follow
from tickets.links.services import ticket_link, ticket_merge
from tickets.models import LinkKind, NotifyRole, Problem, ProblemStatus, QueueView, RoutingRule
from tickets.problems.services import problem_link, problem_save
from tickets.quotes.services import quote_propose
from tickets.reviews.services import review_action_add, review_open, review_save
from tickets.satisfaction.services import rating_link_token
from tickets.services import (
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_reply,
    ticket_vendor_escalate,
)


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        ticket = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Agent ticket {B_MARKER}",
            description=f"Description {B_MARKER}",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        ticket_reply(
            ticket=ticket,
            body=f"Internal {B_MARKER}",
            public=False,
            channel=Channel.PORTAL,
            author=cast.agent_b,
        )
        # A link and a merged duplicate in tenant B: the snapshot then holds their rows, and
        # a links/unlink/merge URL of tenant A that reached them would change it.
        other = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Linked ticket {B_MARKER}",
            description=f"Linked {B_MARKER}",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        ticket_link(ticket=other, other=ticket, kind=LinkKind.CAUSED_BY, actor=cast.agent_b)
        # Waiting on the vendor, the reference marked: tenant A's pages, API and vendor
        # reminders must never show it (issue 15 item 5).
        ticket_vendor_escalate(
            ticket=ticket_assign(ticket=other, assignee=cast.agent_b, actor=cast.agent_b),
            state=VendorState.WAITING,
            reference=f"ZD {B_MARKER}",
            actor=cast.agent_b,
        )
        # A copied colleague and an internal follower: the cc/followers URLs of tenant A that
        # reached them would show the marker or change the snapshot.
        colleague = Contact.objects.create(
            tenant=cast.tenant_b,
            organisation=cast.org_b,
            name=f"Copied {B_MARKER}",
            email="copied@orgb.test",
        )
        ticket_cc_add(ticket=ticket, contact=colleague, actor=cast.agent_b)
        ticket_follow(ticket=ticket, agent=cast.agent_b, actor=cast.agent_b)
        # A quote waiting for tenant B's customer: a quote URL of tenant A that reached it
        # would show the marker or change the snapshot (accepting it, proposing another).
        quote_propose(ticket=ticket, agent=cast.agent_b, hours="2", text=f"Quote {B_MARKER}")
        duplicate = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Duplicate {B_MARKER}",
            description=f"Duplicate {B_MARKER}",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        ticket_merge(ticket=duplicate, into=ticket, actor=cast.agent_b)
        # A known error of tenant B with an incident linked: a problem URL of tenant A that
        # reached it would show the marker or change the snapshot (linking, resolving, or
        # publishing it as an article).
        problem = problem_save(
            problem=Problem(
                tenant=cast.tenant_b,
                title=f"Problem {B_MARKER}",
                status=ProblemStatus.KNOWN_ERROR,
                root_cause=f"Cause {B_MARKER}",
                workaround=f"Workaround {B_MARKER}",
            ),
            actor=cast.agent_b,
        )
        problem_link(problem=problem, ticket=other, actor=cast.agent_b)
        # Solved, with a good link for it: only the tenant stands between A and a rating.
        ticket_change_status(
            ticket=ticket, status=Status.SOLVED, actor=cast.agent_b, channel=Channel.PORTAL
        )
        token = rating_link_token(ticket=ticket, contact=cast.contact_b, rating=Rating.GOOD)
        # A closed ticket with a shared post-incident review: tenant A's review list, pages,
        # API and report must never show it.
        reviewed = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Reviewed {B_MARKER}",
            description=f"Reviewed {B_MARKER}",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        ticket_change_status(
            ticket=reviewed, status=Status.CLOSED, actor=cast.agent_b, channel=Channel.PORTAL
        )
        review = review_save(
            review=review_open(ticket=reviewed, actor=cast.agent_b),
            actor=cast.agent_b,
            impact=f"Impact {B_MARKER}",
            timeline=f"Timeline {B_MARKER}",
            root_cause=f"Cause {B_MARKER}",
            shared_with_customer=True,
            assignee=cast.agent_b,
        )
        # Its follow-up action: tenant A may not remove it, nor learn that it exists.
        action = review_action_add(
            review=review, actor=cast.agent_b, description=f"Action {B_MARKER}",
            owner=cast.agent_b, due_on=None,
        )  # fmt: skip
        view = QueueView.objects.create(
            tenant=cast.tenant_b,
            owner=cast.agent_b,
            name=f"View {B_MARKER}",
            filters={"q": B_MARKER},
        )
        rule = RoutingRule.objects.create(
            tenant=cast.tenant_b,
            name=f"Rule {B_MARKER}",
            position=1,
            organisation=cast.org_b,
            assignee=cast.agent_b,
            notify_roles=[NotifyRole.ACCOUNT_MANAGER],
        )
    return {
        "ticket_id": ticket.pk,
        "rating_token": token,
        "view_id": view.pk,
        "routing_rule_id": rule.pk,
        "problem_id": problem.pk,
        "action_id": action.pk,
    }


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's ``ticket_id`` (and ``attachment_id``) come from ``tests/portal/leak_targets.py``:
    one ticket of the customer contact serves the agent pages and the portal. ``view_id`` is
    the agent's own saved view; ``routing_rule_id`` a routing rule; ``problem_id`` a known
    error."""
    with scope(tenant=cast.tenant_a):
        view = QueueView.objects.create(
            tenant=cast.tenant_a, owner=cast.agent, name="Mine, 2nd line", filters={"line": "2"}
        )
        rule = RoutingRule.objects.create(
            tenant=cast.tenant_a,
            name="Org A to the 2nd line",
            position=1,
            organisation=cast.org_a,
            support_line=2,
        )
        problem = problem_save(
            problem=Problem(
                tenant=cast.tenant_a,
                title="Login fails after the password change",
                status=ProblemStatus.KNOWN_ERROR,
                workaround="Clear the browser's saved password.",
            ),
            actor=cast.agent,
        )
        # A review action of another (closed) ticket: the A ticket of the URLs has no review,
        # so removing this action through it is refused with a message, and nothing goes.
        closed = ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="Reviewed",
            description="Reviewed", channel=Channel.EMAIL, enforce_entitlement=False,
        )  # fmt: skip
        ticket_change_status(
            ticket=closed, status=Status.CLOSED, actor=cast.agent, channel=Channel.PORTAL
        )
        action = review_action_add(
            review=review_open(ticket=closed, actor=cast.agent), actor=cast.agent,
            description="Renew the certificate", owner=None, due_on=None,
        )  # fmt: skip
    return {
        "view_id": view.pk,
        "routing_rule_id": rule.pk,
        "problem_id": problem.pk,
        "action_id": action.pk,
    }
