"""Tenant B's objects behind the mailbox admin URLs, for ``tests/test_leaks.py``."""

from __future__ import annotations

from django_scopes import scope

from tests.conftest import B_MARKER, Cast
from tickets.mail.models import InboundEmail, InboundStatus, Mailbox


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        mailbox = Mailbox.objects.create(
            tenant=cast.tenant_b,
            name=f"Mailbox {B_MARKER}",
            email_address="support@tenant-b.example.test",
            imap_host=f"imap.{B_MARKER}.test",
            imap_username=B_MARKER,
            imap_password=B_MARKER,
        )
        inbound = InboundEmail.objects.create(
            tenant=cast.tenant_b,
            mailbox=mailbox,
            message_id=f"{B_MARKER}@tenant-b.example.test",
            raw=f"Subject: {B_MARKER}\n\n{B_MARKER}\n".encode(),
            sender=f"{B_MARKER}@tenant-b.example.test",
            subject=B_MARKER,
            status=InboundStatus.FAILED,
            note=B_MARKER,
        )
    return {"mailbox_id": mailbox.pk, "inbound_id": inbound.pk}


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's mailbox and a failed mail of it, for the role table (``tests/test_roles.py``)."""
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Mailbox A",
            email_address="support@tenant-a.example.test",
            imap_host="imap.invalid",
            imap_username="a",
            imap_password="a",
        )
        inbound = InboundEmail.objects.create(
            tenant=cast.tenant_a,
            mailbox=mailbox,
            message_id="failed-a@orga.example.test",
            raw=b"Subject: Failed\n\nFailed\n",
            sender="carla@orga.example.test",
            subject="Failed",
            status=InboundStatus.FAILED,
        )
    return {"mailbox_id": mailbox.pk, "inbound_id": inbound.pk}
