"""Celery tasks of contracts: ids in, re-fetch inside the tenant scope, call a service.

Beat (wired by the lead) runs :func:`contracts_expire_all` once a day, shortly after
midnight; it fans out one :func:`contracts_expire` per tenant.
"""

from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from supportdesk.models import Tenant

from . import services


@shared_task(name="contracts.contracts_expire_all", ignore_result=True)
def contracts_expire_all() -> int:
    """Beat: enqueue the expiry of each tenant's contracts whose end date has passed."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        contracts_expire.delay(tenant_id)
    return len(tenant_ids)


@shared_task(name="contracts.contracts_expire", acks_late=True, ignore_result=True)
def contracts_expire(tenant_id: int) -> list[int]:
    """Mark the tenant's current contracts past their end date expired (idempotent)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return []
    with scope(tenant=tenant):
        return services.contracts_expire_due(tenant=tenant)


@shared_task(name="contracts.entitlement_changes_replay", ignore_result=True)
def entitlement_changes_replay() -> int:
    """Beat: hand entitlement changes nobody finished to their listeners again."""
    return services.entitlement_changes_replay()
