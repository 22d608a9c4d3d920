"""Collision detection on the agent's ticket page: who else is on it and typing (heartbeats
kept in the cache, per tenant and ticket), and a reply written on an out-of-date page is
kept, not sent, until the agent sends it anyway."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from supportdesk.models import Membership, Role, User
from tests.conftest import Cast, client_for
from tickets.choices import Channel, Status
from tickets.models import Macro, Message, Ticket
from tickets.presence import PRESENCE_TTL, presence_key, presence_list, presence_touch
from tickets.services import ticket_create, ticket_reply

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)


def _ticket(cast: Cast, tenant: str = "a") -> Ticket:
    if tenant == "b":
        with scope(tenant=cast.tenant_b):
            return ticket_create(
                tenant=cast.tenant_b,
                requester=cast.contact_b,
                subject="B's ticket",
                description="Only B's staff see this.",
                channel=Channel.EMAIL,
                enforce_entitlement=False,
            )
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Export fails",
            description="Every export ends with an error.",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )


def _beat(user: User, cast: Cast, ticket: Ticket, **data: str) -> str:
    response = client_for(user, cast.tenant_a).post(
        reverse("tickets:ticket-presence", args=[ticket.pk]), data
    )
    assert response.status_code == 200
    return response.content.decode()


# --- presence ------------------------------------------------------------------------------


def test_presence_lists_who_is_on_each_ticket_by_name(cast: Cast) -> None:
    first, second = _ticket(cast), _ticket(cast)
    presence_touch(ticket=first, user=cast.agent, typing=True)
    presence_touch(ticket=first, user=cast.admin, typing=False)
    presence_touch(ticket=second, user=cast.manager, typing=False)

    assert [(p.user_id, p.typing) for p in presence_list(ticket=first)] == sorted(
        [(cast.agent.pk, True), (cast.admin.pk, False)],
        key=lambda pair: str(User.objects.get(pk=pair[0])).casefold(),
    )
    assert [p.user_id for p in presence_list(ticket=second)] == [cast.manager.pk]


def test_a_later_heartbeat_replaces_the_earlier_one(cast: Cast) -> None:
    ticket = _ticket(cast)
    presence_touch(ticket=ticket, user=cast.agent, typing=True)
    presence_touch(ticket=ticket, user=cast.agent, typing=False)
    assert [(p.user_id, p.typing) for p in presence_list(ticket=ticket)] == [(cast.agent.pk, False)]


def test_presence_expires_without_a_heartbeat(cast: Cast) -> None:
    ticket = _ticket(cast)
    with time_machine.travel(NOON, tick=False) as clock:
        presence_touch(ticket=ticket, user=cast.agent, typing=False)
        clock.shift(dt.timedelta(seconds=PRESENCE_TTL - 1))
        presence_touch(ticket=ticket, user=cast.admin, typing=False)
        assert {p.user_id for p in presence_list(ticket=ticket)} == {cast.agent.pk, cast.admin.pk}
        clock.shift(dt.timedelta(seconds=1))
        assert [p.user_id for p in presence_list(ticket=ticket)] == [cast.admin.pk]
        clock.shift(dt.timedelta(seconds=PRESENCE_TTL))
        assert presence_list(ticket=ticket) == []


def test_tenants_never_share_a_presence_key(cast: Cast) -> None:
    ticket_a, ticket_b = _ticket(cast), _ticket(cast, "b")
    presence_touch(ticket=ticket_a, user=cast.agent, typing=True)
    # The same ticket id under another tenant is another key, and lists nobody.
    twin = Ticket(pk=ticket_a.pk, tenant_id=cast.tenant_b.pk)
    assert presence_key(twin) != presence_key(ticket_a)
    assert presence_list(ticket=twin) == []
    assert presence_list(ticket=ticket_b) == []
    presence_touch(ticket=ticket_b, user=cast.agent_b, typing=False)
    assert [p.user_id for p in presence_list(ticket=ticket_a)] == [cast.agent.pk]


def test_the_heartbeat_shows_the_others_viewing_and_typing_but_not_oneself(cast: Cast) -> None:
    ticket = _ticket(cast)
    cast.admin.first_name = "Adam"
    cast.admin.save(update_fields=["first_name"])
    _beat(cast.admin, cast, ticket)
    html = _beat(cast.agent, cast, ticket, typing="1")
    assert "Adam is viewing" in html
    assert "a-agent" not in html

    html = _beat(cast.admin, cast, ticket)
    assert "a-agent@example.test is typing a reply" in html
    assert "Adam" not in html


def test_a_manager_is_listed_as_viewing_never_as_typing(cast: Cast) -> None:
    ticket = _ticket(cast)
    _beat(cast.manager, cast, ticket, typing="1")
    assert [(p.user_id, p.typing) for p in presence_list(ticket=ticket)] == [
        (cast.manager.pk, False)
    ]
    html = _beat(cast.agent, cast, ticket)
    assert "a-manager@example.test is viewing" in html


def test_the_heartbeat_tells_the_page_when_the_ticket_moved_on(cast: Cast) -> None:
    ticket = _ticket(cast)
    seen = ticket.version
    assert "New activity on this ticket" not in _beat(cast.agent, cast, ticket, version=str(seen))
    with scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket,
            body="Any news?",
            public=True,
            channel=Channel.EMAIL,
            author_contact=cast.customer_contact,
        )
    assert "New activity on this ticket" in _beat(cast.agent, cast, ticket, version=str(seen))


def test_another_tenants_ticket_is_a_404_and_records_nothing(cast: Cast) -> None:
    ticket_b = _ticket(cast, "b")
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:ticket-presence", args=[ticket_b.pk]), {"typing": "1"}
    )
    assert response.status_code == 404
    assert presence_list(ticket=ticket_b) == []


def test_a_customer_gets_404_from_the_heartbeat(cast: Cast) -> None:
    ticket = _ticket(cast)
    response = client_for(cast.customer, cast.tenant_a).post(
        reverse("tickets:ticket-presence", args=[ticket.pk]), {"typing": "1"}
    )
    assert response.status_code == 404
    assert presence_list(ticket=ticket) == []


def test_a_bad_version_in_the_heartbeat_is_a_400(cast: Cast) -> None:
    ticket = _ticket(cast)
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:ticket-presence", args=[ticket.pk]), {"version": "x"}
    )
    assert response.status_code == 400


def test_the_heartbeat_costs_the_same_queries_however_many_are_on_the_page(cast: Cast) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-presence", args=[ticket.pk])
    client.post(url)  # the session is read once into the cache

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.post(url, {"typing": "1", "version": "1"}).status_code == 200
        return len(queries)

    alone = count()
    with scopes_disabled():
        for n in range(5):
            user = User.objects.create_user(username=f"extra-{n}", email=f"x{n}@example.test")
            Membership.objects.create(tenant=cast.tenant_a, user=user, role=Role.AGENT)
            presence_touch(ticket=ticket, user=user, typing=n % 2 == 0)
    assert count() == alone
    # The signed-in user, the tenant, the ticket (the session comes from the cache).
    assert alone == 3


# --- the stale reply ------------------------------------------------------------------------


def _reply(cast: Cast, ticket: Ticket, **data: object) -> tuple[int, str]:
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:ticket-reply", args=[ticket.pk]), {"public": "1", **data}
    )
    return response.status_code, response.content.decode()


def _replied_meanwhile(cast: Cast, ticket: Ticket) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket,
            body="I am on it already.",
            public=True,
            channel=Channel.PORTAL,
            author=cast.admin,
        )


def _bodies(ticket: Ticket) -> list[str]:
    with scopes_disabled():
        return list(Message.objects.filter(ticket=ticket).values_list("body", flat=True))


def test_the_page_carries_the_version_it_was_rendered_at(cast: Cast) -> None:
    ticket = _ticket(cast)
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:ticket", args=[ticket.pk]))
    html = page.content.decode()
    assert f'name="version" value="{ticket.version}"' in html
    assert f'data-presence-version="{ticket.version}"' in html


def test_a_reply_at_the_current_version_is_sent(cast: Cast) -> None:
    ticket = _ticket(cast)
    status, _html = _reply(cast, ticket, body="Looking into it.", version=str(ticket.version))
    assert status == 302
    assert any("Looking into it." in body for body in _bodies(ticket))


def test_a_stale_reply_is_kept_and_not_sent(cast: Cast) -> None:
    ticket = _ticket(cast)
    seen = ticket.version
    _replied_meanwhile(cast, ticket)
    status, html = _reply(cast, ticket, body="Have you tried restarting?", version=str(seen))
    assert status == 200
    assert "Someone replied meanwhile: read it, then send again." in html
    assert "Have you tried restarting?</textarea>" in html
    assert "I am on it already." in html  # the news is on the page
    assert 'name="send_anyway" value="1"' in html
    ticket.refresh_from_db()
    assert f'name="version" value="{ticket.version}"' in html  # sending again now goes
    assert not any("restarting" in body for body in _bodies(ticket))


def test_a_status_change_meanwhile_makes_the_reply_stale_too(cast: Cast) -> None:
    ticket = _ticket(cast)
    seen = ticket.version
    client_for(cast.admin, cast.tenant_a).post(
        reverse("tickets:ticket-status", args=[ticket.pk]), {"status": Status.PENDING}
    )
    status, html = _reply(cast, ticket, body="Hello", version=str(seen))
    assert status == 200
    assert "Someone replied meanwhile" in html


def test_send_anyway_sends_the_stale_reply(cast: Cast) -> None:
    ticket = _ticket(cast)
    seen = ticket.version
    _replied_meanwhile(cast, ticket)
    status, _html = _reply(
        cast, ticket, body="Have you tried restarting?", version=str(seen), send_anyway="1"
    )
    assert status == 302
    assert any("restarting" in body for body in _bodies(ticket))


def test_a_stale_reply_with_a_macro_is_kept_and_applies_nothing(cast: Cast) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        macro = Macro.objects.create(
            tenant=cast.tenant_a, name="Ask for logs", body="Logs?", set_status=Status.PENDING
        )
    seen = ticket.version
    _replied_meanwhile(cast, ticket)
    status, html = _reply(cast, ticket, body="Logs please.", version=str(seen), macro=macro.pk)
    assert status == 200
    assert "Someone replied meanwhile" in html
    assert f'name="macro" value="{macro.pk}"' in html
    assert "Macro: Ask for logs" in html
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    with scope(tenant=cast.tenant_a):
        assert Macro.objects.get(pk=macro.pk).usage_count == 0
    assert not any("Logs please." in body for body in _bodies(ticket))

    status, _html = _reply(
        cast, ticket, body="Logs please.", version=str(seen), macro=macro.pk, send_anyway="1"
    )
    assert status == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    with scope(tenant=cast.tenant_a):
        assert Macro.objects.get(pk=macro.pk).usage_count == 1
