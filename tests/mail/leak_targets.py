"""Tenant B's objects behind the mailbox admin URLs, for ``tests/test_leaks.py``."""

from __future__ import annotations

from django_scopes import scope

from tests.conftest import B_MARKER, Cast
from tickets.mail.models import Mailbox


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
    return {"mailbox_id": mailbox.pk}


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's mailbox, for the role table (``tests/test_roles.py``)."""
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Mailbox A",
            email_address="support@tenant-a.example.test",
            imap_host="imap.invalid",
            imap_username="a",
            imap_password="a",
        )
    return {"mailbox_id": mailbox.pk}
