"""Celery tasks of the tickets app: ids in, re-fetch inside the tenant scope."""

from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from supportdesk.models import Tenant

from .events import events_handle
from .models import TicketEvent


@shared_task(acks_late=True)
def ticket_events_dispatch(tenant_id: int, event_ids: list[int]) -> int:
    """Call every registered event handler on the events; returns how many were handled."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant):
        events = list(
            TicketEvent.objects.filter(pk__in=event_ids)
            .select_related("ticket", "ticket__requester", "actor", "actor_contact", "message")
            .order_by("at", "id")
        )
        events_handle(events)
    return len(events)


@shared_task(acks_late=True)
def tickets_sla_policy_recompute_task(tenant_id: int, organisation_ids: list[int]) -> int:
    """Move the organisations' open tickets to the SLA policy now in force (see
    :func:`tickets.services.tickets_sla_policy_recompute`); returns how many moved."""
    from .services import tickets_sla_policy_recompute

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant):
        return tickets_sla_policy_recompute(tenant=tenant, organisation_ids=organisation_ids)
