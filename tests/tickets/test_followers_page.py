"""The copied-contact and follower boxes of the agent's ticket page (issue 16, item 11):
an agent copies a contact of the ticket's organisation by address and takes them off, adds
another agent of the tenant as an internal follower and removes them; every bad input
(another organisation's or tenant's contact, an unknown address, someone on it already) is a
clear message that saves nothing; and the people added hear of the public reply by mail,
through the event outbox and the mail outbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django_scopes import scope

from contracts.models import Contact
from notifications.services import deliveries_relay
from supportdesk.models import User
from tests.conftest import Cast, client_for
from tickets.mail.models import OutboundEmail, OutboundKind
from tickets.mail.services import mail_send
from tickets.models import EventKind, Ticket, TicketEvent

from .test_followers import _olle, _ticket

pytestmark = pytest.mark.django_db

NILS = "nils@orga.example.test"


def _state(cast: Cast, ticket: Ticket) -> tuple[Any, ...]:
    """Who is on the ticket, its events and the tenant's contacts: a refusal changes none of
    them (no contact is made for an address either)."""
    with scope(tenant=cast.tenant_a):
        fresh = Ticket.objects.get(pk=ticket.pk)
        return (
            sorted(fresh.cc.values_list("pk", flat=True)),
            sorted(fresh.followers.values_list("pk", flat=True)),
            TicketEvent.objects.filter(ticket=ticket).count(),
            Contact.objects.count(),
        )


def _post(
    cast: Cast, ticket: Ticket, name: str, data: dict[str, Any], user: User | None = None
) -> str:
    """POST one of the boxes' forms as ``user`` (the agent); the page it leads back to."""
    client = client_for(user or cast.agent, cast.tenant_a)
    url = reverse(f"tickets:{name}", kwargs={"ticket_id": ticket.pk})
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/agent/tickets/{ticket.pk}/"
    return response.content.decode()


def _kinds(cast: Cast, ticket: Ticket, *kinds: str) -> list[TicketEvent]:
    with scope(tenant=cast.tenant_a):
        return list(TicketEvent.objects.filter(ticket=ticket, kind__in=kinds).order_by("pk"))


# --- Copied contacts --------------------------------------------------------------------


def test_an_agent_copies_a_contact_of_the_organisation_by_address_and_takes_them_off(
    cast: Cast,
) -> None:
    ticket = _ticket(cast)
    olle = _olle(cast)
    page = client_for(cast.agent, cast.tenant_a).get(
        reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
    )
    offered = page.content.decode()
    assert f'<option value="{NILS}">Nils Named</option>' in offered  # the organisation's
    assert olle.email not in offered and "bob@orgb.test" not in offered

    copied = _post(cast, ticket, "ticket-cc", {"contact": "Nils@OrgA.example.test"})
    assert "Nils Named is now copied on the ticket." in copied
    assert "Stop copying Nils Named" in copied  # the box now offers to take him off
    with scope(tenant=cast.tenant_a):
        assert list(ticket.cc.all()) == [cast.named_contact]
    (added,) = _kinds(cast, ticket, EventKind.CC_ADDED)
    assert (added.actor_id, added.new_value, added.by_staff) == (cast.agent.pk, "Nils Named", True)

    removed = _post(cast, ticket, "ticket-cc-remove", {"contact": NILS})
    assert "Nils Named is no longer copied on the ticket." in removed
    with scope(tenant=cast.tenant_a):
        assert not ticket.cc.exists()
    assert len(_kinds(cast, ticket, EventKind.CC_ADDED, EventKind.CC_REMOVED)) == 2


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("olle@other.test", "Only colleagues of the ticket&#x27;s organisation can be copied."),
        ("bob@orgb.test", "No contact has the e-mail address bob@orgb.test."),  # tenant B's
        ("nobody@orga.example.test", "No contact has the e-mail address nobody@orga.example.test."),
        ("nils at orga", "Enter a valid email address."),
    ],
)
def test_copying_anyone_but_a_contact_of_the_organisation_is_refused_and_saves_nothing(
    cast: Cast, address: str, said: str
) -> None:
    ticket = _ticket(cast)
    _olle(cast)  # of another organisation of tenant A
    before = _state(cast, ticket)
    page = _post(cast, ticket, "ticket-cc", {"contact": address})
    assert said in page
    assert "is now copied" not in page
    assert _state(cast, ticket) == before


@pytest.mark.parametrize(
    ("form", "address", "said"),
    [
        ("ticket-cc", NILS, "Nils Named is already on the ticket."),
        ("ticket-cc", "carla@orga.example.test", "Carla Customer is already on the ticket."),
        ("ticket-cc-remove", "olle@other.test", "Olle Other was not copied on the ticket."),
        ("ticket-cc-remove", "bob@orgb.test", "No contact has the e-mail address bob@orgb.test."),
    ],
)
def test_copying_someone_on_it_or_removing_someone_not_on_it_says_so_and_writes_nothing(
    cast: Cast, form: str, address: str, said: str
) -> None:
    ticket = _ticket(cast)  # Carla's, with Nils copied
    _olle(cast)
    _post(cast, ticket, "ticket-cc", {"contact": NILS})
    before = _state(cast, ticket)
    assert said in _post(cast, ticket, form, {"contact": address})
    assert _state(cast, ticket) == before


# --- Internal followers -----------------------------------------------------------------


def test_an_agent_adds_a_colleague_as_follower_and_removes_them(cast: Cast) -> None:
    ticket = _ticket(cast)
    page = client_for(cast.agent, cast.tenant_a).get(
        reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
    )
    offered = page.content.decode().split('id="id_follower_agent"')[1].split("</select>")[0]
    assert f'value="{cast.admin.pk}"' in offered
    for not_offered in (cast.agent, cast.manager, cast.agent_b, cast.customer):
        assert f'value="{not_offered.pk}"' not in offered  # oneself: the Follow button

    added = _post(cast, ticket, "ticket-follower-add", {"agent": cast.admin.pk})
    assert f"{cast.admin} now follows this ticket." in added
    with scope(tenant=cast.tenant_a):
        assert list(ticket.followers.all()) == [cast.admin]
    (event,) = _kinds(cast, ticket, EventKind.FOLLOWED)
    assert (event.actor_id, event.is_public) == (cast.agent.pk, False)

    again = _post(cast, ticket, "ticket-follower-add", {"agent": cast.admin.pk})
    assert f"{cast.admin} follows this ticket already." in again
    assert len(_kinds(cast, ticket, EventKind.FOLLOWED)) == 1

    removed = _post(cast, ticket, "ticket-follower-remove", {"agent": cast.admin.pk})
    assert f"{cast.admin} no longer follows this ticket." in removed
    with scope(tenant=cast.tenant_a):
        assert not ticket.followers.exists()
    gone = _post(cast, ticket, "ticket-follower-remove", {"agent": cast.admin.pk})
    assert f"{cast.admin} did not follow this ticket." in gone
    assert len(_kinds(cast, ticket, EventKind.FOLLOWED, EventKind.UNFOLLOWED)) == 2


@pytest.mark.parametrize("agent", ["agent_b", "manager", "customer", "x", str(2**70)])
def test_only_agents_of_the_tenant_can_be_added_as_followers(cast: Cast, agent: str) -> None:
    ticket = _ticket(cast)
    before = _state(cast, ticket)
    value = getattr(cast, agent).pk if hasattr(cast, agent) else agent  # else: not an id
    page = _post(cast, ticket, "ticket-follower-add", {"agent": value})
    assert "Only agents of this organisation can follow." in page
    assert _state(cast, ticket) == before


def test_another_tenants_agent_cannot_reach_the_boxes(cast: Cast) -> None:
    ticket = _ticket(cast)
    before = _state(cast, ticket)
    client = client_for(cast.agent_b, cast.tenant_b)
    for name, data in (
        ("ticket-cc", {"contact": NILS}),
        ("ticket-follower-add", {"agent": cast.agent_b.pk}),
    ):
        url = reverse(f"tickets:{name}", kwargs={"ticket_id": ticket.pk})
        assert client.post(url, data).status_code == 404
    assert _state(cast, ticket) == before


def test_a_manager_sees_who_is_on_the_ticket_but_no_forms(cast: Cast) -> None:
    ticket = _ticket(cast)
    _post(cast, ticket, "ticket-cc", {"contact": NILS})
    _post(cast, ticket, "ticket-follower-add", {"agent": cast.admin.pk})
    page = client_for(cast.manager, cast.tenant_a).get(
        reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
    )
    text = page.content.decode()
    assert "Nils Named" in text and str(cast.admin) in text
    assert f"/agent/tickets/{ticket.pk}/cc/" not in text
    assert f"/agent/tickets/{ticket.pk}/followers/" not in text


def test_the_boxes_speak_swedish(cast: Cast) -> None:
    ticket = _ticket(cast)
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get(reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk}))
    assert "Kopiera en kontaktperson" in page.content.decode()
    assert "Lägg till en följare" in page.content.decode()
    url = reverse("tickets:ticket-follower-add", kwargs={"ticket_id": ticket.pk})
    added = client.post(url, {"agent": cast.admin.pk}, follow=True)
    assert f"{cast.admin} följer nu det här ärendet." in added.content.decode()


# --- The mail they get ------------------------------------------------------------------


def test_the_people_added_on_the_page_get_the_next_public_reply_through_the_outboxes(
    cast: Cast,
) -> None:
    ticket = _ticket(cast)
    _post(cast, ticket, "ticket-cc", {"contact": NILS})
    _post(cast, ticket, "ticket-follower-add", {"agent": cast.admin.pk})
    _post(cast, ticket, "ticket-reply", {"body": "The fix is out.", "public": "1"})

    deliveries_relay()  # the event outbox: the mail handler runs for the reply's events
    with scope(tenant=cast.tenant_a):
        reply_mails = [
            m for m in OutboundEmail.objects.filter(ticket=ticket) if "The fix is out." in m.body
        ]
        to = {m.to_address: m.kind for m in reply_mails}
        assert to[cast.admin.email] == OutboundKind.AGENT_FOLLOWER
        assert {NILS, cast.customer_contact.email} <= set(to)
        assert cast.agent.email not in to  # never one's own reply
        mail.outbox.clear()
        for outbound in reply_mails:  # the mail outbox: what the send task does
            mail_send(outbound_id=outbound.pk)
    sent = {tuple(m.to): m.body for m in mail.outbox}
    assert "The fix is out." in sent[(cast.admin.email,)]
    assert "The fix is out." in sent[(NILS,)]
