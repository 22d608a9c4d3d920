"""Polling mailboxes: every tenant's own mailbox, failures kept for the admin, nothing lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from tests.conftest import Cast
from tests.mail.conftest import corpus
from tests.mail.servers import ImapServer, SmtpCapture
from tickets.mail import services, tasks
from tickets.mail.models import InboundEmail, InboundStatus, Mailbox
from tickets.models import Ticket

pytestmark = pytest.mark.mail


def test_the_beat_task_polls_each_tenants_mailbox_in_its_own_scope(
    cast: Cast, mailbox: Mailbox, imap: ImapServer, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with scope(tenant=cast.tenant_b):
        Mailbox.objects.create(
            tenant=cast.tenant_b,
            name="B",
            email_address="support@tenant-b.example.test",
            imap_host="127.0.0.1",
            imap_port=1,  # nothing listens: B's failure must not stop A's poll
            imap_use_ssl=False,
            imap_username="b",
            imap_password="b",
        )
    imap.deliver(corpus("new_request.eml"))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.mailboxes_poll.delay().get() == 2
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 1
    with scope(tenant=cast.tenant_b):
        failed = Mailbox.objects.get()
        assert failed.last_error and failed.last_polled_at is not None
        assert Ticket.objects.count() == 0


def test_a_wrong_password_is_kept_on_the_mailbox_and_the_mail_stays_unread(
    cast: Cast, mailbox: Mailbox, imap: ImapServer
) -> None:
    imap.deliver(corpus("new_request.eml"))
    with scope(tenant=cast.tenant_a):
        mailbox.imap_password = "wrong"
        mailbox.save()
        assert services.mailbox_poll(mailbox=mailbox) == 0
        mailbox.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in mailbox.last_error or "failed" in mailbox.last_error.lower()
    assert imap.password not in mailbox.last_error
    assert imap.unseen() == 1


def test_mail_is_stored_before_processing_and_a_lost_task_is_picked_up_again(
    cast: Cast, mailbox: Mailbox, imap: ImapServer, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    imap.deliver(corpus("new_request.eml"))
    # Storing commits without running the processing task: as if the broker lost it.
    with scope(tenant=cast.tenant_a):
        assert services.mailbox_poll(mailbox=mailbox) == 1
        inbound = InboundEmail.objects.get()
        assert inbound.status == InboundStatus.RECEIVED
        assert bytes(inbound.raw) == imap_raw_of(corpus("new_request.eml"))
        assert Ticket.objects.count() == 0
    assert imap.unseen() == 0

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.mail_requeue_stuck.delay()
    with scope(tenant=cast.tenant_a):
        assert InboundEmail.objects.get().status == InboundStatus.PROCESSED
        assert Ticket.objects.count() == 1
        # Processing again is a no-op.
        services.email_process(inbound_id=inbound.pk)
        assert Ticket.objects.count() == 1


def imap_raw_of(raw: bytes) -> bytes:
    """What an IMAP server hands back for a message: every line ending is CRLF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
