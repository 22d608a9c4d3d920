"""Followers and CC (issue 16, item 11): colleagues of the same organisation copied in the
portal and the APIs, named contacts following their organisation's tickets, agents following
a ticket; who gets which mail; and every cross-organisation or cross-tenant attempt refused
with nothing saved."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scope

from contracts.models import Contact, NamedContact, Organisation
from notifications.channels.email import notify_by_mail
from supportdesk.models import Membership
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Channel
from tickets.followers.services import (
    contact_follow_organisation,
    ticket_cc_add,
    ticket_cc_remove,
    ticket_follow,
)
from tickets.mail.models import OutboundEmail, OutboundKind
from tickets.models import EventKind, Message, Ticket, TicketEvent
from tickets.services import ticket_create, ticket_reply

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _ticket(cast: Cast, subject: str = "Export fails") -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject=subject,
            description="It stops at 99 rows.",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )


def _olle(cast: Cast) -> Contact:
    """A contact of another organisation of the same tenant."""
    with scope(tenant=cast.tenant_a):
        org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        return Contact.objects.create(
            tenant=cast.tenant_a, organisation=org, name="Olle Other", email="olle@other.test"
        )


def _state(cast: Cast, ticket: Ticket) -> tuple[Any, ...]:
    with scope(tenant=cast.tenant_a):
        return (
            sorted(Ticket.objects.get(pk=ticket.pk).cc.values_list("pk", flat=True)),
            sorted(Ticket.objects.get(pk=ticket.pk).followers.values_list("pk", flat=True)),
            TicketEvent.objects.filter(ticket=ticket).count(),
        )


def _cc_events(cast: Cast, ticket: Ticket) -> list[TicketEvent]:
    with scope(tenant=cast.tenant_a):
        kinds = [EventKind.CC_ADDED, EventKind.CC_REMOVED]
        return list(TicketEvent.objects.filter(ticket=ticket, kind__in=kinds).order_by("pk"))


def _mails(cast: Cast, message: Message) -> list[OutboundEmail]:
    """Run the mail handler over the message's events; the mails it made."""
    with scope(tenant=cast.tenant_a):
        for event in TicketEvent.objects.filter(message=message):
            notify_by_mail(event)
        return list(OutboundEmail.objects.filter(ticket=message.ticket).order_by("pk"))


def _reply(cast: Cast, ticket: Ticket, *, public: bool = True, **author: Any) -> Message:
    with scope(tenant=cast.tenant_a):
        return ticket_reply(
            ticket=ticket, body="The fix is out.", public=public, channel=Channel.PORTAL, **author
        )


# --- The services -----------------------------------------------------------------------


def test_a_colleague_of_the_organisation_is_copied_and_the_event_says_who(cast: Cast) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        assert ticket_cc_add(
            ticket=ticket, contact=cast.named_contact, actor_contact=cast.customer_contact
        )
        assert not ticket_cc_add(  # already copied: nothing more is written
            ticket=ticket, contact=cast.named_contact, actor_contact=cast.customer_contact
        )
        assert list(ticket.cc.all()) == [cast.named_contact]
    (event,) = _cc_events(cast, ticket)
    assert event.kind == EventKind.CC_ADDED and event.new_value == "Nils Named"
    assert event.actor_contact_id == cast.customer_contact.pk and event.is_public


@pytest.mark.parametrize("who", ["other organisation", "other tenant"])
def test_a_contact_of_another_organisation_or_tenant_is_never_copied(cast: Cast, who: str) -> None:
    ticket = _ticket(cast)
    stranger = _olle(cast) if who == "other organisation" else cast.contact_b
    before = _state(cast, ticket)
    for actor in ({"actor_contact": cast.customer_contact}, {"actor": cast.agent}):
        with scope(tenant=cast.tenant_a), pytest.raises(ValidationError, match="colleagues"):
            ticket_cc_add(ticket=ticket, contact=stranger, **actor)
    assert _state(cast, ticket) == before


def test_a_contact_who_may_not_see_the_ticket_copies_nobody(cast: Cast) -> None:
    ticket = _ticket(cast)
    before = _state(cast, ticket)
    with scope(tenant=cast.tenant_a), pytest.raises(ValidationError, match="Unknown ticket"):
        ticket_cc_add(ticket=ticket, contact=cast.named_contact, actor_contact=_olle(cast))
    with scope(tenant=cast.tenant_a), pytest.raises(ValidationError, match="Only agents"):
        ticket_cc_add(ticket=ticket, contact=cast.named_contact, actor=cast.agent_b)
    assert _state(cast, ticket) == before


def test_removing_a_copied_colleague_is_an_event_and_removing_nobody_writes_nothing(
    cast: Cast,
) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        ticket_cc_add(ticket=ticket, contact=cast.named_contact, actor=cast.agent)
        assert ticket_cc_remove(ticket=ticket, contact=cast.named_contact, actor=cast.agent)
        assert not ticket_cc_remove(ticket=ticket, contact=cast.named_contact, actor=cast.agent)
        assert not ticket.cc.exists()
    assert [e.kind for e in _cc_events(cast, ticket)] == [EventKind.CC_ADDED, EventKind.CC_REMOVED]


def test_only_the_tenants_agents_follow_a_ticket(cast: Cast) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        for stranger in (cast.agent_b, cast.manager, cast.customer):
            with pytest.raises(ValidationError, match="Only agents"):
                ticket_follow(ticket=ticket, agent=stranger, actor=cast.agent)
        assert ticket_follow(ticket=ticket, agent=cast.admin, actor=cast.agent)
        event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.FOLLOWED)
        assert list(ticket.followers.all()) == [cast.admin]
    assert not event.is_public  # customers do not see who follows internally


def test_only_a_named_contact_follows_the_organisations_tickets(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError, match="named contacts"):
            contact_follow_organisation(contact=cast.named_contact, follows=True)
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
        contact_follow_organisation(contact=cast.named_contact, follows=True)
        assert Contact.objects.get(pk=cast.named_contact.pk).follows_organisation


# --- Who gets which mail ----------------------------------------------------------------


def test_copied_and_following_contacts_get_a_public_reply_once_and_no_internal_note(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast)
    olle = _olle(cast)
    with scope(tenant=cast.tenant_a):
        ticket_cc_add(ticket=ticket, contact=cast.named_contact, actor=cast.agent)
        for contact in (cast.named_contact, olle):  # Olle follows his own organisation only
            NamedContact.objects.create(
                tenant=cast.tenant_a, contract=desk.contract, contact=contact
            )
            Contact.objects.filter(pk=contact.pk).update(follows_organisation=True)
    note = _reply(cast, ticket, public=False, author=cast.agent)
    assert [m.to_address for m in _mails(cast, note)] == []
    reply = _reply(cast, ticket, author=cast.agent)
    to = sorted(m.to_address for m in _mails(cast, reply))
    assert to == ["carla@orga.example.test", "nils@orga.example.test"]


def test_a_following_named_contact_gets_replies_on_tickets_they_are_not_copied_on(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
    first = _mails(cast, _reply(cast, ticket, author=cast.agent))
    assert [m.to_address for m in first] == ["carla@orga.example.test"]  # not following yet
    with scope(tenant=cast.tenant_a):
        contact_follow_organisation(contact=cast.named_contact, follows=True)
    customer = _reply(cast, ticket, author_contact=cast.customer_contact)
    relayed = [m for m in _mails(cast, customer) if m.kind == OutboundKind.RELAYED_REPLY]
    assert [m.to_address for m in relayed] == ["nils@orga.example.test"]  # not to Carla


def test_internal_followers_get_replies_and_notes_but_never_their_own(cast: Cast) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        ticket_follow(ticket=ticket, agent=cast.admin, actor=cast.admin)
        ticket_follow(ticket=ticket, agent=cast.agent, actor=cast.agent)
    note = _reply(cast, ticket, public=False, author=cast.agent)
    follower_mails = [m for m in _mails(cast, note) if m.kind == OutboundKind.AGENT_FOLLOWER]
    assert [m.to_address for m in follower_mails] == [cast.admin.email]
    assert "internal note" in follower_mails[0].body
    reply = _reply(cast, ticket, author=cast.admin)
    new = [m for m in _mails(cast, reply) if m.kind == OutboundKind.AGENT_FOLLOWER]
    assert [m.to_address for m in new if m.pk != follower_mails[0].pk] == [cast.agent.email]


def test_a_follower_told_of_a_customer_reply_as_an_agent_gets_no_second_mail(
    cast: Cast,
) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        ticket_follow(ticket=ticket, agent=cast.agent, actor=cast.agent)
    mails = _mails(cast, _reply(cast, ticket, author_contact=cast.customer_contact))
    to_agent = [m for m in mails if m.to_address == cast.agent.email]
    assert [m.kind for m in to_agent] == [OutboundKind.AGENT_CUSTOMER_REPLY]


def test_an_agent_who_left_the_tenant_no_longer_gets_a_followers_mail(cast: Cast) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        ticket_follow(ticket=ticket, agent=cast.agent, actor=cast.agent)
        Membership.objects.filter(user=cast.agent).delete()
    mails = _mails(cast, _reply(cast, ticket, public=False, author=cast.admin))
    assert [m.to_address for m in mails] == []


# --- The portal ---------------------------------------------------------------------------


def _portal_post(cast: Cast, ticket: Ticket, name: str, contact_id: Any) -> Any:
    client = client_for(cast.customer, cast.tenant_a)
    url = reverse(f"portal:{name}", kwargs={"ticket_id": ticket.pk})
    return client.post(url, {"contact": contact_id}, follow=True)


def test_the_requester_copies_a_colleague_from_the_ticket_page(cast: Cast) -> None:
    ticket = _ticket(cast)
    olle = _olle(cast)
    page = client_for(cast.customer, cast.tenant_a).get(
        reverse("portal:ticket-detail", kwargs={"ticket_id": ticket.pk})
    )
    assert "Nils Named" in page.content.decode() and "Olle Other" not in page.content.decode()
    response = _portal_post(cast, ticket, "ticket-cc-add", cast.named_contact.pk)
    assert "Nils Named is now copied on the ticket." in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert list(ticket.cc.all()) == [cast.named_contact]
    response = _portal_post(cast, ticket, "ticket-cc-remove", cast.named_contact.pk)
    assert "no longer copied" in response.content.decode()
    assert len(_cc_events(cast, ticket)) == 2
    assert olle.pk  # Olle was never offered


@pytest.mark.parametrize("who", ["other organisation", "other tenant", "nonsense"])
def test_the_portal_refuses_anyone_but_a_colleague_with_a_message(cast: Cast, who: str) -> None:
    ticket = _ticket(cast)
    contact_id = {
        "other organisation": lambda: _olle(cast).pk,
        "other tenant": lambda: cast.contact_b.pk,
        "nonsense": lambda: "١٢",
    }[who]()
    before = _state(cast, ticket)
    response = _portal_post(cast, ticket, "ticket-cc-add", contact_id)
    assert response.status_code == 200
    assert "Only colleagues of the ticket&#x27;s organisation can be copied." in (
        response.content.decode()
    )
    assert _state(cast, ticket) == before


def test_a_contact_of_another_tenant_cannot_reach_the_copy_form(cast: Cast) -> None:
    ticket = _ticket(cast)
    before = _state(cast, ticket)
    client = client_for(cast.contact_b_user, cast.tenant_b)
    url = reverse("portal:ticket-cc-add", kwargs={"ticket_id": ticket.pk})
    assert client.post(url, {"contact": cast.contact_b.pk}).status_code == 404
    assert _state(cast, ticket) == before


def test_a_named_contact_turns_following_on_and_off_in_the_portal(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.named, cast.tenant_a)
    url = reverse("portal:follow-organisation")
    refused = client.post(url, {"follows": "1"}, follow=True)
    assert "Only named contacts can follow" in refused.content.decode()
    with scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
    client.post(url, {"follows": "1"})
    with scope(tenant=cast.tenant_a):
        assert Contact.objects.get(pk=cast.named_contact.pk).follows_organisation
    client.post(url, {"follows": "0"})
    with scope(tenant=cast.tenant_a):
        assert not Contact.objects.get(pk=cast.named_contact.pk).follows_organisation


def test_an_agent_follows_from_the_ticket_page(cast: Cast) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-follow", kwargs={"ticket_id": ticket.pk})
    page = client.post(url, {"follow": "1"}, follow=True)
    assert "You follow this ticket." in page.content.decode()
    with scope(tenant=cast.tenant_a):
        assert list(ticket.followers.all()) == [cast.agent]
    client.post(url, {"follow": "0"})
    with scope(tenant=cast.tenant_a):
        assert not ticket.followers.exists()
        kinds = TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)
        assert {EventKind.FOLLOWED, EventKind.UNFOLLOWED} <= set(kinds)


# --- The APIs -----------------------------------------------------------------------------


def _api(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def test_the_agent_api_copies_colleagues_and_refuses_strangers(cast: Cast) -> None:
    ticket = _ticket(cast)
    olle = _olle(cast)
    client = api_client_for(cast.agent, cast.tenant_a)
    cc = reverse("api-ticket-cc", kwargs={"ticket_id": ticket.pk})
    before = _state(cast, ticket)
    assert _api(client, cc, {"contact": olle.pk}).status_code == 400
    assert _api(client, cc, {"contact": cast.contact_b.pk}).status_code == 404
    assert _state(cast, ticket) == before
    added = _api(client, cc, {"contact": cast.named_contact.pk})
    assert added.status_code == 200
    assert [c["name"] for c in added.json()] == ["Nils Named"]
    assert [c["id"] for c in client.get(cc).json()] == [cast.named_contact.pk]
    remove = reverse("api-ticket-cc-remove", kwargs={"ticket_id": ticket.pk})
    assert _api(client, remove, {"contact": cast.named_contact.pk}).json() == []


def test_the_agent_api_adds_and_removes_followers_of_the_tenant_only(cast: Cast) -> None:
    ticket = _ticket(cast)
    client = api_client_for(cast.agent, cast.tenant_a)
    followers = reverse("api-ticket-followers", kwargs={"ticket_id": ticket.pk})
    for stranger in (cast.agent_b, cast.customer, cast.manager):
        assert _api(client, followers, {"agent": stranger.pk}).status_code == 404
    assert [f["id"] for f in _api(client, followers, {"agent": cast.admin.pk}).json()] == [
        cast.admin.pk
    ]
    remove = reverse("api-ticket-followers-remove", kwargs={"ticket_id": ticket.pk})
    assert _api(client, remove, {"agent": cast.admin.pk}).json() == []


def test_the_portal_api_copies_colleagues_and_refuses_strangers_alike(cast: Cast) -> None:
    ticket = _ticket(cast)
    olle = _olle(cast)
    client = api_client_for(cast.customer, cast.tenant_a)
    cc = reverse("api-portal-ticket-cc", kwargs={"ticket_id": ticket.pk})
    before = _state(cast, ticket)
    refusals = [_api(client, cc, {"contact": c.pk}) for c in (olle, cast.contact_b)]
    assert [r.status_code for r in refusals] == [400, 400]
    assert refusals[0].json() == refusals[1].json()  # another tenant's is not told apart
    assert _state(cast, ticket) == before
    added = _api(client, cc, {"contact": cast.named_contact.pk})
    assert [c["name"] for c in added.json()] == ["Nils Named"]
    other = api_client_for(cast.contact_b_user, cast.tenant_b)
    assert _api(other, cc, {"contact": cast.contact_b.pk}).status_code == 404


def test_the_ticket_in_the_agent_api_lists_who_is_copied_and_who_follows(cast: Cast) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        ticket_cc_add(ticket=ticket, contact=cast.named_contact, actor=cast.agent)
        ticket_follow(ticket=ticket, agent=cast.admin, actor=cast.agent)
    client = api_client_for(cast.agent, cast.tenant_a)
    body = client.get(reverse("api-ticket-detail", kwargs={"ticket_id": ticket.pk})).json()
    assert [c["id"] for c in body["cc"]] == [cast.named_contact.pk]
    assert body["cc"][0]["email"] == cast.named_contact.email
    assert [f["id"] for f in body["followers"]] == [cast.admin.pk]


def test_the_ticket_in_the_portal_api_lists_the_copied_colleagues_but_no_staff(
    cast: Cast,
) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        ticket_cc_add(ticket=ticket, contact=cast.named_contact, actor=cast.agent)
        ticket_follow(ticket=ticket, agent=cast.admin, actor=cast.agent)
    client = api_client_for(cast.customer, cast.tenant_a)
    url = reverse("api-portal-ticket-detail", kwargs={"ticket_id": ticket.pk})
    body = client.get(url).json()
    assert [c["name"] for c in body["cc"]] == ["Nils Named"]
    assert "followers" not in body and cast.admin.email not in json.dumps(body)
