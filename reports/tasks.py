"""Beat enqueues the monthly reports on the first of each month; reruns are harmless.

The month is chosen once, when the run starts, from each tenant's own calendar (the month
that ended last in its time zone), and handed to the tenant's task as an argument: a task
that waits in the queue across a month boundary still reports the month it was meant for.
Beat runs at 12:00 UTC, when the 1st has begun in every time zone (UTC-12 to UTC+14), so a
tenant west of UTC is never handed a month that has not ended where it is.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from celery import shared_task
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportdesk.models import Tenant

from .services import month_start, sla_reports_send


# The task names keep the "sla." prefix they had when the report lived in sla/reports/: a task
# queued before an upgrade still finds its worker after it.
@shared_task(name="sla.reports_monthly_send", acks_late=True)
def sla_reports_monthly_send() -> int:
    """Queue each tenant's report for the month that ended last in its time zone."""
    now = timezone.now()
    with scopes_disabled():  # deliberately across tenants: only the list of tenants
        tenants = list(Tenant.objects.order_by("pk"))
    for tenant in tenants:
        today = timezone.localtime(now, ZoneInfo(tenant.time_zone)).date()
        month = month_start(None, tenant=tenant, today=today)
        sla_reports_tenant_send.delay(tenant.pk, month.strftime("%Y-%m"))
    return len(tenants)


@shared_task(name="sla.reports_tenant_send", acks_late=True)
def sla_reports_tenant_send(tenant_id: int, month: str | None = None) -> int:
    """Send one tenant's reports for ``month`` (YYYY-MM); exactly once per recipient.

    Without a month (a message queued before the month became an argument): the month that
    ended last in the tenant's time zone.
    """
    tenant = Tenant.objects.get(pk=tenant_id)
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    with scope(tenant=tenant):
        return sla_reports_send(tenant=tenant, month=month_start(month, tenant=tenant, today=today))
