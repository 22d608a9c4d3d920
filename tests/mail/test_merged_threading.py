"""A mail about a merged duplicate (issue 15, item 3): the old reference leads to the ticket it
was merged into, by mail as on the pages, for a sender who may see that ticket; anyone else
gets what any reply to a closed ticket gets, and the target is not touched."""

from __future__ import annotations

from typing import Any

import pytest
from django_scopes import scope

from contracts.models import Contact, Organisation
from tests.conftest import Cast
from tests.mail.conftest import SUPPORT_ADDRESS, sender_mailbox
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.links.services import ticket_merge
from tickets.mail import services
from tickets.mail.models import InboundEmail, InboundOutcome
from tickets.models import Message, Ticket
from tickets.services import ticket_create

pytestmark = pytest.mark.mail


def _mail(*, sender: str, subject: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\nTo: {SUPPORT_ADDRESS}\nSubject: {subject}\n"
        f"Message-ID: <{message_id}>\nDate: Tue, 05 Mar 2024 09:12:44 +0100\n"
        'MIME-Version: 1.0\nContent-Type: text/plain; charset="utf-8"\n\n'
        "One more detail about the VPN.\n"
    ).encode()


def _ingest(cast: Cast, raw: bytes, capture: Any) -> InboundEmail:
    with capture(execute=True), scope(tenant=cast.tenant_a):
        inbound, created = services.email_ingest(tenant=cast.tenant_a, raw=raw)
    assert created
    with scope(tenant=cast.tenant_a):
        return InboundEmail.objects.get(pk=inbound.pk)


def _ticket(cast: Cast, subject: str, requester: Contact) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=requester,
            subject=subject,
            description=f"{subject}: the description.",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )


def _merged(cast: Cast, duplicate_requester: Contact) -> tuple[Ticket, Ticket]:
    sender_mailbox(cast)
    target = _ticket(cast, "VPN down", cast.customer_contact)
    duplicate = _ticket(cast, "VPN not working", duplicate_requester)
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
    return target, duplicate


def test_a_reply_naming_the_duplicate_joins_the_ticket_it_was_merged_into(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    # Nils is of Carla's organisation, so the merge copied him on her ticket.
    target, duplicate = _merged(cast, cast.named_contact)
    raw = _mail(
        sender=cast.named_contact.email,
        subject=f"Re: [{duplicate.reference}] VPN not working",
        message_id="nils-1@orga.example.test",
    )
    inbound = _ingest(cast, raw, django_capture_on_commit_callbacks)
    assert inbound.outcome == InboundOutcome.REPLY_ADDED
    assert inbound.ticket_id == target.pk
    with scope(tenant=cast.tenant_a):
        reply = Message.objects.get(ticket=target, body__contains="One more detail")
        assert reply.author_contact_id == cast.named_contact.pk
        assert Ticket.objects.count() == 2


def test_a_sender_who_may_not_see_the_target_gets_a_follow_up_and_the_target_is_untouched(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        olle = Contact.objects.create(
            tenant=cast.tenant_a, organisation=org, name="Olle Other", email="olle@other.test"
        )
    # Both tickets are Org A's (a merge stays within one organisation); Olle of another
    # organisation knows the duplicate's reference and mails about it.
    target, duplicate = _merged(cast, cast.named_contact)
    with scope(tenant=cast.tenant_a):
        on_target = Message.objects.filter(ticket=target).count()
    raw = _mail(
        sender=olle.email,
        subject=f"Re: [{duplicate.reference}] VPN not working",
        message_id="olle-1@other.test",
    )
    inbound = _ingest(cast, raw, django_capture_on_commit_callbacks)
    assert inbound.ticket_id not in (target.pk, duplicate.pk)
    with scope(tenant=cast.tenant_a):
        assert Message.objects.filter(ticket=target).count() == on_target
        assert Ticket.objects.get(pk=target.pk).cc.filter(pk=olle.pk).exists() is False


def test_an_agent_answering_about_the_duplicate_writes_a_note_on_the_target(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    target, duplicate = _merged(cast, cast.named_contact)
    raw = _mail(
        sender=cast.agent.email,
        subject=f"Re: [{duplicate.reference}] VPN not working",
        message_id="agent-1@example.test",
    )
    inbound = _ingest(cast, raw, django_capture_on_commit_callbacks)
    assert inbound.ticket_id == target.pk
    with scope(tenant=cast.tenant_a):
        note = Message.objects.get(ticket=target, body__contains="One more detail")
        assert note.author_id == cast.agent.pk and note.is_public is False
