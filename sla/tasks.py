"""Celery tasks of the SLA app. Beat enqueues :func:`sla_sweep_run` every minute; the rest
are enqueued on commit by :mod:`sla.services` with ids only. (The notice tasks are the
notifications app's.)"""

from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from supportdesk.models import Tenant

from . import services


@shared_task(acks_late=True, ignore_result=True)
def sla_sweep_run() -> int:
    """Act on every SLA threshold that has come due (idempotent; safe to run twice)."""
    return services.sla_sweep()


@shared_task(acks_late=True, ignore_result=True)
def sla_recompute_run(tenant_id: int, job_id: int) -> int:
    """Recompute the clocks a configuration edit moved, in batches with progress."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant):
        job = services.recompute_run(job_id=job_id)
        return job.done if job is not None else 0
