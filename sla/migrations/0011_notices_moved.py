# Staff notices move to the notifications app (#14 item 2): their tables are renamed here and
# the models leave this app's state; notifications 0004 takes them into its state as they are.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0010_metric_cycles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="notice", table="notifications_notice"),
                migrations.AlterModelTable(name="noticemail", table="notifications_noticemail"),
            ],
            state_operations=[
                migrations.DeleteModel(name="Notice"),
                migrations.DeleteModel(name="NoticeMail"),
            ],
        ),
    ]
