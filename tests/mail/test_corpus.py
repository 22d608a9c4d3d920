"""The e-mail corpus against real servers: each message is delivered into Dovecot, fetched by
the IMAP poller and processed; answers go out through the aiosmtpd capture server.

Every case starts from the same state: Carla's first mail (``new_request.eml``) has become a
ticket and she has the automatic confirmation, whose Message-ID replies can point at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import pytest
import time_machine
from django_scopes import scope

from contracts.models import Contact
from tests.conftest import Cast
from tests.mail.conftest import SUPPORT_ADDRESS, corpus
from tests.mail.servers import ImapServer, SmtpCapture
from tests.portal.conftest import stockholm
from tickets.mail import tasks
from tickets.mail.models import (
    EmailBounce,
    InboundEmail,
    InboundOutcome,
    Mailbox,
    OutboundEmail,
    OutboundStatus,
)
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.mail

NOW = stockholm(2024, 3, 5, 9, 30)


@dataclass
class World:
    cast: Cast
    imap: ImapServer
    smtp: SmtpCapture
    mailbox: Mailbox
    capture: Any
    ticket: Ticket | None = None
    confirmation_id: str = ""

    def deliver_and_poll(self, raw: bytes) -> None:
        self.imap.deliver(raw)
        self.poll()

    def poll(self) -> None:
        with self.capture(execute=True):
            tasks.mailbox_poll.delay(self.cast.tenant_a.pk, self.mailbox.pk)

    def counts(self) -> tuple[int, int]:
        with scope(tenant=self.cast.tenant_a):
            return Ticket.objects.count(), Message.objects.count()

    def mails_to(self, address: str) -> list[Any]:
        return [message_from_bytes(m.raw) for m in self.smtp.to(address)]


@pytest.fixture
def world(
    cast: Cast,
    imap: ImapServer,
    smtp: SmtpCapture,
    mailbox: Mailbox,
    django_capture_on_commit_callbacks: Any,
) -> Any:
    with time_machine.travel(NOW, tick=False):
        w = World(cast, imap, smtp, mailbox, django_capture_on_commit_callbacks)
        w.deliver_and_poll(corpus("new_request.eml"))
        with scope(tenant=cast.tenant_a):
            w.ticket = Ticket.objects.get()
        (confirmation,) = w.mails_to("carla@orga.example.test")
        w.confirmation_id = confirmation["Message-ID"].strip("<>")
        yield w


def test_a_new_mail_becomes_a_ticket_with_a_confirmation(world: World) -> None:
    ticket = world.ticket
    assert ticket is not None
    assert ticket.subject == "The invoice export stops at 99 rows"
    assert ticket.channel == "email"
    assert "stops after 99 rows" in ticket.description
    assert world.counts() == (1, 1)
    (confirmation,) = world.mails_to("carla@orga.example.test")
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert confirmation["In-Reply-To"] == "<new-request-1@mail.orga.example.test>"
    assert ticket.reference in confirmation["Subject"]
    body = confirmation.get_payload(decode=True).decode()
    # P3 (default): 12 business hours from Tue 09:30 -> Wed 15:30.
    assert "You will get a first response by tomorrow 15:30." in body
    assert world.imap.unseen() == 0


@dataclass
class Case:
    file: str
    new_tickets: int
    new_messages: int
    replies_to_sender: int
    sender: str
    outcome: str
    check: Callable[[World], None] | None = None
    setup: Callable[[World], None] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _bounce_is_kept_on_the_contact(world: World) -> None:
    with scope(tenant=world.cast.tenant_a):
        (bounce,) = EmailBounce.objects.all()
        assert bounce.contact_id == world.cast.customer_contact.pk
        assert bounce.status == "5.1.1"
        assert bounce.is_permanent
        assert OutboundEmail.objects.get(message_id=world.confirmation_id).status == (
            OutboundStatus.BOUNCED
        )


def _only_the_new_text_is_kept(world: World) -> None:
    with scope(tenant=world.cast.tenant_a):
        message = Message.objects.filter(ticket=world.ticket).latest("id")
    assert message.author_contact_id == world.cast.customer_contact.pk
    assert "export works again" in message.body or "99 rader" in message.body
    assert "Please install version 4.2" not in message.body
    assert "wrote" not in message.body and "Skickat" not in message.body


def _a_new_ticket_for_the_guesser(world: World) -> None:
    with scope(tenant=world.cast.tenant_a):
        newest = Ticket.objects.latest("id")
        assert newest.pk != world.ticket.pk  # type: ignore[union-attr]
        assert newest.requester.email == "mallory@orga.example.test"
        assert newest.subject.startswith(f"[{world.ticket.reference}]")  # type: ignore[union-attr]
        assert Message.objects.filter(ticket=world.ticket).count() == 1


def _mallory_is_a_contact_already(world: World) -> None:
    with scope(tenant=world.cast.tenant_a):
        Contact.objects.create(
            tenant=world.cast.tenant_a,
            organisation=world.cast.org_a,
            name="Mallory Guesser",
            email="mallory@orga.example.test",
        )


def _newest_ticket(world: World) -> Ticket:
    with scope(tenant=world.cast.tenant_a):
        return Ticket.objects.select_related("requester").latest("id")


def _latin1_is_decoded(world: World) -> None:
    ticket = _newest_ticket(world)
    assert ticket.subject == "Räksmörgås i lönefilen"
    assert "Lönefilen visar åäö som frågetecken" in ticket.description


def _cp1252_is_decoded(world: World) -> None:
    ticket = _newest_ticket(world)
    assert ticket.subject == "“Smart quotes” break the report"
    assert "the € sign" in ticket.description


def _unknown_charset_falls_back(world: World) -> None:
    assert "Grüße, åäö" in _newest_ticket(world).description


def _html_is_sanitized(world: World) -> None:
    description = _newest_ticket(world).description
    assert "Error 500" in description
    for bad in ("<script", "alert(", "onerror", "onload", "javascript:", "document.cookie"):
        assert bad not in description
    assert "<style" not in description and "color:red" not in description


def _attachment_is_kept(world: World) -> None:
    ticket = _newest_ticket(world)
    with scope(tenant=world.cast.tenant_a):
        (attachment,) = Attachment.objects.filter(ticket=ticket)
        assert attachment.filename == "error.log"
        assert attachment.file.read() == b"ERROR 2024-03-06 12:59:59 export failed\n"


def _newcomer_gets_an_account_and_a_link(world: World) -> None:
    ticket = _newest_ticket(world)
    with scope(tenant=world.cast.tenant_a):
        olle = Contact.objects.select_related("user").get(email="olle@orga.example.test")
    assert ticket.requester_id == olle.pk
    assert olle.name == "Olle Newcomer" and olle.organisation_id == world.cast.org_a.pk
    assert olle.user is not None
    (confirmation,) = world.mails_to("olle@orga.example.test")
    body = confirmation.get_payload(decode=True).decode()
    assert "We have created an account for you" in body
    assert "/portal/login/" in body


def _stranger_is_turned_away_politely(world: World) -> None:
    with scope(tenant=world.cast.tenant_a):
        assert not Contact.objects.filter(email="stranger@unknown.example.test").exists()
    (answer,) = world.mails_to("stranger@unknown.example.test")
    assert answer["Auto-Submitted"] == "auto-replied"
    assert "does not belong to one of our customers" in answer.get_payload(decode=True).decode()


def _kept_as_an_internal_note_on_the_ticket(world: World) -> None:
    assert world.ticket is not None
    with scope(tenant=world.cast.tenant_a):
        inbound = InboundEmail.objects.latest("id")
        note = Message.objects.get(pk=inbound.ticket_message_id)
    assert (inbound.ticket_id, note.ticket_id) == (world.ticket.pk, world.ticket.pk)
    assert (note.is_public, note.author_id, note.author_contact_id) == (False, None, None)
    assert "Automatic reply" in note.body


CASES = [
    Case("new_request.eml", 0, 0, 0, "carla@orga.example.test", InboundOutcome.TICKET_CREATED),
    # RFC 3834 auto-replies about Carla's ticket: an internal note on it, never answered.
    Case(
        "out_of_office_exchange.eml", 0, 1, 0, "nils@orga.example.test",
        InboundOutcome.AUTOMATIC_NOTE, _kept_as_an_internal_note_on_the_ticket,
    ),
    Case(
        "out_of_office_gmail.eml", 0, 1, 0, "carla@orga.example.test",
        InboundOutcome.AUTOMATIC_NOTE, _kept_as_an_internal_note_on_the_ticket,
    ),
    Case(
        "bounce_delivery_status.eml", 0, 0, 0, "mailer-daemon@mx.tenant-a.example.test",
        InboundOutcome.BOUNCE, _bounce_is_kept_on_the_contact,
    ),
    Case("list_mail.eml", 0, 0, 0, "news@orga.example.test", InboundOutcome.AUTOMATED),
    Case(
        "reply_stripped_subject.eml", 0, 1, 0, "carla@orga.example.test",
        InboundOutcome.REPLY_ADDED, _only_the_new_text_is_kept,
    ),
    Case(
        "reply_by_reference.eml", 0, 1, 0, "carla@orga.example.test",
        InboundOutcome.REPLY_ADDED, _only_the_new_text_is_kept,
    ),
    Case(
        "reply_non_participant_guessed_reference.eml", 1, 1, 1, "mallory@orga.example.test",
        InboundOutcome.TICKET_CREATED, _a_new_ticket_for_the_guesser, _mallory_is_a_contact_already,
    ),
    Case(
        "missing_message_id.eml", 1, 1, 1, "carla@orga.example.test",
        InboundOutcome.TICKET_CREATED,
    ),
    Case(
        "charset_latin1_8bit.eml", 1, 1, 1, "carla@orga.example.test",
        InboundOutcome.TICKET_CREATED, _latin1_is_decoded,
    ),
    Case(
        "charset_windows1252_qp.eml", 1, 1, 1, "carla@orga.example.test",
        InboundOutcome.TICKET_CREATED, _cp1252_is_decoded,
    ),
    Case(
        "charset_unknown_label.eml", 1, 1, 1, "carla@orga.example.test",
        InboundOutcome.TICKET_CREATED, _unknown_charset_falls_back,
    ),
    Case(
        "html_with_scripts.eml", 1, 1, 1, "carla@orga.example.test",
        InboundOutcome.TICKET_CREATED, _html_is_sanitized,
    ),
    Case("from_own_address.eml", 0, 0, 0, SUPPORT_ADDRESS, InboundOutcome.OWN_MAIL),
    Case(
        "noreply_sender.eml", 0, 0, 0, "no-reply@cloudvendor.example.test",
        InboundOutcome.AUTOMATED,
    ),
    Case(
        "unknown_sender_known_domain.eml", 1, 1, 1, "olle@orga.example.test",
        InboundOutcome.TICKET_CREATED, _newcomer_gets_an_account_and_a_link,
    ),
    Case(
        "unknown_sender_unknown_domain.eml", 0, 0, 1, "stranger@unknown.example.test",
        InboundOutcome.SENDER_REJECTED, _stranger_is_turned_away_politely,
    ),
    Case(
        "with_attachment.eml", 1, 1, 1, "carla@orga.example.test",
        InboundOutcome.TICKET_CREATED, _attachment_is_kept,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.file.removesuffix(".eml") for c in CASES])
def test_each_corpus_message_ends_in_the_right_tickets_and_answers(
    world: World, case: Case
) -> None:
    if case.setup is not None:
        case.setup(world)
    tickets_before, messages_before = world.counts()
    mails_before = len(world.mails_to(case.sender))
    raw = corpus(
        case.file,
        our_message_id=world.confirmation_id,
        reference=world.ticket.reference,  # type: ignore[union-attr]
    )
    world.deliver_and_poll(raw)
    tickets, messages = world.counts()
    assert tickets - tickets_before == case.new_tickets
    assert messages - messages_before == case.new_messages
    assert len(world.mails_to(case.sender)) - mails_before == case.replies_to_sender
    with scope(tenant=world.cast.tenant_a):
        inbound = InboundEmail.objects.latest("id")
    assert inbound.outcome == case.outcome
    if case.check is not None:
        case.check(world)
    assert world.imap.unseen() == 0


def test_the_same_message_delivered_twice_is_processed_once(world: World) -> None:
    raw = corpus("missing_message_id.eml")
    world.imap.deliver(raw)
    world.imap.deliver(raw)
    world.poll()
    world.deliver_and_poll(raw)
    assert world.counts() == (2, 2)
    with scope(tenant=world.cast.tenant_a):
        assert InboundEmail.objects.count() == 2
    assert len(world.mails_to("carla@orga.example.test")) == 2


def test_no_automated_mail_is_ever_answered(world: World) -> None:
    automated = [
        "out_of_office_exchange.eml",
        "out_of_office_gmail.eml",
        "bounce_delivery_status.eml",
        "list_mail.eml",
        "from_own_address.eml",
        "noreply_sender.eml",
    ]
    sent_before = len(world.smtp.messages)
    for name in automated:
        world.imap.deliver(corpus(name, our_message_id=world.confirmation_id))
    world.poll()
    assert len(world.smtp.messages) == sent_before
    # No new ticket; the two out-of-office replies are internal notes on Carla's ticket.
    assert world.counts() == (1, 3)
    with scope(tenant=world.cast.tenant_a):
        assert Message.objects.filter(is_public=True).count() == 1
        assert Message.objects.filter(is_public=False).count() == 2


def test_a_huge_attachment_is_left_out_with_a_note(world: World) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Carla Customer <carla@orga.example.test>"
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = "Full database dump"
    message["Message-ID"] = "<huge-1@mail.orga.example.test>"
    message.set_content("The dump and the log are attached.")
    message.add_attachment(b"\0" * (11 * 1024 * 1024), "application", "zip", filename="dump.zip")
    message.add_attachment(b"small log", "text", "plain", filename="small.log")
    world.deliver_and_poll(message.as_bytes())

    ticket = _newest_ticket(world)
    with scope(tenant=world.cast.tenant_a):
        assert [a.filename for a in Attachment.objects.filter(ticket=ticket)] == ["small.log"]
    assert "dump.zip (11.0 MB) was not kept: it is larger than 10.0 MB." in ticket.description


def test_a_reply_to_a_closed_ticket_opens_a_new_one(world: World) -> None:
    from tickets.choices import Channel, Status
    from tickets.services import ticket_change_status

    with scope(tenant=world.cast.tenant_a):
        for status in (Status.SOLVED, Status.CLOSED):
            ticket_change_status(
                ticket=world.ticket,  # type: ignore[arg-type]
                status=status,
                actor=world.cast.agent,
                channel=Channel.EMAIL,
            )
    world.deliver_and_poll(
        corpus("reply_stripped_subject.eml", our_message_id=world.confirmation_id)
    )
    newest = _newest_ticket(world)
    assert newest.pk != world.ticket.pk  # type: ignore[union-attr]
    assert f"Follow-up to the closed ticket {world.ticket.reference}." in newest.description  # type: ignore[union-attr]
