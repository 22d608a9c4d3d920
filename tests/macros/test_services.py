"""Rendering a macro for a ticket and sending a reply with one: its actions, their events,
the usage count, and whose macros may be used."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from supportdesk.models import AuditEvent, User
from tests.conftest import Cast, client_for
from tests.portal.conftest import Desk
from tickets.choices import Status, SupportLine
from tickets.macros.services import macro_preview, macro_save, ticket_reply_with_macro
from tickets.models import EventKind, Macro, Message, Ticket

pytestmark = pytest.mark.django_db


def _macro(cast: Cast, **fields: object) -> Macro:
    values: dict[str, object] = {"name": "Waiting", "body": "Hej {{ requester.first_name }}"}
    values.update(fields)
    with scope(tenant=cast.tenant_a):
        return macro_save(macro=Macro(tenant=cast.tenant_a, **values), actor=cast.admin)


def test_it_fills_in_the_requester_the_reference_and_the_due_time(
    cast: Cast, ticket: Ticket
) -> None:
    macro = _macro(
        cast,
        body="Hej {{ requester.first_name }}! {{ ticket.reference }} är svar senast "
        "{{ ticket.due }}. /{{ agent.first_name|default:'Support' }}",
    )
    cast.agent.first_name = "Anna"
    with scope(tenant=cast.tenant_a):
        text = macro_preview(macro=macro, ticket=ticket, agent=cast.agent)
    assert text.startswith(f"Hej Carla! {ticket.reference} är svar senast ")
    assert str(ticket.next_due_at.year) in text  # type: ignore[union-attr]
    assert text.endswith(" /Anna")


def test_a_macro_reaches_only_the_plain_values_it_is_given(cast: Cast, ticket: Ticket) -> None:
    """Even a text that skipped the check (written to the table directly) finds no model
    behind ``requester`` to walk to the portal user's password."""
    with scope(tenant=cast.tenant_a):
        macro = Macro.objects.create(
            tenant=cast.tenant_a,
            name="Sneaky",
            body="[{{ requester.user.password }}][{{ ticket.requester.email }}]",
        )
        text = macro_preview(macro=macro, ticket=ticket, agent=cast.agent)
    assert text == "[][]"


def test_sending_with_a_macro_applies_each_action_with_its_own_event(
    cast: Cast, desk: Desk, ticket: Ticket
) -> None:
    macro = _macro(
        cast,
        set_status=Status.PENDING,
        set_priority=desk.p2,
        assign_to_me=True,
        set_support_line=SupportLine.SECOND,
        note="Asked {{ requester.name }} for the log.",
    )
    with scope(tenant=cast.tenant_a):
        message = ticket_reply_with_macro(
            ticket=ticket, macro=macro, body="Hej Carla, skicka loggen.", public=True,
            actor=cast.agent,
        )  # fmt: skip
        ticket.refresh_from_db()
        kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
        note = Message.objects.get(ticket=ticket, is_public=False)
        macro.refresh_from_db()
    assert message.is_public and message.body == "Hej Carla, skicka loggen."
    assert (ticket.status, ticket.priority_id, ticket.assignee_id, ticket.support_line) == (
        Status.PENDING,
        desk.p2.pk,
        cast.agent.pk,
        SupportLine.SECOND,
    )
    assert kinds == [
        EventKind.CREATED,
        EventKind.REPLIED,
        EventKind.STATUS_CHANGED,  # new -> open, the first public reply
        EventKind.NOTE_ADDED,
        EventKind.PRIORITY_CHANGED,
        EventKind.ASSIGNED,
        EventKind.LINE_CHANGED,
        EventKind.STATUS_CHANGED,  # open -> pending, the macro's
    ]
    assert note.body == "Asked Carla Customer for the log."
    assert macro.usage_count == 1 and macro.last_used_at is not None


def test_usage_is_counted_per_macro(cast: Cast, ticket: Ticket) -> None:
    used, unused = _macro(cast, name="Used"), _macro(cast, name="Unused")
    with scope(tenant=cast.tenant_a):
        for text in ("One", "Two"):
            ticket_reply_with_macro(
                ticket=ticket, macro=used, body=text, public=True, actor=cast.agent
            )
    used.refresh_from_db()
    unused.refresh_from_db()
    assert (used.usage_count, unused.usage_count) == (2, 0)


def test_an_action_the_ticket_refuses_saves_nothing_not_even_the_reply(
    cast: Cast, ticket: Ticket
) -> None:
    macro = _macro(cast, set_status=Status.PENDING, note="Noted.")
    with scope(tenant=cast.tenant_a):
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.SOLVED)
        ticket.refresh_from_db()
        events = ticket.events.count()
        with pytest.raises(ValidationError):
            ticket_reply_with_macro(
                ticket=ticket, macro=macro, body="Hej", public=True, actor=cast.agent
            )
        assert ticket.events.count() == events
        assert not Message.objects.filter(ticket=ticket, body__in=["Hej", "Noted."]).exists()
    macro.refresh_from_db()
    assert macro.usage_count == 0


def test_a_macro_cannot_close_a_ticket(cast: Cast) -> None:
    with pytest.raises(ValidationError) as caught:
        _macro(cast, set_status=Status.CLOSED)
    assert "set_status" in caught.value.message_dict


def test_another_agents_personal_macro_is_a_404_when_sent(
    cast: Cast, ticket: Ticket, other_agent: User
) -> None:
    with scope(tenant=cast.tenant_a):
        theirs = Macro.objects.create(
            tenant=cast.tenant_a, owner=other_agent, name="Olle's", body="Hej"
        )
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-reply", args=[ticket.pk])
    response = client.post(url, {"body": "Hej", "public": "1", "macro": theirs.pk})
    assert response.status_code == 404
    with scope(tenant=cast.tenant_a):
        assert not Message.objects.filter(ticket=ticket, body="Hej").exists()
    search = client.get(reverse("macros:search", args=[ticket.pk]), {"q": "Olle"})
    assert search.json() == {"macros": []}
    # Its owner may use it.
    own = client_for(other_agent, cast.tenant_a).post(
        url, {"body": "Hej", "public": "1", "macro": theirs.pk}
    )
    assert own.status_code == 302
    theirs.refresh_from_db()
    assert theirs.usage_count == 1


def test_another_tenants_macro_is_a_404_when_sent(cast: Cast, ticket: Ticket) -> None:
    with scope(tenant=cast.tenant_b):
        foreign = Macro.objects.create(tenant=cast.tenant_b, name="Theirs", body="Hej")
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-reply", args=[ticket.pk])
    response = client.post(url, {"body": "Hej", "public": "1", "macro": foreign.pk})
    assert response.status_code == 404
    with scope(tenant=cast.tenant_a):
        assert not Message.objects.filter(ticket=ticket, body="Hej").exists()
    with scope(tenant=cast.tenant_a), pytest.raises(ValidationError):
        ticket_reply_with_macro(
            ticket=ticket, macro=foreign, body="Hej", public=True, actor=cast.agent
        )


def test_the_reply_box_search_renders_the_matches_for_the_ticket(
    cast: Cast, ticket: Ticket
) -> None:
    _macro(cast, name="Väntar på svar", set_status=Status.PENDING)
    _macro(cast, name="Tack", body="Tack {{ requester.name }}")
    client = client_for(cast.agent, cast.tenant_a)
    found = client.get(reverse("macros:search", args=[ticket.pk]), {"q": "vänt"}).json()
    assert found["macros"] == [
        {
            "id": found["macros"][0]["id"],
            "name": "Väntar på svar",
            "shared": True,
            "body": "Hej Carla",
            "actions": ["Status: Waiting on customer"],
        }
    ]


def test_saving_a_macro_is_audited_and_an_unchanged_save_is_not(cast: Cast) -> None:
    macro = _macro(cast)
    with scope(tenant=cast.tenant_a):
        assert AuditEvent.objects.filter(object_type="tickets.macro").count() == 1
        macro_save(macro=macro, actor=cast.admin)
        assert AuditEvent.objects.filter(object_type="tickets.macro").count() == 1


def test_the_search_costs_the_same_queries_for_one_match_or_ten(
    cast: Cast, desk: Desk, ticket: Ticket
) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("macros:search", args=[ticket.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"q": "Svar"}).status_code == 200
        return len(captured)

    _macro(cast, name="Svar 0", set_priority=desk.p1, set_assignee=cast.agent)
    one = queries()
    for n in range(1, 10):
        _macro(cast, name=f"Svar {n}", set_priority=desk.p2, set_assignee=cast.admin)
    assert queries() == one
