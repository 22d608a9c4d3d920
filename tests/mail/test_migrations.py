"""The mail app's data migration: stored mail gets its content hash and keeps every row
both ways (forwards and back)."""

from __future__ import annotations

from typing import Any

import pytest

from tickets.mail.inbound.base import content_hash

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("mail", "0004_automatic_mail_kinds_and_repeat_subject")
AFTER = ("mail", "0005_nothing_lost_and_mailbox_smtp")


def _raw(page: str) -> bytes:
    return f"Message-ID: <fixed@scanner>\nSubject: Scan\n\n{page}\n".encode()


def test_stored_mail_is_hashed_and_failed_mail_scheduled_then_reversed_without_loss(
    migrator: Any,
) -> None:
    old = migrator.apply_initial_migration(BEFORE)
    tenant = old.apps.get_model("supportdesk", "Tenant").objects.create(slug="t", name="T")
    Inbound = old.apps.get_model("mail", "InboundEmail")
    Inbound.objects.create(tenant=tenant, message_id="fixed@scanner", raw=_raw("one"))
    Inbound.objects.create(tenant=tenant, message_id="b@x", raw=b"x", status="failed")

    new = migrator.apply_tested_migration(AFTER)
    Inbound = new.apps.get_model("mail", "InboundEmail")
    first = Inbound.objects.get(message_id="fixed@scanner")
    assert first.content_hash == content_hash(_raw("one"))
    assert Inbound.objects.get(message_id="b@x").next_attempt_at is not None
    # Under the new key a second scan with the same Message-ID is its own row ...
    Inbound.objects.create(
        tenant_id=tenant.pk, message_id="fixed@scanner", raw=_raw("two"),
        content_hash=content_hash(_raw("two")), status="discarded",
    )  # fmt: skip

    back = migrator.apply_tested_migration(BEFORE)
    Inbound = back.apps.get_model("mail", "InboundEmail")
    # ... and going back keeps it, under a Message-ID the old unique key accepts.
    ids = sorted(Inbound.objects.values_list("message_id", "status"))
    assert ids == [
        ("b@x", "failed"),
        ("fixed@scanner", "received"),
        (f"fixed@scanner+{content_hash(_raw('two'))[:16]}", "failed"),
    ]
