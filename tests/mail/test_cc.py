"""The Cc header of a customer's mail (issue 16, item 11): colleagues of the ticket's own
organisation become copied contacts; anyone else (another organisation, another tenant's
contact, an unknown address, our own address) is left out, no contact is made for them, and
the stored mail and the ticket's history say which addresses were left out. Each case runs
twice: piped into ``email_ingest`` and polled from a real IMAP server (Dovecot)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django_scopes import scope

from contracts.models import Contact, Organisation
from tests.conftest import Cast
from tests.mail.conftest import SUPPORT_ADDRESS
from tests.portal.conftest import Desk
from tickets.mail.models import InboundEmail, InboundOutcome
from tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.mail

OLLE = "olle@other.test"


def _mail(*, cc: str, message_id: str, subject: str = "The export stops at 99 rows") -> bytes:
    return (
        f"From: Carla Customer <carla@orga.example.test>\nTo: {SUPPORT_ADDRESS}\nCc: {cc}\n"
        f"Subject: {subject}\nMessage-ID: <{message_id}>\n"
        "Date: Tue, 05 Mar 2024 09:12:44 +0100\nMIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n\nHello, it stops at 99 rows.\n'
    ).encode()


@pytest.fixture
def olle(cast: Cast, desk: Desk) -> Contact:
    with scope(tenant=cast.tenant_a):
        org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        return Contact.objects.create(
            tenant=cast.tenant_a, organisation=org, name="Olle Other", email=OLLE
        )


def test_a_new_ticket_copies_only_colleagues_of_the_organisation(
    cast: Cast, olle: Contact, transport: Callable[[bytes], InboundEmail]
) -> None:
    with scope(tenant=cast.tenant_a):
        contacts = Contact.objects.count()
    cc = (
        f"Nils <NILS@orga.example.test>, Olle <{OLLE}>, bob@orgb.test, "
        f"stranger@orga.example.test, {SUPPORT_ADDRESS}"
    )
    inbound = transport(_mail(cc=cc, message_id="cc-1@orga"))
    assert inbound.outcome == InboundOutcome.TICKET_CREATED
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get(pk=inbound.ticket_id)
        assert list(ticket.cc.all()) == [cast.named_contact]
        assert Contact.objects.count() == contacts  # nobody was made a contact
        (event,) = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CC_ADDED)
    ignored = [OLLE, "bob@orgb.test", "stranger@orga.example.test"]
    assert event.data["ignored"] == ignored and event.new_value == "Nils Named"
    assert all(address in inbound.note for address in ignored)
    assert SUPPORT_ADDRESS not in inbound.note


def test_a_reply_copies_a_colleague_and_only_notes_a_stranger_internally(
    cast: Cast, olle: Contact, transport: Callable[[bytes], InboundEmail]
) -> None:
    first = transport(_mail(cc="", message_id="cc-2@orga"))
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get(pk=first.ticket_id)
    raw = _mail(cc=OLLE, message_id="cc-3@orga", subject=f"Re: [{ticket.reference}] Export")
    reply = transport(raw)
    assert reply.outcome == InboundOutcome.REPLY_ADDED and reply.ticket_id == ticket.pk
    with scope(tenant=cast.tenant_a):
        assert not ticket.cc.exists()
        (noted,) = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CC_ADDED)
    assert not noted.is_public and noted.data["ignored"] == [OLLE]
    raw = _mail(cc="nils@orga.example.test", message_id="cc-4@orga", subject=raw_subject(ticket))
    transport(raw)
    with scope(tenant=cast.tenant_a):
        assert list(ticket.cc.all()) == [cast.named_contact]


def raw_subject(ticket: Ticket) -> str:
    return f"Re: [{ticket.reference}] Export, again"
