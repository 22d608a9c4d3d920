# Staff notices come over from the sla app (#14 item 2): sla 0011 renamed their tables to
# this app's names, so this migration only takes the models into this app's state.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0003_mail_channel_moved'),
        ('sla', '0011_notices_moved'),
        ('supportdesk', '0007_tenant_time_zone_validator'),
        ('tickets', '0016_event_kinds_routing_and_followers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='NoticeMail',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('to_email', models.EmailField(max_length=254)),
                        ('subject', models.CharField(max_length=300)),
                        ('body', models.TextField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='supportdesk.tenant', verbose_name='tenant')),
                    ],
                    options={
                        'ordering': ['created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Notice',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=200)),
                        ('kind', models.CharField(choices=[('warning', 'SLA warning'), ('breach', 'SLA breached'), ('escalation', 'Escalation'), ('out_of_scope', 'Out-of-scope request')], max_length=16)),
                        ('text', models.TextField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='supportdesk.tenant', verbose_name='tenant')),
                        ('ticket', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notices', to='tickets.ticket')),
                        ('mail', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='notices', to='notifications.noticemail')),
                    ],
                    options={
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='noticemail',
                    index=models.Index(fields=['tenant', 'sent_at'], name='noticemail_unsent'),
                ),
                migrations.AddIndex(
                    model_name='notice',
                    index=models.Index(fields=['tenant', 'mail'], name='notice_unbatched'),
                ),
                migrations.AddConstraint(
                    model_name='notice',
                    constraint=models.UniqueConstraint(fields=('tenant', 'key'), name='notice_once'),
                ),
            ],
        ),
    ]
