"""Celery tasks of the event outbox (the relay beat runs, and the kick after a commit) and
of staff notices (a batch per tenant; the mail outbox sends each mail).

Both only claim rows that are due, so a kick that arrives late, twice, or after beat's
relay already did the work finds nothing to do.
"""

from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from supportdesk.models import Tenant

from . import notices, services


@shared_task(name="notifications.deliveries_relay")
def deliveries_relay() -> int:
    """Beat, every few seconds: run every due delivery of every tenant."""
    return services.deliveries_relay()


@shared_task(name="notifications.deliveries_run", acks_late=True)
def deliveries_run(tenant_id: int, event_ids: list[int]) -> int:
    """After a commit: run the due deliveries of these events now (best effort; the relay
    runs whatever this misses)."""
    attempted = 0
    while claimed := services.deliveries_claim(tenant_id=tenant_id, event_ids=event_ids):
        done, failed = services.deliveries_run(claimed)
        attempted += done + failed
    return attempted


@shared_task(name="notifications.deliveries_purge")
def deliveries_purge() -> int:
    """Beat, daily: drop done deliveries older than two weeks."""
    return services.deliveries_purge()


@shared_task(name="notifications.notices_flush", acks_late=True, ignore_result=True)
def notices_flush(tenant_id: int) -> int:
    """Batch the tenant's queued notices into one mail per recipient, each in the mail outbox."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant):
        return len(notices.notices_batch(tenant=tenant))
