"""Related tickets and merging a duplicate (issue 15, item 3): links both ways, a merge that
moves the conversation and keeps the old reference working, and every refusal saving nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import RestrictedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from contracts.models import Contact, NamedContact, Organisation
from notifications.channels.email import notify_by_mail
from sla.models import Clock, ClockState
from supportdesk.models import User
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Channel, Status
from tickets.links.services import ticket_link, ticket_merge, ticket_unlink
from tickets.mail.models import OutboundEmail
from tickets.models import EventKind, LinkKind, Message, Ticket, TicketEvent, TicketLink
from tickets.services import (
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _ticket(cast: Cast, subject: str, requester: Contact | None = None, **extra: Any) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=requester or cast.customer_contact,
            subject=subject,
            description=f"{subject}: the description.",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
            **extra,
        )


def _other_org_contact(cast: Cast) -> Contact:
    with scope(tenant=cast.tenant_a):
        org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        return Contact.objects.create(
            tenant=cast.tenant_a, organisation=org, name="Olle Other", email="olle@other.test"
        )


def _b_ticket(cast: Cast) -> Ticket:
    with scope(tenant=cast.tenant_b):
        return ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject="B's ticket",
            description="B",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )


def _counts(cast: Cast) -> tuple[int, int, int, int]:
    with scope(tenant=cast.tenant_a):
        return (
            TicketLink.objects.count(),
            TicketEvent.objects.count(),
            Message.objects.count(),
            Ticket.objects.filter(merged_into__isnull=False).count(),
        )


# --- Links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "forward", "backward"),
    [
        (LinkKind.RELATED, "related to", "related to"),
        (LinkKind.DUPLICATE, "duplicate of", "has duplicate"),
        (LinkKind.CAUSED_BY, "caused by", "causes"),
    ],
)
def test_a_link_shows_on_both_tickets_pages_with_the_reverse_wording(
    cast: Cast, kind: str, forward: str, backward: str
) -> None:
    first, second = _ticket(cast, "Printer jams"), _ticket(cast, "Printer broken")
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(
        reverse("tickets:ticket-link", args=[first.pk]), {"other": second.reference, "kind": kind}
    )
    assert response.status_code == 302
    page_1 = client.get(reverse("tickets:ticket", args=[first.pk])).content.decode()
    page_2 = client.get(reverse("tickets:ticket", args=[second.pk])).content.decode()
    assert f"{forward.capitalize()} <a" in page_1 and second.reference in page_1
    assert f"{backward.capitalize()} <a" in page_2 and first.reference in page_2
    with scope(tenant=cast.tenant_a):
        link = TicketLink.objects.get()
        assert (link.source_id, link.target_id, link.kind) == (first.pk, second.pk, kind)
        for ticket, other in ((first, second), (second, first)):
            event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.LINKED)
            assert other.reference in event.new_value
            assert event.is_public is False
            assert event.actor == cast.agent


def _timeline(html: str) -> str:
    found = re.search(r'<section aria-labelledby="timeline">.*?</section>', html, re.S)
    assert found is not None, "no timeline on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", found[0]).split())


def test_a_link_event_reads_in_the_readers_language_not_the_writers(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    with scope(tenant=cast.tenant_a), translation.override("sv"):
        ticket_link(ticket=first, other=second, kind=LinkKind.CAUSED_BY, actor=cast.agent)
    User.objects.filter(pk=cast.agent.pk).update(language="en")
    client = client_for(cast.agent, cast.tenant_a)
    on_first = _timeline(client.get(reverse("tickets:ticket", args=[first.pk])).content.decode())
    on_second = _timeline(client.get(reverse("tickets:ticket", args=[second.pk])).content.decode())
    assert f"caused by {second.reference}" in on_first and "orsakat" not in on_first
    assert f"causes {first.reference}" in on_second and "orsakar" not in on_second
    User.objects.filter(pk=cast.agent.pk).update(language="nl")
    on_first = _timeline(client.get(reverse("tickets:ticket", args=[first.pk])).content.decode())
    assert f"veroorzaakt door {second.reference}" in on_first


def test_the_link_box_takes_a_bare_number(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:ticket-link", args=[first.pk]),
        {"other": str(second.number), "kind": LinkKind.RELATED},
    )
    with scope(tenant=cast.tenant_a):
        assert TicketLink.objects.filter(source=first, target=second).exists()


def test_linking_twice_is_refused_either_way_round_and_saves_nothing(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    with scope(tenant=cast.tenant_a):
        ticket_link(ticket=first, other=second, kind=LinkKind.RELATED, actor=cast.agent)
        before = _counts(cast)
        for a, b in ((first, second), (second, first)):
            with pytest.raises(ValidationError, match="already linked"):
                ticket_link(ticket=a, other=b, kind=LinkKind.RELATED, actor=cast.agent)
        assert _counts(cast) == before
        # Another kind between the same pair is another link.
        ticket_link(ticket=first, other=second, kind=LinkKind.CAUSED_BY, actor=cast.agent)
        assert TicketLink.objects.count() == 2


def test_the_page_says_why_a_second_link_is_refused(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-link", args=[first.pk])
    client.post(url, {"other": second.reference, "kind": LinkKind.RELATED})
    response = client.post(url, {"other": second.reference, "kind": LinkKind.RELATED}, follow=True)
    assert "are already linked that way" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert TicketLink.objects.count() == 1


def test_a_ticket_is_not_linked_to_itself(cast: Cast) -> None:
    ticket = _ticket(cast, "One")
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError, match="itself"):
            ticket_link(ticket=ticket, other=ticket, kind=LinkKind.RELATED, actor=cast.agent)
        assert TicketLink.objects.count() == 0


def test_links_across_tenants_are_refused_on_the_page_in_the_service_and_the_api(
    cast: Cast,
) -> None:
    mine, theirs = _ticket(cast, "Mine"), _b_ticket(cast)
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:ticket-link", args=[mine.pk]),
        {"other": theirs.reference, "kind": LinkKind.RELATED},
        follow=True,
    )
    assert f"There is no ticket {theirs.reference}." in response.content.decode()
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError, match="Unknown ticket"):
            ticket_link(ticket=mine, other=theirs, kind=LinkKind.RELATED, actor=cast.agent)
    api = api_client_for(cast.agent, cast.tenant_a)
    response = api.post(
        reverse("api-ticket-links", args=[mine.pk]),
        {"other": theirs.pk, "kind": LinkKind.RELATED},
        content_type="application/json",
    )
    # The ticket in the URL exists: the answer names the field, as for an unknown id.
    assert response.status_code == 400
    assert response.json() == {"other": [f"There is no ticket {theirs.pk}."]}
    with scope(tenant=cast.tenant_a):
        assert TicketLink.objects.count() == 0
    with scope(tenant=cast.tenant_b):
        assert TicketLink.objects.count() == 0


def test_an_unknown_kind_is_refused_with_a_message(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    with scope(tenant=cast.tenant_a), pytest.raises(ValidationError, match="Unknown value"):
        ticket_link(ticket=first, other=second, kind="friend_of", actor=cast.agent)


def test_only_agents_link(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    with scope(tenant=cast.tenant_a), pytest.raises(ValidationError, match="Only agents"):
        ticket_link(ticket=first, other=second, kind=LinkKind.RELATED, actor=cast.manager)


def test_unlinking_removes_the_link_from_either_side_with_an_event_on_each(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    with scope(tenant=cast.tenant_a):
        link = ticket_link(ticket=first, other=second, kind=LinkKind.CAUSED_BY, actor=cast.agent)
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:ticket-unlink", args=[second.pk]), {"link": link.pk}
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert TicketLink.objects.count() == 0
        assert TicketEvent.objects.filter(kind=EventKind.UNLINKED).count() == 2


def test_a_link_of_other_tickets_is_not_removed_through_this_one(cast: Cast) -> None:
    first, second, third = _ticket(cast, "One"), _ticket(cast, "Two"), _ticket(cast, "Three")
    with scope(tenant=cast.tenant_a):
        link = ticket_link(ticket=first, other=second, kind=LinkKind.RELATED, actor=cast.agent)
        with pytest.raises(ValidationError, match="Unknown link"):
            ticket_unlink(ticket=third, link_id=link.pk, actor=cast.agent)
        assert TicketLink.objects.count() == 1


def test_the_ticket_page_queries_do_not_grow_with_its_links(cast: Cast) -> None:
    ticket = _ticket(cast, "Hub")
    others = [_ticket(cast, f"Spoke {n}") for n in range(10)]
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket", args=[ticket.pk])
    with scope(tenant=cast.tenant_a):
        ticket_link(ticket=ticket, other=others[0], kind=LinkKind.RELATED, actor=cast.agent)
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    with scope(tenant=cast.tenant_a):
        for n, other in enumerate(others[1:]):
            kind = (LinkKind.RELATED, LinkKind.CAUSED_BY)[n % 2]
            # Half of them point at the hub, so both directions are listed.
            a, b = (ticket, other) if n % 3 else (other, ticket)
            ticket_link(ticket=a, other=b, kind=kind, actor=cast.agent)
    with CaptureQueriesContext(connection) as ten:
        page = client.get(url)
    text = page.content.decode()
    assert all(o.reference in text for o in others)
    # The timeline holds the 18 extra link events; its rows come from one query either way.
    assert len(ten.captured_queries) == len(one.captured_queries)


def test_the_api_lists_links_in_the_same_queries_however_many_there_are(cast: Cast) -> None:
    ticket = _ticket(cast, "Hub")
    others = [_ticket(cast, f"Spoke {n}") for n in range(6)]
    api = api_client_for(cast.agent, cast.tenant_a)
    url = reverse("api-ticket-links", args=[ticket.pk])
    with scope(tenant=cast.tenant_a):
        ticket_link(ticket=ticket, other=others[0], kind=LinkKind.RELATED, actor=cast.agent)
    api.get(url)  # warm the token and caches
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(url).json()) == 1
    with scope(tenant=cast.tenant_a):
        for n, other in enumerate(others[1:]):
            a, b = (ticket, other) if n % 2 else (other, ticket)
            ticket_link(ticket=a, other=b, kind=LinkKind.CAUSED_BY, actor=cast.agent)
    with CaptureQueriesContext(connection) as six:
        listed = api.get(url).json()
    assert {row["other"]["id"] for row in listed} == {o.pk for o in others}
    assert {row["direction"] for row in listed} == {"incoming", "outgoing"}
    assert len(six.captured_queries) == len(one.captured_queries)


# --- Merge ---------------------------------------------------------------------------------


def _with_conversation(cast: Cast) -> tuple[Ticket, Ticket]:
    """A target written first, then a duplicate; the two conversations interleave in time."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        target = _ticket(cast, "VPN down")
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        duplicate = _ticket(cast, "VPN not working", requester=cast.named_contact)
    with scope(tenant=cast.tenant_a):
        with time_machine.travel(dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC), tick=False):
            ticket_reply(
                ticket=duplicate,
                body="Screenshot attached.",
                public=True,
                channel=Channel.PORTAL,
                author_contact=cast.named_contact,
                attachments=[SimpleUploadedFile("vpn.png", b"png", content_type="image/png")],
            )
        with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False):
            ticket_reply(
                ticket=target,
                body="We are looking at the VPN.",
                public=True,
                channel=Channel.PORTAL,
                author=cast.agent,
            )
    return target, duplicate


def test_a_merge_moves_messages_and_attachments_in_time_order_marked_with_the_old_reference(
    cast: Cast,
) -> None:
    target, duplicate = _with_conversation(cast)
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        moved = Message.objects.filter(ticket=target, merged_from=duplicate.reference)
        assert {m.body_text() for m in moved} == {
            "VPN not working: the description.",
            "Screenshot attached.",
        }
        assert target.attachments.get().filename == "vpn.png"
        assert not duplicate.attachments.exists()
        bodies = [e.message.body_text() for e in target.timeline() if e.message is not None]
    assert bodies[:4] == [
        "VPN down: the description.",  # 09:00
        "VPN not working: the description.",  # 10:00, from the duplicate
        "Screenshot attached.",  # 11:00, from the duplicate
        "We are looking at the VPN.",  # 12:00
    ]
    assert duplicate.reference in bodies[4]  # the merge's public note, last
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:ticket", args=[target.pk]))
    text = page.content.decode()
    assert f"merged from {duplicate.reference}" in text
    assert "vpn.png" in text


def test_a_merge_closes_the_duplicate_with_events_a_link_and_a_note_on_the_target(
    cast: Cast,
) -> None:
    target, duplicate = _with_conversation(cast)
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        duplicate.refresh_from_db()
        assert duplicate.status == Status.CLOSED
        assert duplicate.merged_into_id == target.pk
        assert duplicate.closed_at is not None
        closing = TicketEvent.objects.get(ticket=duplicate, kind=EventKind.STATUS_CHANGED)
        assert closing.new_value == Status.CLOSED
        merged = TicketEvent.objects.get(ticket=duplicate, kind=EventKind.MERGED)
        assert (merged.old_value, merged.new_value) == (duplicate.reference, target.reference)
        assert merged.data["messages"] == 2 and merged.data["attachments"] == 1
        merged_in = TicketEvent.objects.get(ticket=target, kind=EventKind.MERGED_IN)
        assert merged_in.is_public and merged_in.message is not None
        assert merged_in.message.is_public and merged_in.message.ticket_id == target.pk
        assert duplicate.reference in merged_in.message.body_text()
        link = TicketLink.objects.get()
        assert (link.source_id, link.target_id, link.kind) == (
            duplicate.pk,
            target.pk,
            LinkKind.DUPLICATE,
        )
        # The merge's own link stays.
        with pytest.raises(ValidationError, match="that link stays"):
            ticket_unlink(ticket=target, link_id=link.pk, actor=cast.agent)


def test_an_existing_duplicate_link_is_reused_by_the_merge(cast: Cast) -> None:
    target, duplicate = _ticket(cast, "T"), _ticket(cast, "D")
    with scope(tenant=cast.tenant_a):
        ticket_link(ticket=duplicate, other=target, kind=LinkKind.DUPLICATE, actor=cast.agent)
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        assert TicketLink.objects.count() == 1


def test_the_duplicates_requester_of_the_same_organisation_is_copied_on_the_target(
    cast: Cast,
) -> None:
    target, duplicate = _with_conversation(cast)  # Carla's target, Nils's duplicate, both Org A
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        assert list(target.cc.all()) == [cast.named_contact]


def test_a_copied_requester_hears_once_from_the_target_not_twice(cast: Cast) -> None:
    target, duplicate = _with_conversation(cast)
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        for event in TicketEvent.objects.filter(kind__in=[EventKind.MERGED, EventKind.MERGED_IN]):
            notify_by_mail(event)
        to_nils = list(OutboundEmail.objects.filter(to_address=cast.named_contact.email))
    assert len(to_nils) == 1
    assert to_nils[0].ticket_id == target.pk


def _refused(cast: Cast, ticket: Ticket, into: Ticket, match: str) -> None:
    before = _counts(cast)
    with scope(tenant=cast.tenant_a):
        messages_before = {m.pk: m.ticket_id for m in Message.objects.all()}
        with pytest.raises(ValidationError, match=match):
            ticket_merge(ticket=ticket, into=into, actor=cast.agent)
        assert {m.pk: m.ticket_id for m in Message.objects.all()} == messages_before
        assert Ticket.objects.get(pk=ticket.pk).status == ticket.status
    assert _counts(cast) == before


def test_a_ticket_is_not_merged_into_itself(cast: Cast) -> None:
    ticket = _ticket(cast, "One")
    _refused(cast, ticket, ticket, "itself")


def test_a_merge_into_a_ticket_already_merged_away_is_refused(cast: Cast) -> None:
    first, second, third = _ticket(cast, "One"), _ticket(cast, "Two"), _ticket(cast, "Three")
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=second, into=first, actor=cast.agent)
        second.refresh_from_db()
    _refused(cast, third, second, "merged into another ticket; merge into that one")


def test_a_ticket_already_merged_is_not_merged_again(cast: Cast) -> None:
    first, second, third = _ticket(cast, "One"), _ticket(cast, "Two"), _ticket(cast, "Three")
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=second, into=first, actor=cast.agent)
        second.refresh_from_db()
    _refused(cast, second, third, "already merged")


def test_a_circular_merge_is_refused(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=second, into=first, actor=cast.agent)
        second.refresh_from_db()
    _refused(cast, first, second, "circle")


def test_a_merge_into_a_closed_ticket_is_refused(cast: Cast) -> None:
    target, duplicate = _ticket(cast, "Closed"), _ticket(cast, "Open")
    with scope(tenant=cast.tenant_a):
        ticket_change_status(
            ticket=target, status=Status.CLOSED, actor=cast.agent, channel=Channel.PORTAL
        )
        target.refresh_from_db()
    _refused(cast, duplicate, target, "is closed")


def test_a_closed_duplicate_is_not_merged(cast: Cast) -> None:
    target, duplicate = _ticket(cast, "Open"), _ticket(cast, "Closed")
    with scope(tenant=cast.tenant_a):
        ticket_change_status(
            ticket=duplicate, status=Status.CLOSED, actor=cast.agent, channel=Channel.PORTAL
        )
        duplicate.refresh_from_db()
    _refused(cast, duplicate, target, "cannot be merged")


def test_a_merge_across_tenants_is_refused_in_the_service_and_the_api_naming_the_field(
    cast: Cast,
) -> None:
    mine, theirs = _ticket(cast, "Mine"), _b_ticket(cast)
    _refused(cast, mine, theirs, "Unknown ticket")
    api = api_client_for(cast.agent, cast.tenant_a)
    response = api.post(
        reverse("api-ticket-merge", args=[mine.pk]),
        {"into": theirs.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"into": [f"There is no ticket {theirs.pk}."]}
    with scope(tenant=cast.tenant_b):
        assert Ticket.objects.get(pk=theirs.pk).merged_into_id is None
        assert Message.objects.filter(ticket=theirs).count() == 1


@time_machine.travel(at(2026, 3, 4, 10, 0), tick=False)
def test_the_merged_away_tickets_clocks_stop_like_a_closed_tickets(cast: Cast, desk: Desk) -> None:
    target, duplicate = _ticket(cast, "T"), _ticket(cast, "D")
    with scope(tenant=cast.tenant_a):
        assert Clock.objects.filter(ticket=duplicate, state=ClockState.RUNNING).count() == 2
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        assert not Clock.objects.filter(ticket=duplicate, state=ClockState.RUNNING).exists()
        assert Clock.objects.filter(ticket=duplicate).count() == 2
        assert Ticket.objects.get(pk=duplicate.pk).next_due_at is None
        assert Clock.objects.filter(ticket=target, state=ClockState.RUNNING).count() == 2


# --- The page, the confirmation and the old reference -------------------------------------


def test_merging_on_the_page_asks_for_confirmation_first(cast: Cast) -> None:
    target, duplicate = _ticket(cast, "T"), _ticket(cast, "D")
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(
        reverse("tickets:ticket-link", args=[duplicate.pk]),
        {"other": target.reference, "kind": "merge"},
        follow=True,
    )
    text = response.content.decode()
    assert f"Merge {duplicate.reference} into {target.reference}?" in text
    assert 'name="confirm_merge"' in text
    url = reverse("tickets:ticket-merge", args=[duplicate.pk])
    unconfirmed = client.post(url, {"into": target.reference})
    assert "Tick the box to confirm the merge" in unconfirmed.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=duplicate.pk).merged_into_id is None
    done = client.post(url, {"into": target.reference, "confirm_merge": "1"})
    assert done.status_code == 302
    assert done["Location"] == reverse("tickets:ticket", args=[target.pk])
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == target.pk


def test_the_confirmation_says_why_a_merge_would_be_refused(cast: Cast) -> None:
    ticket = _ticket(cast, "T")
    response = client_for(cast.agent, cast.tenant_a).get(
        reverse("tickets:ticket-merge", args=[ticket.pk]), {"into": ticket.reference}
    )
    text = response.content.decode()
    assert "cannot be linked to or merged into itself" in text
    assert 'name="confirm_merge"' not in text


def test_the_confirmation_refuses_a_merge_across_organisations(cast: Cast) -> None:
    target = _ticket(cast, "T")
    duplicate = _ticket(cast, "D", requester=_other_org_contact(cast))
    response = client_for(cast.agent, cast.tenant_a).get(
        reverse("tickets:ticket-merge", args=[duplicate.pk]), {"into": target.reference}
    )
    text = response.content.decode()
    assert "belong to different organisations" in text
    assert 'name="confirm_merge"' not in text


def _without_organisation(contact: Contact) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(organisation=None)
    return Contact.objects.get(pk=contact.pk)


@pytest.mark.parametrize("whose", ["another organisation", "no organisation"])
def test_a_merge_across_organisations_is_refused_in_the_service_and_the_api(
    cast: Cast, whose: str
) -> None:
    """Merging moves the duplicate's messages to the target, whose customers read them: one
    organisation's words would reach another's (or a contact of none) (issue #15)."""
    target = _ticket(cast, "Secret target subject")
    if whose == "another organisation":
        other = _other_org_contact(cast)
    else:
        with scope(tenant=cast.tenant_a):
            other = _without_organisation(cast.named_contact)
    duplicate = _ticket(cast, "Their duplicate", requester=other)
    _refused(cast, duplicate, target, "belong to different organisations")
    _refused(cast, target, duplicate, "belong to different organisations")
    api = api_client_for(cast.agent, cast.tenant_a)
    answer = api.post(f"/api/v1/tickets/{duplicate.pk}/merge/", {"into": target.pk}, format="json")
    assert answer.status_code == 400
    assert "different organisations" in answer.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=duplicate.pk).merged_into_id is None


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [(LinkKind.RELATED, False), (LinkKind.DUPLICATE, False), (LinkKind.CAUSED_BY, True)],
)
def test_only_caused_by_links_tickets_of_two_organisations(
    cast: Cast, kind: str, allowed: bool
) -> None:
    """ "Caused by" gathers several organisations' tickets under one cause (a major incident);
    "related" and "duplicate" say two customers' tickets are one matter, and are refused."""
    mine = _ticket(cast, "Mine")
    theirs = _ticket(cast, "Theirs", requester=_other_org_contact(cast))
    with scope(tenant=cast.tenant_a):
        if allowed:
            ticket_link(ticket=theirs, other=mine, kind=kind, actor=cast.agent)
            assert TicketLink.objects.count() == 1
        else:
            with pytest.raises(ValidationError, match="different organisations"):
                ticket_link(ticket=theirs, other=mine, kind=kind, actor=cast.agent)
            assert not TicketLink.objects.exists()
            assert not TicketEvent.objects.filter(kind=EventKind.LINKED).exists()


def test_the_old_agent_page_leads_to_the_target_and_still_shows_its_own_history(
    cast: Cast,
) -> None:
    target, duplicate = _ticket(cast, "T"), _ticket(cast, "D")
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
    client = client_for(cast.agent, cast.tenant_a)
    response = client.get(reverse("tickets:ticket", args=[duplicate.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:ticket", args=[target.pk])
    own = client.get(reverse("tickets:ticket", args=[duplicate.pk]), {"stay": "1"})
    text = own.content.decode()
    assert own.status_code == 200
    assert f"This ticket was merged into {target.reference}." in text
    assert "Merged into another ticket" in text  # the MERGED event in its timeline


def test_the_old_portal_page_leads_a_requester_who_may_see_the_target_there(cast: Cast) -> None:
    target, duplicate = _with_conversation(cast)  # Nils is copied on the target by the merge
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
    client = client_for(cast.named, cast.tenant_a)
    response = client.get(reverse("portal:ticket-detail", args=[duplicate.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:ticket-detail", args=[target.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Screenshot attached." in page and "vpn.png" in page


def test_a_named_contact_of_the_organisation_is_led_to_the_target(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
    target, duplicate = _ticket(cast, "T"), _ticket(cast, "D")  # both Carla's
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
    api = api_client_for(cast.named, cast.tenant_a)
    data = json.loads(api.get(reverse("api-portal-ticket-detail", args=[duplicate.pk])).content)
    assert data["merged"] is True and data["merged_into"] == target.pk


# --- API ----------------------------------------------------------------------------------


def test_the_api_links_lists_unlinks_and_merges(cast: Cast) -> None:
    first, second, third = _ticket(cast, "One"), _ticket(cast, "Two"), _ticket(cast, "Three")
    api = api_client_for(cast.agent, cast.tenant_a)
    created = api.post(
        reverse("api-ticket-links", args=[first.pk]),
        {"other": second.pk, "kind": LinkKind.CAUSED_BY},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    link_id = created.json()["id"]
    listed = api.get(reverse("api-ticket-links", args=[second.pk])).json()
    assert listed == [
        {
            "id": link_id,
            "kind": "caused_by",
            "direction": "incoming",
            "wording": "causes",
            "other": {"id": first.pk, "reference": first.reference},
            "created_at": listed[0]["created_at"],
        }
    ]
    twice = api.post(
        reverse("api-ticket-links", args=[second.pk]),
        {"other": first.pk, "kind": LinkKind.CAUSED_BY},
        content_type="application/json",
    )
    assert twice.status_code == 400
    gone = api.post(
        reverse("api-ticket-unlink", args=[first.pk]),
        {"link": link_id},
        content_type="application/json",
    )
    assert gone.status_code == 204
    merged = api.post(
        reverse("api-ticket-merge", args=[third.pk]),
        {"into": first.pk},
        content_type="application/json",
    )
    assert merged.status_code == 200
    assert merged.json()["id"] == first.pk
    old = api.get(reverse("api-ticket-detail", args=[third.pk])).json()
    assert old["status"] == "closed"
    assert old["merged_into"] == {"id": first.pk, "reference": first.reference}
    itself = api.post(
        reverse("api-ticket-merge", args=[first.pk]),
        {"into": first.pk},
        content_type="application/json",
    )
    assert itself.status_code == 400
    assert "itself" in itself.content.decode()


def test_a_manager_reads_links_but_does_not_merge(cast: Cast) -> None:
    first, second = _ticket(cast, "One"), _ticket(cast, "Two")
    api = api_client_for(cast.manager, cast.tenant_a)
    assert api.get(reverse("api-ticket-links", args=[first.pk])).status_code == 200
    response = api.post(
        reverse("api-ticket-merge", args=[first.pk]),
        {"into": second.pk},
        content_type="application/json",
    )
    assert response.status_code in (403, 404)
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=first.pk).merged_into_id is None


def test_a_target_with_merged_duplicates_is_not_deleted_alone(cast: Cast) -> None:
    target, duplicate = _ticket(cast, "T"), _ticket(cast, "D")
    with scope(tenant=cast.tenant_a):
        ticket_merge(ticket=duplicate, into=target, actor=cast.agent)
        with pytest.raises(RestrictedError):
            Ticket.objects.get(pk=target.pk).delete()
        assert Ticket.objects.filter(pk=target.pk).exists()
