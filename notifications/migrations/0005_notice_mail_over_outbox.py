"""Staff notice mails go over the mail outbox: a batch's mail row points at its outbox row,
and the outbox records sending (so ``sent_at`` and ``attempts`` leave the batch).

A mail batched before this migration and not yet sent is taken apart: its notices are in no
mail again, so the next flush (or the SLA sweep's recovery) batches them into a mail that
goes over the outbox. Sent ones stay, with no outbox row, as the record of what was sent.
Going back, every mail counts as sent (at its batching time): the outbox sent it or will, and
the old sender must not send it a second time.
"""

import django.db.models.deletion
from django.db import migrations, models


def unsent_mails_unbatched(apps, schema_editor):
    notice_mail = apps.get_model("notifications", "NoticeMail")
    notice = apps.get_model("notifications", "Notice")
    unsent = notice_mail._base_manager.filter(sent_at__isnull=True)
    notice._base_manager.filter(mail__in=unsent).update(mail=None)
    unsent.delete()


def mails_counted_sent(apps, schema_editor):
    notice_mail = apps.get_model("notifications", "NoticeMail")
    notice_mail._base_manager.filter(sent_at__isnull=True).update(sent_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0013_outbound_kind_staff_notice"),
        ("notifications", "0004_notices_moved"),
    ]

    operations = [
        migrations.RunPython(unsent_mails_unbatched, mails_counted_sent),
        migrations.RemoveIndex(model_name="noticemail", name="noticemail_unsent"),
        migrations.RemoveField(model_name="noticemail", name="attempts"),
        migrations.RemoveField(model_name="noticemail", name="sent_at"),
        migrations.AddField(
            model_name="noticemail",
            name="outbound",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="notice_mail",
                to="mail.outboundemail",
            ),
        ),
    ]
