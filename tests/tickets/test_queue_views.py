"""The queue as agents use it: sortable columns on keyset pages, chosen columns, saved views
(personal and shared) with counts in a sidebar, and the 30-second refresh of the rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from supportdesk.models import AuditEvent, Membership, Role, User
from tests.conftest import B_MARKER, Cast, client_for
from tickets.choices import Channel, Status, SupportLine
from tickets.models import AgentProfile, QueueView, Ticket
from tickets.queue import SORTS, QueueFilters, queue_page, queue_queryset
from tickets.services import ticket_change_status, ticket_create

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _file(cast: Cast, subject: str, **kwargs: object) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject=subject,
            description="",
            channel=Channel.EMAIL,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def tickets(cast: Cast, desk: Desk) -> list[Ticket]:
    """Nine tickets: three priorities and none, received in pairs at the same second (so the
    id breaks ties), updated in another order, one waiting on the customer (no due time)."""
    priorities = [desk.p3, desk.p1, None, desk.p2, desk.p1, desk.p3, None, desk.p2, desk.p1]
    filed = []
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        for i, priority in enumerate(priorities):
            traveller.move_to(at(2026, 3, 2, 9, i // 2))
            filed.append(_file(cast, f"Question {i}", priority=priority))
        with scope(tenant=cast.tenant_a):
            ticket_change_status(
                ticket=filed[4], status=Status.PENDING, actor=cast.agent, channel=Channel.PORTAL
            )
    with scope(tenant=cast.tenant_a):
        for i, ticket in enumerate(filed):
            # Updated: the reverse of filing, in pairs sharing a time.
            updated = at(2026, 3, 3, 12, 0) - dt.timedelta(minutes=i // 2)
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=updated)
        return list(Ticket.objects.select_related("priority", "schedule").order_by("id"))


def _expected(tickets: list[Ticket], sort: str) -> list[int]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    keys = {
        "due": lambda t: (t.schedule.due_at is None, t.schedule.due_at or far, t.pk),
        "priority": lambda t: (t.priority is None, t.priority.rank if t.priority else 0, t.pk),
        "updated": lambda t: (t.updated_at, t.pk),
        "received": lambda t: (t.received_at, t.pk),
        "reference": lambda t: (t.number,),
    }
    ordered = sorted(tickets, key=keys[sort.lstrip("-")], reverse=sort.startswith("-"))
    return [t.pk for t in ordered]


def _walk(cast: Cast, sort: str, size: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    with scope(tenant=cast.tenant_a):
        for _page in range(20):
            qs = queue_queryset(filters=QueueFilters(status="all"), user=cast.agent)
            page = queue_page(qs=qs, cursor=cursor, size=size, sort=sort)
            seen += [row.pk for row in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
    return seen


@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("size", [2, 3, 50])
def test_each_sort_order_is_right_and_stable_across_keyset_pages(
    cast: Cast, tickets: list[Ticket], sort: str, size: int
) -> None:
    assert _walk(cast, sort, size) == _expected(tickets, sort)


def test_a_cursor_of_another_order_starts_the_list_again(cast: Cast, tickets: list[Ticket]) -> None:
    with scope(tenant=cast.tenant_a):
        qs = queue_queryset(filters=QueueFilters(status="all"), user=cast.agent)
        by_due = queue_page(qs=qs, cursor=None, size=2)
        assert by_due.next_cursor
        page = queue_page(qs=qs, cursor=by_due.next_cursor, size=2, sort="-updated")
    assert [row.pk for row in page.rows] == _expected(tickets, "-updated")[:2]


def test_clicking_a_header_sorts_by_it_and_a_second_click_turns_the_order(
    cast: Cast, tickets: list[Ticket]
) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get(reverse("tickets:queue")).content.decode()
    link = re.search(r'<a href="\?([^"]*sort=-reference[^"]*)" data-sort-link>', page)
    assert link is not None
    newest = client.get(reverse("tickets:queue") + "?" + link.group(1).replace("&amp;", "&"))
    html = newest.content.decode()
    refs = re.findall(r'data-ticket="(\d+)"', html)
    assert [int(r) for r in refs] == _expected(tickets, "-reference")
    assert 'aria-sort="descending"' in html
    assert "sort=reference" in html  # the same header now offers oldest first


def test_unknown_sort_cursor_and_columns_fall_back_to_the_defaults(
    cast: Cast, tickets: list[Ticket]
) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    response = client.get(
        reverse("tickets:queue") + "?sort=subject;drop&cursor=%%%&columns=password&columns="
    )
    assert response.status_code == 200
    refs = [int(r) for r in re.findall(r'data-ticket="(\d+)"', response.content.decode())]
    assert refs == _expected(tickets, "due")
    head = response.content.decode().split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Requester" in head and "Updated" not in head
    bad_cursor = client.get(reverse("tickets:queue") + "?sort=-updated&cursor=LXVwZGF0ZWR8eHx5")
    assert bad_cursor.status_code == 200


def test_an_agent_chooses_the_columns_and_the_ticket_stays(cast: Cast, desk: Desk) -> None:
    _file(cast, "Printer on fire")
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(
        reverse("tickets:queue-columns"), {"columns": ["due", "updated"], "next": "/agent/queue/"}
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert AgentProfile.objects.get(user=cast.agent).queue_columns == [
            "due",
            "ticket",
            "updated",
        ]
    html = client.get(reverse("tickets:queue")).content.decode()
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Updated" in head and "Requester" not in head and "Ticket" in head
    assert "Printer on fire" in html
    refused = client.post(reverse("tickets:queue-columns"), {"columns": ["password"]})
    assert refused.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert AgentProfile.objects.get(user=cast.agent).queue_columns == [
            "due",
            "ticket",
            "updated",
        ]


@pytest.fixture
def other_agent(cast: Cast) -> User:
    user = User.objects.create_user(username="a-agent-2", first_name="Olle", password="x" * 20)
    with scope(tenant=cast.tenant_a):
        Membership.objects.create(tenant=cast.tenant_a, user=user, role=Role.AGENT)
    return user


def test_a_saved_view_applies_its_filters_sort_and_columns(cast: Cast, desk: Desk) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=True):
        p1_second = _file(cast, "Urgent second line", priority=desk.p1)
        p2_second = _file(cast, "High second line", priority=desk.p2)
        p1_first = _file(cast, "Urgent first line", priority=desk.p1)
        p3_second = _file(cast, "Normal second line", priority=desk.p3)
        with scope(tenant=cast.tenant_a):
            Ticket.objects.filter(pk__in=[p1_second.pk, p2_second.pk, p3_second.pk]).update(
                support_line=SupportLine.SECOND
            )
        client = client_for(cast.agent, cast.tenant_a)
        for priority in (desk.p1, desk.p2):
            response = client.post(
                reverse("tickets:queue-view-new"),
                {
                    "name": f"  {priority.key} 2nd line ",
                    "priority": str(priority.pk),
                    "line": "2",
                    "due_within": "600",
                    "sort": "-reference",
                    "columns": ["due", "priority"],
                    "cursor": "ignored",
                },
            )
            assert response.status_code == 302
        with scope(tenant=cast.tenant_a):
            view = QueueView.objects.get(name="P1 2nd line")
            assert view.owner == cast.agent
            assert view.filters == {"priority": str(desk.p1.pk), "line": "2", "due_within": "600"}
            assert AuditEvent.objects.filter(object_id=str(view.pk)).exists()
        page = client.get(reverse("tickets:queue") + f"?saved={view.pk}").content.decode()
    assert "Urgent second line" in page
    for other in ("High second line", "Urgent first line", "Normal second line"):
        assert other not in page
    assert p1_first.reference not in page
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Priority" in head and "Requester" not in head
    assert 'aria-sort="descending"' in head


def test_personal_views_are_their_owners_and_shared_ones_everyones(
    cast: Cast, desk: Desk, other_agent: User
) -> None:
    with scope(tenant=cast.tenant_a):
        mine = QueueView.objects.create(tenant=cast.tenant_a, owner=cast.agent, name="Mine")
        olles = QueueView.objects.create(tenant=cast.tenant_a, owner=other_agent, name="Olles")
        shared = QueueView.objects.create(tenant=cast.tenant_a, name="Team")
    with scope(tenant=cast.tenant_b):
        theirs = QueueView.objects.create(tenant=cast.tenant_b, name=f"B {B_MARKER}")
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get(reverse("tickets:queue")).content.decode()
    assert f"?saved={mine.pk}" in page and f"?saved={shared.pk}" in page
    assert "Olles" not in page and B_MARKER not in page
    for view in (olles, theirs):
        assert client.get(reverse("tickets:queue") + f"?saved={view.pk}").status_code == 404
    assert client.get(reverse("tickets:queue") + "?saved=abc").status_code == 404
    # An agent may not share a view, nor delete a shared one or another agent's.
    shared_post = client.post(reverse("tickets:queue-view-new"), {"name": "X", "shared": "1"})
    assert shared_post.status_code == 404
    for view in (shared, olles, theirs):
        url = reverse("tickets:queue-view-delete", args=[view.pk])
        assert client.post(url).status_code == 404
    assert client.post(reverse("tickets:queue-view-delete", args=[mine.pk])).status_code == 302
    admin = client_for(cast.admin, cast.tenant_a)
    response = admin.post(reverse("tickets:queue-view-new"), {"name": "Everyone", "shared": "1"})
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert QueueView.objects.get(name="Everyone").owner is None
        assert not QueueView.objects.filter(pk=mine.pk).exists()
    assert admin.post(reverse("tickets:queue-view-delete", args=[shared.pk])).status_code == 302


def test_a_bad_view_is_an_error_on_the_page_and_saves_nothing(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    for data in (
        {"name": "   "},
        {"name": "Bad sort", "sort": "subject"},
        {"name": "Bad column", "columns": ["password"]},
        {"name": "x" * 101},
    ):
        response = client.post(reverse("tickets:queue-view-new"), data, follow=True)
        assert response.status_code == 200
        assert list(response.context["messages"])
    with scope(tenant=cast.tenant_a):
        assert not QueueView.objects.exists()


def _counts(html: str) -> dict[str, int]:
    return {
        name: int(count)
        for name, count in re.findall(
            r'\?saved=\d+"[^>]*>([^<]+)</a> <span class="badge" data-view-count>(\d+)</span>', html
        )
    }


def test_the_sidebar_counts_the_tickets_of_each_view(cast: Cast, desk: Desk) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=True):
        for priority in (desk.p1, desk.p1, desk.p2, desk.p3):
            _file(cast, "Question", priority=priority)
        with scope(tenant=cast.tenant_a):
            QueueView.objects.create(
                tenant=cast.tenant_a, name="P1", filters={"priority": str(desk.p1.pk)}
            )
            QueueView.objects.create(
                tenant=cast.tenant_a, owner=cast.agent, name="Everything", filters={}
            )
            QueueView.objects.create(
                tenant=cast.tenant_a, owner=cast.agent, name="Nothing", filters={"q": "zzz"}
            )
        html = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:queue")).content
    assert _counts(html.decode()) == {"P1": 2, "Everything": 4, "Nothing": 0}


def test_the_queue_page_costs_the_same_queries_whatever_the_number_of_views_and_tickets(
    cast: Cast, desk: Desk
) -> None:
    client = client_for(cast.agent, cast.tenant_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("tickets:queue") + "?sort=priority").status_code == 200
        return len(ctx)

    def grow(views: int, tickets: int) -> None:
        with scope(tenant=cast.tenant_a):
            for i in range(views):
                QueueView.objects.create(
                    tenant=cast.tenant_a,
                    owner=cast.agent,
                    name=f"View {i}",
                    filters={"priority": str(desk.p2.pk), "line": "2", "due_within": "120"},
                )
        for _i in range(tickets):
            _file(cast, "Question", priority=desk.p1)

    grow(1, 2)
    small = count()
    grow(6, 8)
    assert count() == small
    assert small <= 12


def test_a_refresh_gets_only_the_rows_and_keeps_the_ticked_ones_ticked(
    cast: Cast, desk: Desk
) -> None:
    first, second = _file(cast, "One"), _file(cast, "Two")
    client = client_for(cast.agent, cast.tenant_a)
    response = client.get(
        reverse("tickets:queue") + f"?sort=-reference&tickets={second.pk}&tickets=x",
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith("<tbody") and "<thead>" not in html and "<aside" not in html
    assert f'value="{second.pk}" aria-label="{second.reference}" checked' in html
    assert f'value="{first.pk}" aria-label="{first.reference}">' in html
    # The next refresh asks for the same page, without the ids ticked this time.
    assert 'hx-get="/agent/queue/?sort=-reference"' in html
    assert html.index(second.reference) < html.index(first.reference)
