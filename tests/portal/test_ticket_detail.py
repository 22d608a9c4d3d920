"""A ticket in the portal: reading it, replying, closing, reopening, the history, files."""

from __future__ import annotations

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.portal.conftest import Desk, stockholm
from tickets.choices import Channel, Status
from tickets.models import Attachment, Message, Ticket
from tickets.services import ticket_change_status, ticket_create, ticket_reply


@pytest.fixture
def ticket(cast: Cast, desk: Desk) -> Ticket:
    with time_machine.travel(stockholm(2024, 3, 5, 9, 0), tick=False), scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Export stops at 99 rows",
            description="The export stops & nothing happens.",
            channel=Channel.PORTAL,
            priority=desk.p2,
        )


def _reload(cast: Cast, ticket: Ticket) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return Ticket.objects.get(pk=ticket.pk)


def test_the_requester_reads_the_ticket_with_its_promise(cast: Cast, ticket: Ticket) -> None:
    with time_machine.travel(stockholm(2024, 3, 5, 10, 0), tick=False):
        response = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{ticket.pk}/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Export stops at 99 rows" in content
    assert "The export stops &amp; nothing happens." in content
    assert "First response by" in content
    assert "today 14:00" in content


def test_a_contact_outside_the_ticket_gets_a_404(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        nils_ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.named_contact,
            subject="Nils only",
            description="x",
            channel=Channel.PORTAL,
        )
    carla = client_for(cast.customer, cast.tenant_a)
    assert carla.get(f"/portal/tickets/{nils_ticket.pk}/").status_code == 404
    assert carla.get(f"/portal/tickets/{nils_ticket.pk}/history/").status_code == 404
    assert carla.post(f"/portal/tickets/{nils_ticket.pk}/reply/", {"body": "hi"}).status_code == 404
    assert carla.get("/portal/tickets/999999/").status_code == 404


def test_the_customer_replies_with_an_attachment(cast: Cast, ticket: Ticket) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    upload = SimpleUploadedFile("screen.png", b"\x89PNG fake", "image/png")
    response = client.post(
        f"/portal/tickets/{ticket.pk}/reply/",
        {"body": "Here is a screenshot.", "attachments": [upload]},
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        message = Message.objects.filter(ticket=ticket).latest("id")
        assert message.author_contact_id == cast.customer_contact.pk
        assert message.channel == "portal"
        assert [a.filename for a in message.attachments.all()] == ["screen.png"]


def test_an_empty_reply_is_refused_with_a_message(cast: Cast, ticket: Ticket) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    response = client.post(f"/portal/tickets/{ticket.pk}/reply/", {"body": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Message.objects.filter(ticket=ticket).count() == 1


def test_the_customer_closes_reopens_and_confirms_closed(cast: Cast, ticket: Ticket) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    url = f"/portal/tickets/{ticket.pk}/status/"
    assert "My issue is solved" in client.get(f"/portal/tickets/{ticket.pk}/").content.decode()

    client.post(url, {"status": "solved"})
    assert _reload(cast, ticket).status == Status.SOLVED
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "Reopen the ticket" in page and "Confirm it is closed" in page

    client.post(url, {"status": "open"})
    assert _reload(cast, ticket).status == Status.OPEN
    client.post(url, {"status": "solved"})
    client.post(url, {"status": "closed"})
    assert _reload(cast, ticket).status == Status.CLOSED
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "This ticket is closed." in page
    assert 'name="body"' not in page


def test_a_status_the_customer_may_not_set_is_refused_with_a_message(
    cast: Cast, ticket: Ticket
) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    response = client.post(
        f"/portal/tickets/{ticket.pk}/status/", {"status": "on_hold"}, follow=True
    )
    assert "cannot become on hold" in response.content.decode()
    response = client.post(f"/portal/tickets/{ticket.pk}/status/", {"status": "bogus"}, follow=True)
    assert response.status_code == 200
    assert _reload(cast, ticket).status == Status.NEW


def test_the_history_download_has_description_actions_times_and_resolution(
    cast: Cast, ticket: Ticket
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket,
            body="Please install version 4.2.",
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
        )
        ticket_reply(
            ticket=ticket,
            body="Internal: customer is on 4.1",
            public=False,
            channel=Channel.PORTAL,
            author=cast.agent,
        )
        ticket_change_status(
            ticket=ticket, status=Status.SOLVED, actor=cast.agent, channel=Channel.PORTAL
        )
    response = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{ticket.pk}/history/")
    text = response.content.decode()
    assert (
        response["Content-Disposition"] == f'attachment; filename="{ticket.reference}-history.txt"'
    )
    assert "The export stops & nothing happens." in text
    assert "Please install version 4.2." in text
    assert "Internal" not in text
    assert "2024-03-05 09:00" in text  # received, in the tenant's time zone
    assert "Solved" in text


def test_attachments_of_internal_notes_stay_internal(cast: Cast, ticket: Ticket) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket,
            body="See file",
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
            attachments=[SimpleUploadedFile("fix.txt", b"public fix", "text/plain")],
        )
        ticket_reply(
            ticket=ticket,
            body="Internal",
            public=False,
            channel=Channel.PORTAL,
            author=cast.agent,
            attachments=[SimpleUploadedFile("notes.txt", b"internal", "text/plain")],
        )
        public = Attachment.objects.get(filename="fix.txt")
        internal = Attachment.objects.get(filename="notes.txt")
    client = client_for(cast.customer, cast.tenant_a)
    response = client.get(f"/portal/attachments/{public.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"public fix"
    assert client.get(f"/portal/attachments/{internal.pk}/").status_code == 404
    assert "notes.txt" not in client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
