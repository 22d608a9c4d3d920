"""The e-mail channel's handler moved from tickets/mail/handlers.py to
notifications/channels/email.py; deliveries still owed (pending, or failed and retryable)
carry its new name, so the relay finds it. Done rows keep the old name: history."""

from django.db import migrations

OLD = "tickets.mail.handlers.notify_by_mail"
NEW = "notifications.channels.email.notify_by_mail"


def rename(apps, schema_editor, old=OLD, new=NEW):
    EventDelivery = apps.get_model("notifications", "EventDelivery")
    EventDelivery._base_manager.filter(handler=old, status__in=["pending", "failed"]).update(
        handler=new
    )


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_webhook")]

    operations = [migrations.RunPython(rename, rename_back)]
