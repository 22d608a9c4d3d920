"""Nothing received is lost (#11, items 5-10): each corpus message goes through the
``email_ingest`` command (a mail server's pipe) *and* through a real Dovecot poll.

The corpus files were written for these tests with the headers the real senders use
(Postfix ``Received`` lines, Outlook's ``Thread-Index`` and TNEF correlator, Apple Mail's
boundaries, a Canon scanner's fixed Message-ID).
"""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
import webencodings
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone
from django_scopes import scope

from contracts.models import Contact
from tests.conftest import Cast, api_client_for, client_for
from tests.mail.conftest import SUPPORT_ADDRESS, corpus
from tests.mail.servers import SmtpCapture
from tests.portal.conftest import Desk, stockholm
from tickets.mail import tasks
from tickets.mail.inbound.base import parse_message
from tickets.mail.models import InboundEmail, InboundOutcome, InboundStatus, Mailbox
from tickets.mail.services import inbound as inbound_services
from tickets.mail.services.notifications import QUOTE_LIMIT
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.mail

NOW = stockholm(2024, 3, 5, 9, 45)
CARLA = "carla@orga.example.test"


@dataclass
class Intake:
    """One way mail arrives; ``deliver`` hands over a raw message and lets it be processed."""

    name: str
    cast: Cast
    smtp: SmtpCapture
    deliver: Callable[[bytes], None]
    unseen: Callable[[], int]

    def tickets(self) -> list[Ticket]:
        with scope(tenant=self.cast.tenant_a):
            return list(Ticket.objects.select_related("requester").order_by("id"))

    def newest(self) -> Ticket:
        (*_rest, ticket) = self.tickets()
        return ticket

    def first_message(self, ticket: Ticket) -> Message:
        with scope(tenant=self.cast.tenant_a):
            return Message.objects.filter(ticket=ticket).order_by("id").first()  # type: ignore[return-value]

    def inbound(self) -> list[InboundEmail]:
        with scope(tenant=self.cast.tenant_a):
            return list(InboundEmail.objects.order_by("id"))

    def attachments(self, ticket: Ticket) -> dict[str, bytes]:
        with scope(tenant=self.cast.tenant_a):
            return {a.filename: a.file.read() for a in Attachment.objects.filter(ticket=ticket)}


@pytest.fixture(params=["pipe", "imap"])
def intake(
    request: Any, cast: Cast, desk: Desk, smtp: SmtpCapture, tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> Iterator[Intake]:  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        if request.param == "imap":
            imap = request.getfixturevalue("imap")
            mailbox: Mailbox = request.getfixturevalue("mailbox")

            def deliver(raw: bytes) -> None:
                imap.deliver(raw)
                with django_capture_on_commit_callbacks(execute=True):
                    tasks.mailbox_poll.delay(cast.tenant_a.pk, mailbox.pk)

            yield Intake(request.param, cast, smtp, deliver, imap.unseen)
            return
        with scope(tenant=cast.tenant_a):
            Mailbox.objects.create(
                tenant=cast.tenant_a, name="Support", email_address=SUPPORT_ADDRESS,
                imap_host="127.0.0.1", imap_port=1, imap_use_ssl=False, imap_username="x",
                imap_password="x", is_active=False,
            )  # fmt: skip

        def pipe(raw: bytes) -> None:
            path = tmp_path / "message.eml"
            path.write_bytes(raw)
            with django_capture_on_commit_callbacks(execute=True):
                call_command("email_ingest", cast.tenant_a.slug, str(path), stdout=StringIO())

        yield Intake(request.param, cast, smtp, pipe, lambda: 0)


def _no_nul_anywhere(intake: Intake) -> None:
    """No text column of what the mail became holds a NUL (PostgreSQL would refuse it)."""
    with scope(tenant=intake.cast.tenant_a):
        rows: list[Any] = [
            *InboundEmail.objects.all(), *Ticket.objects.all(), *Message.objects.all(),
            *Contact.objects.all(), *Attachment.objects.all(),
        ]  # fmt: skip
    for row in rows:
        for field in row._meta.concrete_fields:
            value = getattr(row, field.attname)
            if isinstance(value, str):
                assert "\x00" not in value, (type(row).__name__, field.name)


# --- 5. Raw mail is stored first; NUL never stops it ------------------------------------------


def test_nul_bytes_in_headers_and_body_are_dropped_and_the_mail_becomes_a_ticket(
    intake: Intake,
) -> None:
    intake.deliver(corpus("nul_bytes.eml"))
    (inbound,) = intake.inbound()
    # Stored as handed over: with NUL from the pipe; Dovecot hands NUL back as 0x80.
    nul = b"\x00" if intake.name == "pipe" else b"\x80"
    assert bytes(inbound.raw).count(nul) == 4
    assert inbound.outcome == InboundOutcome.TICKET_CREATED
    ticket = intake.newest()
    assert ticket.subject.replace("€", "") == "Export report is empty"
    assert "empty since the upgrade" in intake.first_message(ticket).body.replace("€", "")
    _no_nul_anywhere(intake)
    assert intake.unseen() == 0


def _plain(**parts: str) -> bytes:
    """A message assembled from named parts, so each can be given a NUL in turn."""
    p = {
        "name": "Carla Customer", "address": CARLA, "subject": "Printing fails",
        "message_id": "<gen-1@mail.orga.example.test>", "date": "Tue, 05 Mar 2024 09:00:00 +0100",
        "cc": "nils@orga.example.test", "in_reply_to": "<unknown-1@mail.orga.example.test>",
        "charset": "utf-8", "filename": "printer.log", "text": "The printer stops.",
        "html": "<p>The printer stops.</p>", "log": "paper jam",
    } | parts  # fmt: skip
    return (
        f'From: "{p["name"]}" <{p["address"]}>\nTo: {SUPPORT_ADDRESS}\nCc: {p["cc"]}\n'
        f"Subject: {p['subject']}\nDate: {p['date']}\nMessage-ID: {p['message_id']}\n"
        f"In-Reply-To: {p['in_reply_to']}\nReferences: {p['in_reply_to']}\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        '--b1\nContent-Type: multipart/alternative; boundary="b2"\n\n'
        f'--b2\nContent-Type: text/plain; charset="{p["charset"]}"\n\n{p["text"]}\n'
        f'--b2\nContent-Type: text/html; charset="{p["charset"]}"\n\n{p["html"]}\n--b2--\n'
        f'--b1\nContent-Type: text/plain; name="{p["filename"]}"\n'
        f'Content-Disposition: attachment; filename="{p["filename"]}"\n\n{p["log"]}\n--b1--\n'
    ).encode("utf-8", "surrogateescape")


TEXT_FIELDS = [
    "name", "subject", "message_id", "date", "cc", "in_reply_to", "charset", "filename",
    "text", "html", "log",
]  # fmt: skip


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_a_nul_in_any_part_of_a_message_loses_nothing(intake: Intake, field: str) -> None:
    value = {
        "message_id": "<gen-1\x00@mail.orga.example.test>",
        "in_reply_to": "<unknown-1\x00@mail.orga.example.test>",
        "charset": "utf-\x008",
        "date": "Tue, 05 Mar 2024 09:00:00\x00 +0100",
    }.get(field, f"Printer\x00 {field}")
    intake.deliver(_plain(**{field: value}))
    (inbound,) = intake.inbound()
    assert inbound.status == InboundStatus.PROCESSED, inbound.note
    assert inbound.outcome == InboundOutcome.TICKET_CREATED
    assert len(intake.tickets()) == 1
    _no_nul_anywhere(intake)


def test_one_message_that_fails_does_not_stop_the_others_of_the_poll(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = inbound_services._process

    def fail_on_boom(inbound: InboundEmail) -> None:
        if "boom" in inbound.subject:
            raise RuntimeError("simulated fault while processing")
        process(inbound)

    monkeypatch.setattr(inbound_services, "_process", fail_on_boom)
    for n, subject in enumerate(["First", "boom", "Third"]):
        # Each its own text: the same words again from the same sender would be a repeat.
        text = f"The printer stops ({subject})."
        intake.deliver(
            _plain(
                subject=subject,
                message_id=f"<poll-{n}@mail.orga.example.test>",
                text=text,
                html=f"<p>{text}</p>",
            )
        )
    assert [t.subject for t in intake.tickets()] == ["First", "Third"]
    statuses = [(r.subject, r.status) for r in intake.inbound()]
    assert statuses == [
        ("First", InboundStatus.PROCESSED),
        ("boom", InboundStatus.FAILED),
        ("Third", InboundStatus.PROCESSED),
    ]
    assert intake.unseen() == 0


def test_a_message_the_database_refuses_is_still_stored_under_an_id_of_its_bytes(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = inbound_services._inbound_store
    refused: list[str] = []

    def refuse_once(**fields: Any) -> InboundEmail:
        if not refused:
            refused.append(fields["message_id"])
            raise DatabaseError("value too long for type character varying(255)")
        return store(**fields)

    monkeypatch.setattr(inbound_services, "_inbound_store", refuse_once)
    raw = corpus("new_request.eml")
    intake.deliver(raw)
    (inbound,) = intake.inbound()
    assert refused == ["new-request-1@mail.orga.example.test"]
    assert inbound.message_id.endswith("@derived.invalid")
    assert bytes(inbound.raw).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    # Stored as failed, then processed from its bytes as any other message.
    assert inbound.outcome == InboundOutcome.TICKET_CREATED
    assert intake.unseen() == 0


# --- 6. Failed processing is visible and retried ---------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_raw_8bit_display_name_becomes_the_new_contacts_name(
    intake: Intake, encoding: str
) -> None:
    raw = corpus("raw_8bit_display_name.eml")
    raw = raw.replace("Åsa Öberg".encode(), "Åsa Öberg".encode(encoding))
    intake.deliver(raw)
    (inbound,) = intake.inbound()
    assert inbound.outcome == InboundOutcome.TICKET_CREATED, inbound.note
    ticket = intake.newest()
    assert ticket.requester.name == "Åsa Öberg"
    assert ticket.subject == "Lönekörningen stannar på steg 3"


def _failing(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Processing fails while the returned switch is on, as during a database outage."""
    switch = [True]
    process = inbound_services._process

    def maybe_fail(inbound: InboundEmail) -> None:
        if switch[0]:
            raise RuntimeError("database is starting up")
        process(inbound)

    monkeypatch.setattr(inbound_services, "_process", maybe_fail)
    return switch


def test_failed_mail_is_retried_with_back_off_then_given_up_visibly(
    intake: Intake, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    _failing(monkeypatch)
    intake.deliver(corpus("new_request.eml"))

    def beat(at: Any) -> None:
        with time_machine.travel(at, tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                tasks.mail_requeue_stuck.delay()

    waits = []
    for _attempt in range(inbound_services.INBOUND_MAX_ATTEMPTS + 2):
        (row,) = intake.inbound()
        assert row.status == InboundStatus.FAILED and "database is starting up" in row.note
        if row.next_attempt_at is None:
            break
        waits.append(round((row.next_attempt_at - row.received_at).total_seconds() / 60))
        beat(row.next_attempt_at - timezone.timedelta(seconds=1))  # not yet due: no attempt
        assert intake.inbound()[0].attempts == row.attempts
        beat(row.next_attempt_at)
        assert intake.inbound()[0].attempts == row.attempts + 1
    # Each wait counted from the attempt before it: 10, 20, 40, 80 and 160 minutes.
    gaps = [b - a for a, b in zip([0, *waits], waits, strict=False)]
    assert gaps == [10, 20, 40, 80, 160][-len(gaps) :] and len(gaps) >= 4
    (row,) = intake.inbound()
    assert row.gave_up and row.attempts == inbound_services.INBOUND_MAX_ATTEMPTS
    beat(row.received_at + timezone.timedelta(days=2))
    assert intake.inbound()[0].attempts == row.attempts  # given up: the beat leaves it
    admin = client_for(intake.cast.admin, intake.cast.tenant_a)
    page = _unprocessed_section(admin.get("/manage/mailboxes/").content.decode())
    assert "database is starting up" in page and "no more automatic retries" in page


def _unprocessed_section(page: str) -> str:
    return page.split('id="unprocessed"', 1)[1].split("Latest received mail", 1)[0]


def test_the_admin_sees_a_failed_message_and_retries_or_discards_it(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch = _failing(monkeypatch)
    intake.deliver(corpus("new_request.eml"))
    intake.deliver(_plain(subject="Second", message_id="<second-1@mail.orga.example.test>"))
    first, second = intake.inbound()
    admin = client_for(intake.cast.admin, intake.cast.tenant_a)
    page = _unprocessed_section(admin.get("/manage/mailboxes/").content.decode())
    assert page.count("database is starting up") == 2
    assert f"/manage/mailboxes/inbound/{first.pk}/retry/" in page

    still = admin.post(f"/manage/mailboxes/inbound/{first.pk}/retry/", follow=True)
    assert "Still failing: RuntimeError: database is starting up" in still.content.decode()
    switch[0] = False
    done = admin.post(f"/manage/mailboxes/inbound/{first.pk}/retry/", follow=True)
    assert "Processed: New ticket" in done.content.decode()
    assert [t.subject for t in intake.tickets()] == ["The invoice export stops at 99 rows"]

    admin.post(f"/manage/mailboxes/inbound/{second.pk}/discard/")
    second.refresh_from_db()
    assert second.status == InboundStatus.DISCARDED and second.next_attempt_at is None
    page = _unprocessed_section(admin.get("/manage/mailboxes/").content.decode())
    assert "database is starting up" not in page
    # Discarded mail is never processed again, not even by the beat task.
    with time_machine.travel(NOW + timezone.timedelta(days=1)):
        tasks.mail_requeue_stuck.delay()
    assert len(intake.tickets()) == 1
    # Only failed mail can be discarded; an agent cannot do either.
    refused = admin.post(f"/manage/mailboxes/inbound/{first.pk}/discard/", follow=True)
    assert "Only mail whose processing failed can be discarded." in refused.content.decode()
    agent = client_for(intake.cast.agent, intake.cast.tenant_a)
    assert agent.post(f"/manage/mailboxes/inbound/{first.pk}/retry/").status_code == 404


# --- 7. Text is kept as written --------------------------------------------------------------


def test_plain_text_is_stored_as_written_and_escaped_when_shown(intake: Intake) -> None:
    intake.deliver(corpus("plain_text_angle_brackets.eml"))
    ticket = intake.newest()
    message = intake.first_message(ticket)
    assert ticket.subject == "SOAP <Fault> from <hubs-prod-2>"
    assert "<soap:Fault><faultcode>Server</faultcode></soap:Fault>" in message.body
    assert "as soon as <hubs-prod-2> takes the call" in message.body
    assert "a & b < c." in message.body
    shown = str(message.body_html())
    assert "&lt;hubs-prod-2&gt;" in shown and "&lt;script&gt;" in shown
    assert "<script>" not in shown
    agent = client_for(intake.cast.agent, intake.cast.tenant_a)
    page = agent.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "&lt;soap:Fault&gt;" in page and "<script>alert(1)" not in page
    history = agent.get(f"/agent/tickets/{ticket.pk}/history.txt").content.decode()
    assert "as soon as <hubs-prod-2> takes the call" in history
    # API clients are told the body is text, to escape, not HTML to insert.
    api = api_client_for(intake.cast.agent, intake.cast.tenant_a)
    (created,) = [e for e in api.get(f"/api/v1/tickets/{ticket.pk}/events/").json() if e["message"]]
    assert created["message"]["is_plain_text"] is True


@pytest.mark.parametrize(
    ("file", "attachment"),
    [
        ("apple_mail_text_after_attachment.eml", "invoice-1042.pdf"),
        ("text_after_attached_message.eml", "Reminder.eml"),
    ],
)
def test_text_after_an_attachment_or_an_attached_message_is_kept(
    intake: Intake, file: str, attachment: str
) -> None:
    intake.deliver(corpus(file))
    ticket = intake.newest()
    body = intake.first_message(ticket).body
    first, second = {
        "invoice-1042.pdf": ("the invoice as it prints", "VAT line is printed twice"),
        "Reminder.eml": ("The bank sent this:", "why is it empty?"),
    }[attachment]
    assert body.index(first) < body.index(second)
    assert "payment file was rejected" not in body  # the attached message stays attached
    assert list(intake.attachments(ticket)) == [attachment]


def test_a_part_labelled_iso_8859_1_is_read_as_windows_1252(intake: Intake) -> None:
    intake.deliver(corpus("outlook_iso_8859_1_dashes.eml"))
    ticket = intake.newest()
    assert ticket.subject == "Rapporten – fel värden"
    assert "rapporten – den för mars – visar “fel” värden…" in intake.first_message(ticket).body
    assert not re.search("[\x80-\x9f]", ticket.subject + intake.first_message(ticket).body)


# --- 8. Duplicates by Message-ID and content -------------------------------------------------


def _scan(page: bytes, date: str = "Tue, 05 Mar 2024 09:41:00 +0100") -> bytes:
    return corpus(
        "scanner_fixed_message_id.eml",
        scan=base64.encodebytes(b"%PDF-1.4\n" + page).decode().strip(),
        filename="scan.pdf",
        date=date,
    )


def test_a_scanner_reusing_one_message_id_loses_no_scan(intake: Intake) -> None:
    intake.deliver(_scan(b"page one"))
    intake.deliver(_scan(b"page two", "Tue, 05 Mar 2024 09:42:00 +0100"))
    intake.deliver(_scan(b"page one"))  # the first scan again: a true duplicate
    tickets = intake.tickets()
    assert len(tickets) == 2
    assert [intake.attachments(t)["scan.pdf"][9:] for t in tickets] == [b"page one", b"page two"]
    assert len(intake.inbound()) == 2


def test_the_same_message_delivered_with_other_transport_headers_is_a_duplicate(
    intake: Intake,
) -> None:
    raw = corpus("new_request.eml")
    intake.deliver(raw)
    relayed = b"Received: from relay2.orga.example.test by mx2.tenant-a.example.test\n" + raw
    intake.deliver(relayed.replace(b"\n", b"\r\n"))
    assert len(intake.tickets()) == 1 and len(intake.inbound()) == 1
    assert len(intake.smtp.to(CARLA)) == 1


# --- 9. Big mail ------------------------------------------------------------------------------


def test_notifications_quote_a_few_kb_of_a_big_mail_and_link_to_the_ticket(
    intake: Intake,
) -> None:
    log = "\n".join(
        f"2024-03-05 02:{n % 60:02d} worker[{n}] retrying batch {n}" for n in range(60000)
    )
    intake.deliver(corpus("big_body.eml", body=log))
    ticket = intake.newest()
    assert "END OF LOG" in intake.first_message(ticket).body  # the ticket keeps all of it
    assert len(log) > 2_000_000
    agent_mails = [message_from_bytes(m.raw) for m in intake.smtp.to(intake.cast.agent.email)]
    (notice,) = agent_mails
    body = notice.get_payload(decode=True).decode()
    assert len(body) < QUOTE_LIMIT + 1000
    assert "The log of last night:" in body and "END OF LOG" not in body
    assert "read all of it on the ticket" in body
    assert f"/agent/tickets/{ticket.pk}/" in body


# --- 10. TNEF winmail.dat --------------------------------------------------------------------


def test_the_files_inside_winmail_dat_are_kept(intake: Intake) -> None:
    intake.deliver(corpus("tnef_winmail_dat.eml"))
    ticket = intake.newest()
    assert intake.attachments(ticket) == {
        "audit-2024.csv": b"account;amount\n1930;1200.00\n",
        "Löner mars.txt": b"salary run 3 of 4\n",
    }
    assert "winmail.dat" not in intake.first_message(ticket).body


def test_a_winmail_dat_that_cannot_be_read_is_said_on_the_ticket(intake: Intake) -> None:
    intake.deliver(corpus("tnef_winmail_dat_damaged.eml"))
    ticket = intake.newest()
    body = intake.first_message(ticket).body
    assert "Attachment winmail.dat (Outlook rich text, TNEF) could not be read" in body
    assert intake.attachments(ticket) == {}


def test_every_corpus_message_of_this_module_is_stored_as_received(intake: Intake) -> None:
    names = [
        "nul_bytes.eml", "raw_8bit_display_name.eml", "plain_text_angle_brackets.eml",
        "apple_mail_text_after_attachment.eml", "text_after_attached_message.eml",
        "outlook_iso_8859_1_dashes.eml", "tnef_winmail_dat.eml",
        "tnef_winmail_dat_damaged.eml",
    ]  # fmt: skip
    for name in names:
        intake.deliver(corpus(name))
    stored = intake.inbound()
    assert [r.status for r in stored] == [InboundStatus.PROCESSED] * len(names)
    for row, name in zip(stored, names, strict=True):
        sent = corpus(name).replace(b"\r\n", b"\n")
        if intake.name == "imap":
            sent = sent.replace(b"\x00", b"\x80")  # what Dovecot makes of NUL
        assert bytes(row.raw).replace(b"\r\n", b"\n") == sent


# --- Every charset label, as browsers read it ------------------------------------------------

SAMPLE = "åäöéü–€“”…ąłğşяжαβשضกあ中한"


def _codec(label: str) -> Any:
    """The codec a WHATWG reader uses for ``label``; Python's for "replacement" labels."""
    encoding = webencodings.lookup(label)
    if encoding.name != "replacement":
        return encoding.codec_info
    try:
        return codecs.lookup(label)
    except LookupError:
        return None


@pytest.mark.parametrize("label", sorted(webencodings.LABELS))
def test_a_part_under_every_charset_label_is_decoded_as_browsers_decode_it(label: str) -> None:
    codec = _codec(label)
    if codec is None:
        pytest.skip(f"{label}: no decoder anywhere (WHATWG says replacement, Python has none)")
    sample = "".join(ch for ch in SAMPLE if _encodes(codec, ch))
    text = f"Fel {sample} rapport"
    payload = base64.encodebytes(codec.encode(text)[0]).decode()
    raw = (
        f"From: carla@orga.example.test\nSubject: x\nMIME-Version: 1.0\n"
        f'Content-Type: text/plain; charset="{label}"\nContent-Transfer-Encoding: base64\n\n'
        f"{payload}"
    ).encode()
    assert parse_message(raw).text == text


def _encodes(codec: Any, ch: str) -> bool:
    try:
        return codec.decode(codec.encode(ch)[0])[0] == ch
    except (UnicodeError, ValueError):
        return False


# --- 11. SoftOne: a first-time colleague gets the account and its link ----------------------


@pytest.mark.parametrize("named_only", [True, False], ids=["refused", "billable"])
def test_a_colleague_writing_first_gets_a_portal_account_and_the_link_in_their_language(
    intake: Intake, desk: Desk, named_only: bool
) -> None:
    cast = intake.cast
    with scope(tenant=cast.tenant_a):
        cast.org_a.language = "sv"
        cast.org_a.save()
        if named_only:
            desk.plan.named_contacts_only = True
        else:
            desk.plan.included_categories = []
        desk.plan.save()
    intake.deliver(corpus("unknown_colleague_not_named.eml"))
    (inbound,) = intake.inbound()
    assert inbound.outcome == (
        InboundOutcome.REFUSED if named_only else InboundOutcome.NEEDS_ACCEPTANCE
    )
    with scope(tenant=cast.tenant_a):
        britt = Contact.objects.select_related("user").get(email="britt.lind@orga.example.test")
    assert britt.name == "Britt Lind" and britt.user is not None
    (answer,) = [message_from_bytes(m.raw) for m in intake.smtp.to(britt.email)]
    text = answer.get_payload(decode=True).decode()
    assert "Hej Britt Lind," in text
    assert "Vi har skapat ett konto åt dig" in text
    assert re.search(r"https?://\S+/portal/login/\S+", text)
