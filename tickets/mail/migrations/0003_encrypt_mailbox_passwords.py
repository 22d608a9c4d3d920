"""Mailbox passwords encrypted at rest: widen the column, encrypt the rows, then the field.

Reversible: going back decrypts the rows into the original 254-character column.
"""

from django.db import migrations, models

import supportdesk.fields
from supportdesk.fields import secret_decrypt, secret_encrypt


def _convert(apps, convert):
    mailboxes = apps.get_model("mail", "Mailbox")._base_manager
    for pk, password in mailboxes.values_list("pk", "imap_password"):
        if password:
            mailboxes.filter(pk=pk).update(imap_password=convert(password))


def encrypt(apps, schema_editor):
    _convert(apps, secret_encrypt)


def decrypt(apps, schema_editor):
    _convert(apps, secret_decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_alter_outboundemail_kind"),
    ]

    operations = [
        migrations.AlterField(
            model_name="mailbox",
            name="imap_password",
            field=models.TextField(verbose_name="IMAP password"),
        ),
        migrations.RunPython(encrypt, decrypt),
        migrations.AlterField(
            model_name="mailbox",
            name="imap_password",
            field=supportdesk.fields.EncryptedTextField(verbose_name="IMAP password"),
        ),
    ]
