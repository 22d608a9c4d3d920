"""Duplicates are recognised by Message-ID *and* content; failed mail is retried on a schedule;
a mailbox may send through its own SMTP server and sign with DKIM.

The data step fills ``content_hash`` of stored messages from their raw bytes and schedules
rows that failed before this migration for one more automatic attempt. Backwards, messages
that only the content hash told apart get a Message-ID suffix, so the old unique key on
``(tenant, message_id)`` holds again without deleting any of them.
"""

from typing import Any

import supportdesk.fields
from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone

# The same function the ingest uses, so stored and newly received mail hash alike.
from tickets.mail.inbound.base import content_hash


def _checks_now(schema_editor: Any) -> None:
    """PostgreSQL refuses to alter a table with deferred foreign-key checks pending from the
    rows this step updates; run them at once."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def hashes_fill(apps: Any, schema_editor: Any) -> None:
    _checks_now(schema_editor)
    InboundEmail = apps.get_model("mail", "InboundEmail")
    rows = InboundEmail.objects.filter(content_hash="").only("pk", "raw")
    for row in rows.iterator(chunk_size=200):
        InboundEmail.objects.filter(pk=row.pk).update(content_hash=content_hash(bytes(row.raw)))
    InboundEmail.objects.filter(status="failed").update(next_attempt_at=timezone.now())


def message_ids_separate(apps: Any, schema_editor: Any) -> None:
    _checks_now(schema_editor)
    InboundEmail = apps.get_model("mail", "InboundEmail")
    InboundEmail.objects.filter(status="discarded").update(status="failed")
    shared = (
        InboundEmail.objects.values("tenant_id", "message_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for key in shared:
        rows = InboundEmail.objects.filter(
            tenant_id=key["tenant_id"], message_id=key["message_id"]
        ).order_by("id")
        for row in list(rows)[1:]:
            row.message_id = f"{row.message_id[:200]}+{row.content_hash[:16] or row.pk}"
            row.save(update_fields=["message_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0004_automatic_mail_kinds_and_repeat_subject"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="inboundemail",
            name="inboundemail_unique_id",
        ),
        migrations.AddField(
            model_name="inboundemail",
            name="content_hash",
            field=models.CharField(blank=True, max_length=64, verbose_name="content hash"),
        ),
        migrations.AddField(
            model_name="inboundemail",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next attempt"),
        ),
        migrations.AlterField(
            model_name="inboundemail",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "Received, not yet processed"),
                    ("processed", "Processed"),
                    ("failed", "Processing failed"),
                    ("discarded", "Discarded by an administrator"),
                ],
                default="received",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='dkim_private_key',
            field=supportdesk.fields.EncryptedTextField(blank=True, help_text='PEM; mail from this address is signed when a selector and key are set.', verbose_name='DKIM private key'),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='dkim_selector',
            field=models.CharField(blank=True, help_text='Publish the public key as the TXT record SELECTOR._domainkey.DOMAIN.', max_length=63, verbose_name='DKIM selector'),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='smtp_host',
            field=models.CharField(blank=True, help_text='Leave empty to send through the shared server.', max_length=253, verbose_name='SMTP server'),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='smtp_password',
            field=supportdesk.fields.EncryptedTextField(blank=True, verbose_name='SMTP password'),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='smtp_port',
            field=models.PositiveIntegerField(default=587, verbose_name='SMTP port'),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='smtp_security',
            field=models.CharField(choices=[('starttls', 'STARTTLS'), ('ssl', 'SSL/TLS'), ('none', 'None (a relay on the local network)')], default='starttls', max_length=10, verbose_name='SMTP security'),
        ),
        migrations.AddField(
            model_name='mailbox',
            name='smtp_username',
            field=models.CharField(blank=True, max_length=254, verbose_name='SMTP user name'),
        ),
        migrations.RunPython(hashes_fill, message_ids_separate),
        migrations.AddConstraint(
            model_name="inboundemail",
            constraint=models.UniqueConstraint(
                fields=("tenant", "message_id", "content_hash"),
                name="inboundemail_unique_content",
            ),
        ),
    ]
