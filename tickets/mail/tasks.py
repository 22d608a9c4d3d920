"""Celery tasks of the e-mail channel: ids in, re-fetch inside the tenant scope.

Beat runs :func:`mailboxes_poll` (every minute) and :func:`mail_requeue_stuck` (every 30
seconds). The first lists mailboxes across tenants, deliberately, then polls each inside
its own tenant's scope.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.app.task import Task
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportdesk.models import Tenant

from . import services
from .models import Mailbox

logger = logging.getLogger(__name__)

SEND_MAX_RETRIES = 8

QUEUED_GRACE = timedelta(minutes=2)
"""A queued mail whose task has not run this long after it was due (created, retry due, or
handed out by the sweep) is taken as lost. A task that is merely late finds the row claimed
or sent and does nothing, so the cost of a short grace is an idle task, never a mail."""


@shared_task(name="mail.mailboxes_poll")
def mailboxes_poll() -> int:
    """Beat: enqueue one poll per active mailbox of every tenant."""
    with scopes_disabled():  # the one place that lists mailboxes across tenants
        targets = list(Mailbox.objects.filter(is_active=True).values_list("tenant_id", "pk"))
    for tenant_id, mailbox_id in targets:
        mailbox_poll.delay(tenant_id, mailbox_id)
    return len(targets)


@shared_task(name="mail.mailbox_poll", acks_late=True)
def mailbox_poll(tenant_id: int, mailbox_id: int) -> int:
    """Fetch and store new mail of one mailbox; processing is enqueued per message."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant):
        mailbox = Mailbox.objects.filter(pk=mailbox_id, is_active=True).first()
        if mailbox is None:
            return 0
        return services.mailbox_poll(mailbox=mailbox)


@shared_task(name="mail.inbound_process", acks_late=True)
def inbound_process(tenant_id: int, inbound_id: int) -> str:
    """Turn one stored message into a ticket or reply. A failure is kept on the row, which
    :func:`mail_requeue_stuck` tries again with back-off and the admin page shows."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "gone"
    with scope(tenant=tenant):
        try:
            inbound = services.email_process(inbound_id=inbound_id)
        except Exception:  # recorded on the row with its retry time; raising adds nothing
            logger.exception("processing inbound mail %s failed", inbound_id)
            return "failed"
    return inbound.outcome if inbound is not None else "gone"


@shared_task(
    name="mail.outbound_send",
    bind=True,
    acks_late=True,
    max_retries=SEND_MAX_RETRIES,
    # The claim's grace period (services.CLAIM_GRACE) is longer than this: a send still
    # running is stopped before the sweep could take its row for a dead worker's.
    time_limit=services.SEND_TIME_LIMIT,
    soft_time_limit=services.SEND_TIME_LIMIT - 10,
)
def outbound_send(self: Task, tenant_id: int, outbound_id: int) -> str:
    """Send one outbox row; temporary failures retry with back-off and the same Message-ID."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "gone"
    with scope(tenant=tenant):
        try:
            outbound = services.mail_send(outbound_id=outbound_id)
        except services.MailDeliveryError as exc:
            if self.request.retries >= SEND_MAX_RETRIES:
                services.mail_give_up(outbound_id=outbound_id, reason=str(exc))
                return "failed"
            countdown = min(3600, 30 * 2**self.request.retries)
            services.mail_retry_at(
                outbound_id=outbound_id, when=timezone.now() + timedelta(seconds=countdown)
            )
            raise self.retry(exc=exc, countdown=countdown) from exc
    return outbound.status if outbound is not None else "gone"


@shared_task(name="mail.requeue_stuck")
def mail_requeue_stuck() -> int:
    """Beat, every 30 s: re-enqueue mail whose task was lost (broker restart, crash before
    enqueue, a worker killed mid-send), and failed inbound mail whose next attempt is due
    (back-off in ``services.inbound``). A mail is handed out again only once it is overdue
    (:data:`QUEUED_GRACE`, or its claim older than ``services.CLAIM_GRACE``)."""
    now = timezone.now()
    inbound_cutoff = now - timedelta(minutes=10)
    count = 0
    for tenant in Tenant.objects.all():
        with scope(tenant=tenant):
            for inbound_id in services.inbound_pending(older_than=inbound_cutoff):
                inbound_process.delay(tenant.pk, inbound_id)
                count += 1
            outbound_ids = services.outbound_pending(now=now, queued_grace=QUEUED_GRACE)
            services.outbound_requeued(outbound_ids=outbound_ids, at=now)
            for outbound_id in outbound_ids:
                outbound_send.delay(tenant.pk, outbound_id)
                count += 1
    return count
