"""Beat enqueues the monthly reports on the first of each month; reruns are harmless."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from celery import shared_task
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportdesk.models import Tenant

from .services import month_start, sla_reports_send


@shared_task(name="sla.reports_monthly_send", acks_late=True)
def sla_reports_monthly_send() -> int:
    """Queue last month's reports for every tenant (each tenant in its own scope)."""
    with scopes_disabled():  # deliberately across tenants: only the list of tenants
        tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    queued = 0
    for tenant_id in tenant_ids:
        queued += sla_reports_tenant_send(tenant_id)
    return queued


@shared_task(name="sla.reports_tenant_send", acks_late=True)
def sla_reports_tenant_send(tenant_id: int) -> int:
    tenant = Tenant.objects.get(pk=tenant_id)
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    with scope(tenant=tenant):
        return sla_reports_send(tenant=tenant, month=month_start(None, tenant=tenant, today=today))
