"""The agent queue page and API: nearest due first, filters, keyset pages, constant queries."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from contracts.models import Contact
from tests.conftest import B_MARKER, Cast, api_client_for, client_for
from tickets.choices import Channel, Status
from tickets.models import Ticket
from tickets.services import ticket_assign, ticket_change_status, ticket_create

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _file(cast: Cast, n: int, **kwargs: object) -> list[Ticket]:
    with scope(tenant=cast.tenant_a):
        return [
            ticket_create(
                tenant=cast.tenant_a,
                requester=cast.customer_contact,
                subject=f"Question {i}",
                description="",
                channel=Channel.EMAIL,
                **kwargs,  # type: ignore[arg-type]
            )
            for i in range(n)
        ]


def _api_rows(response: object) -> list[dict[str, object]]:
    return response.json()["results"]  # type: ignore[attr-defined, no-any-return]


def test_the_queue_lists_the_nearest_due_first_and_tickets_without_a_due_time_last(
    cast: Cast, desk: Desk
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        normal = _file(cast, 1)[0]
        traveller.move_to(at(2026, 3, 2, 9, 30))
        urgent = _file(cast, 1, priority=desk.p1)[0]  # due 10:30 on the 24/7 calendar
        with scope(tenant=cast.tenant_a):
            waiting = ticket_change_status(
                ticket=_file(cast, 1)[0],
                status=Status.PENDING,
                actor=cast.agent,
                channel=Channel.PORTAL,
            )
        response = api_client_for(cast.agent, cast.tenant_a).get("/api/v1/tickets/")
    assert response.status_code == 200
    refs = [row["reference"] for row in _api_rows(response)]
    assert refs == [urgent.reference, normal.reference, waiting.reference]
    first = _api_rows(response)[0]
    assert first["urgency"] == "urgency-soon"
    assert first["business_seconds_left"] == 3600


def test_keyset_pages_walk_the_whole_queue_without_repeats_or_gaps(cast: Cast, desk: Desk) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=True):
        tickets = _file(cast, 7)
        with scope(tenant=cast.tenant_a):
            for ticket in tickets[:2]:
                ticket_change_status(
                    ticket=ticket, status=Status.PENDING, actor=cast.agent, channel=Channel.PORTAL
                )
        client = api_client_for(cast.agent, cast.tenant_a)
        seen: list[str] = []
        url: str | None = "/api/v1/tickets/?page_size=3"
        while url:
            body = client.get(url).json()
            seen += [row["reference"] for row in body["results"]]
            url = body["next"]
    assert sorted(seen) == sorted(t.reference for t in tickets)
    assert len(seen) == len(set(seen))
    assert seen[-2:] == [tickets[0].reference, tickets[1].reference]  # paused, by id, last


@pytest.mark.parametrize("size", [5, 50])
def test_a_queue_page_costs_the_same_number_of_queries_whatever_its_size_and_depth(
    cast: Cast, desk: Desk, django_assert_max_num_queries: object, size: int
) -> None:
    _file(cast, 60)
    client = api_client_for(cast.agent, cast.tenant_a)
    first = client.get(f"/api/v1/tickets/?page_size={size}").json()
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        deep = client.get(first["next"])
    assert deep.status_code == 200
    browser = client_for(cast.agent, cast.tenant_a)
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        page = browser.get(reverse("tickets:queue"))
    assert page.status_code == 200
    assert b"Question 1" in page.content


def test_filters_select_mine_unassigned_breached_and_search(cast: Cast, desk: Desk) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        mine, other, late = _file(cast, 3)
        with scope(tenant=cast.tenant_a):
            ticket_assign(ticket=mine, assignee=cast.agent, actor=cast.agent)
            ticket_assign(ticket=other, assignee=cast.admin, actor=cast.agent)
        traveller.move_to(at(2026, 3, 2, 10, 0))
        late_p1 = _file(cast, 1, priority=desk.p1)[0]
        traveller.move_to(at(2026, 3, 2, 12, 0))
        client = api_client_for(cast.agent, cast.tenant_a)

        def refs(query: str) -> set[str]:
            return {r["reference"] for r in _api_rows(client.get(f"/api/v1/tickets/?{query}"))}

        assert refs("view=mine") == {mine.reference}
        assert refs("view=unassigned") == {late.reference, late_p1.reference}
        assert refs("breached=1") == {late_p1.reference}
        assert refs("due_within=61") == {
            mine.reference,
            other.reference,
            late.reference,
            late_p1.reference,
        }
        assert refs("due_within=30") == {late_p1.reference}
        assert refs(f"priority={desk.p1.pk}") == {late_p1.reference}
        assert refs(f"q={late.reference}") == {late.reference}
        assert refs("q=carla") == {
            mine.reference,
            other.reference,
            late.reference,
            late_p1.reference,
        }
        assert refs("status=solved") == set()


def test_the_queue_never_shows_another_tenants_tickets(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_b):
        ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Secret {B_MARKER}",
            description="",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
    _file(cast, 1)
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:queue") + "?status=all")
    api = api_client_for(cast.agent, cast.tenant_a).get("/api/v1/tickets/?status=all")
    assert B_MARKER.encode() not in page.content and B_MARKER.encode() not in api.content
    assert len(_api_rows(api)) == 1


def test_bulk_assign_assigns_only_the_tenants_own_tickets(cast: Cast, desk: Desk) -> None:
    ours = _file(cast, 2)
    with scope(tenant=cast.tenant_b):
        theirs = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject="B",
            description="",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:queue-assign"),
        {"tickets": [ours[0].pk, ours[1].pk, theirs.pk], "assignee": cast.agent.pk},
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert set(Ticket.objects.values_list("assignee", flat=True)) == {cast.agent.pk}
    with scope(tenant=cast.tenant_b):
        theirs.refresh_from_db()
        assert theirs.assignee is None
    api = api_client_for(cast.agent, cast.tenant_a).post(
        "/api/v1/tickets/bulk-assign/",
        json.dumps({"tickets": [ours[0].pk], "assignee": None}),
        content_type="application/json",
    )
    assert api.json() == {"assigned": 1}


def test_a_manager_may_read_the_queue_but_not_assign(cast: Cast, desk: Desk) -> None:
    ticket = _file(cast, 1)[0]
    client = client_for(cast.manager, cast.tenant_a)
    assert client.get(reverse("tickets:queue")).status_code == 200
    response = client.post(
        reverse("tickets:queue-assign"), {"tickets": [ticket.pk], "assignee": cast.agent.pk}
    )
    assert response.status_code == 404
    api = api_client_for(cast.manager, cast.tenant_a)
    assert api.get("/api/v1/tickets/").status_code == 200
    denied = api.post(
        "/api/v1/tickets/bulk-assign/",
        json.dumps({"tickets": [ticket.pk], "assignee": None}),
        content_type="application/json",
    )
    assert denied.status_code in (403, 404)
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert ticket.assignee is None


def test_bad_queue_parameters_fall_back_instead_of_failing(cast: Cast, desk: Desk) -> None:
    _file(cast, 1)
    client = api_client_for(cast.agent, cast.tenant_a)
    response = client.get("/api/v1/tickets/?cursor=%%%&priority=abc&due_within=-5&status=nope")
    assert response.status_code == 200
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:queue") + "?cursor=bm9wZQ")
    assert page.status_code == 200


def test_a_contact_name_search_is_case_insensitive(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        other = Contact.objects.create(
            tenant=cast.tenant_a,
            organisation=cast.org_a,
            name="Örjan Östlund",
            email="o@orga.example.test",
        )
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=other,
            subject="Hej",
            description="",
            channel=Channel.EMAIL,
        )
    rows = _api_rows(api_client_for(cast.agent, cast.tenant_a).get("/api/v1/tickets/?q=o%40orga"))
    assert [r["reference"] for r in rows] == [ticket.reference]


def test_the_queue_page_escapes_what_customers_wrote(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="<script>alert(\"x\")</script> & 'quotes'",
            description="",
            channel=Channel.EMAIL,
        )
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:queue")).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quotes&#x27;" in page
