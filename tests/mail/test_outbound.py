"""Outgoing mail through a real SMTP server: the outbox, stable Message-IDs, threading, and
the notifications ticket events cause."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message as MailMessage
from typing import Any

import pytest
import time_machine
from django_scopes import scope

from contracts.models import Contact
from tests.conftest import Cast
from tests.mail.conftest import SUPPORT_ADDRESS, corpus, sender_mailbox
from tests.mail.servers import SmtpCapture, html_of, text_of
from tests.portal.conftest import Desk, stockholm
from tickets.choices import Channel, Status
from tickets.mail import services
from tickets.mail.models import (
    InboundEmail,
    Mailbox,
    OutboundEmail,
    OutboundKind,
    OutboundStatus,
)
from tickets.models import Message, Ticket
from tickets.services import ticket_change_status, ticket_reply

pytestmark = pytest.mark.mail

NOW = stockholm(2024, 3, 5, 9, 30)
CARLA = "carla@orga.example.test"


@pytest.fixture
def sender(cast: Cast, desk: Desk) -> Mailbox:
    """Tenant A's mailbox, only as the address mail comes from (no IMAP in these tests)."""
    return sender_mailbox(cast)


def receive(cast: Cast, raw: bytes, capture: Any) -> InboundEmail:
    """Store and process one message, with everything it enqueues run."""
    with capture(execute=True), scope(tenant=cast.tenant_a):
        inbound, _created = services.email_ingest(tenant=cast.tenant_a, raw=raw)
    with scope(tenant=cast.tenant_a):
        return InboundEmail.objects.get(pk=inbound.pk)


def mails(smtp: SmtpCapture, to: str) -> list[MailMessage]:
    return [message_from_bytes(m.raw) for m in smtp.to(to)]


def body(mail: MailMessage) -> str:
    return text_of(mail)


def test_a_failed_send_is_retried_with_the_same_message_id(
    cast: Cast, sender: Mailbox, settings: Any
) -> None:
    capture = SmtpCapture()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens: the first attempt fails
    settings.EMAIL_TIMEOUT = 5
    with scope(tenant=cast.tenant_a):
        outbound = services.mail_enqueue(
            tenant=cast.tenant_a,
            key="test:retry",
            kind=OutboundKind.LOGIN_LINK,
            to=CARLA,
            subject="Hello",
            body="Body",
        )
        with pytest.raises(services.MailDeliveryError):
            services.mail_send(outbound_id=outbound.pk)
        outbound.refresh_from_db()
        assert (outbound.status, outbound.attempts) == (OutboundStatus.QUEUED, 1)

        capture.start()
        try:
            settings.EMAIL_PORT = capture.port
            services.mail_send(outbound_id=outbound.pk)
            services.mail_send(outbound_id=outbound.pk)  # a redelivered task: sent already
        finally:
            capture.stop()
        outbound.refresh_from_db()
    (sent,) = mails(capture, CARLA)
    assert (outbound.status, outbound.attempts) == (OutboundStatus.SENT, 2)
    assert sent["Message-ID"] == f"<{outbound.message_id}>"
    assert outbound.message_id == OutboundEmail.message_id_for(
        tenant_id=cast.tenant_a.pk, key="test:retry", domain="tenant-a.example.test"
    )
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-Supportdesk-Loop"] == str(cast.tenant_a.pk)


def test_enqueueing_the_same_notification_twice_sends_it_once(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
        for _ in range(2):
            services.mail_enqueue(
                tenant=cast.tenant_a,
                key="test:once",
                kind=OutboundKind.LOGIN_LINK,
                to=CARLA,
                subject="Hello",
                body="Body",
            )
    assert len(mails(smtp, CARLA)) == 1


def test_a_refused_recipient_fails_for_good(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    smtp.refuse.add("gone@orga.example.test")
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
        outbound = services.mail_enqueue(
            tenant=cast.tenant_a,
            key="test:gone",
            kind=OutboundKind.LOGIN_LINK,
            to="gone@orga.example.test",
            subject="Hello",
            body="Body",
        )
    with scope(tenant=cast.tenant_a):
        outbound.refresh_from_db()
    assert outbound.status == OutboundStatus.FAILED
    assert "gone@orga.example.test" in outbound.last_error


@time_machine.travel(NOW, tick=False)
def test_an_agent_reply_reaches_the_customer_in_the_thread_and_the_answer_comes_back(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    receive(cast, corpus("new_request.eml"), django_capture_on_commit_callbacks)
    (confirmation,) = mails(smtp, CARLA)
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket,
            body="Please install <b>version 4.2</b> & try again.",
            public=True,
            channel=Channel.PORTAL,
            author=cast.agent,
        )
    confirmation_id, reply = confirmation["Message-ID"], mails(smtp, CARLA)[1]
    assert reply["Subject"] == f"[{ticket.reference}] The invoice export stops at 99 rows"
    assert reply["In-Reply-To"] == confirmation_id
    assert reply["References"].split() == [
        "<new-request-1@mail.orga.example.test>",
        confirmation_id,
    ]
    assert reply["Auto-Submitted"] is None  # a person wrote it
    text = body(reply)
    assert "Please install version 4.2 & try again." in text
    assert text.startswith("##- Please type your reply above this line -##")
    # The same reply as HTML, beside the text (multipart/alternative), marker included.
    html = html_of(reply)
    assert "Please install <b>version 4.2</b> &amp; try again." in html and "##-" in html

    answer = (
        f"From: Carla Customer <{CARLA}>\r\nTo: {SUPPORT_ADDRESS}\r\n"
        f"Subject: Re: {reply['Subject']}\r\nMessage-ID: <answer-1@mail.orga.example.test>\r\n"
        f"In-Reply-To: {reply['Message-ID']}\r\n\r\nDone, it works.\r\n\r\n"
        f"> ##- Please type your reply above this line -##\r\n> {text}\r\n"
    )
    inbound = receive(cast, answer.encode(), django_capture_on_commit_callbacks)
    assert inbound.ticket_id == ticket.pk
    with scope(tenant=cast.tenant_a):
        assert Message.objects.filter(ticket=ticket).latest("id").body == "Done, it works."
    notices = mails(smtp, "a-agent@example.test")
    assert [m["Subject"] for m in notices] == [
        f"[{ticket.reference}] New ticket: The invoice export stops at 99 rows",
        f"[{ticket.reference}] Customer reply: The invoice export stops at 99 rows",
    ]
    assert "Done, it works." in body(notices[1])


@time_machine.travel(NOW, tick=False)
def test_the_customer_hears_when_the_ticket_waits_on_them_and_when_it_is_solved(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    receive(cast, corpus("new_request.eml"), django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get()
    for status in (Status.PENDING, Status.SOLVED):
        with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
            ticket_change_status(ticket=ticket, status=status, actor=cast.agent, channel="email")
    _confirmation, pending, solved, rating = mails(smtp, CARLA)
    assert "Waiting for your answer" in pending["Subject"]
    assert solved["Subject"].startswith(f"[{ticket.reference}] Solved:")
    assert solved["Auto-Submitted"] == "auto-generated"
    assert "reopen the ticket" in body(solved)
    # and, on its own, the question how we did (tests/tickets/test_csat.py)
    assert rating["Subject"].startswith(f"[{ticket.reference}] How did we do?")
    assert rating["Auto-Submitted"] == "auto-generated"


@time_machine.travel(NOW, tick=False)
def test_a_customer_closing_their_own_ticket_gets_no_mail_about_it(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    receive(cast, corpus("new_request.eml"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
        ticket_change_status(
            ticket=Ticket.objects.get(),
            status=Status.SOLVED,
            actor=cast.customer,
            channel=Channel.PORTAL,
            contact=cast.customer_contact,
        )
    assert len(mails(smtp, CARLA)) == 1  # the confirmation only


def _new_mail(n: int, subject: str = "") -> bytes:
    return (
        f"From: {CARLA}\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: {subject or f'Question {n}'}\r\n"
        f"Message-ID: <q{n}@mail.orga.example.test>\r\n\r\nQuestion number {n}.\r\n"
    ).encode()


def test_every_distinct_mail_gets_its_ticket_number(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    # ITSL promises a confirmation with the ticket number for every e-mail.
    with time_machine.travel(NOW, tick=False):
        for n in range(8):
            receive(cast, _new_mail(n), django_capture_on_commit_callbacks)
    assert len(mails(smtp, CARLA)) == 8
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 8


@pytest.mark.parametrize("limit", [1, 3])
def test_repeats_about_one_subject_are_confirmed_up_to_the_tenants_limit_and_noted(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any,
    limit: int,
) -> None:  # fmt: skip
    cast.tenant_a.auto_reply_repeat_limit = limit
    cast.tenant_a.save()
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(5):
            receive(cast, _new_mail(n, "Re: Printer on fire"), django_capture_on_commit_callbacks)
        assert len(mails(smtp, CARLA)) == limit
        with scope(tenant=cast.tenant_a):
            assert Ticket.objects.count() == 5  # every mail is still a ticket
            notes = Message.objects.filter(is_public=False, author__isnull=True)
            assert notes.count() == 5 - limit  # each withheld confirmation is on its ticket
            assert all("No confirmation was sent to carla@" in m.body for m in notes)
        clock.shift(3601)
        receive(cast, _new_mail(5, "Printer on fire"), django_capture_on_commit_callbacks)
    assert len(mails(smtp, CARLA)) == limit + 1


@time_machine.travel(NOW, tick=False)
def test_anyone_may_write_when_the_tenant_allows_it_and_is_told_why_it_was_refused(
    cast: Cast, sender: Mailbox, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    cast.tenant_a.allow_unknown_senders = True
    cast.tenant_a.save()
    inbound = receive(
        cast, corpus("unknown_sender_unknown_domain.eml"), django_capture_on_commit_callbacks
    )
    # Registered as a contact, but with no organisation there is no contract to ask under.
    assert inbound.outcome == "refused"
    (answer,) = mails(smtp, "stranger@unknown.example.test")
    assert "Stella Stranger belongs to no customer organisation." in body(answer)
    assert answer["Auto-Submitted"] == "auto-replied"


@time_machine.travel(NOW, tick=False)
def test_billable_mail_asks_the_customer_to_accept_in_the_portal(
    cast: Cast, desk: Desk, sender: Mailbox, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with scope(tenant=cast.tenant_a):
        desk.plan.included_categories = []
        desk.plan.save()
    inbound = receive(cast, corpus("new_request.eml"), django_capture_on_commit_callbacks)
    assert inbound.outcome == "needs_acceptance"
    (answer,) = mails(smtp, CARLA)
    assert "/portal/new/" in body(answer)
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_the_reasons_in_an_answer_are_in_the_recipients_language_not_the_requests(
    cast: Cast, desk: Desk, sender: Mailbox, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    """The mail is taken in while Swedish is active (a Swedish tenant's worker); Carla reads
    Dutch: the whole answer, the entitlement reasons included, is Dutch."""
    from django.utils import translation

    with scope(tenant=cast.tenant_a):
        desk.plan.included_categories = []
        desk.plan.save()
        Contact.objects.filter(email=CARLA).update(language="nl")
    with translation.override("sv"):
        receive(cast, corpus("new_request.eml"), django_capture_on_commit_callbacks)
    (answer,) = mails(smtp, CARLA)
    text = body(answer)
    assert "valt buiten het pakket" in text
    assert "ligger utanför" not in text and "outside the scope" not in text
