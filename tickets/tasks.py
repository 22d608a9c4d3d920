"""Celery tasks of the tickets app: ids in, re-fetch inside the tenant scope."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from contracts.services import entitlement_change_done
from supportdesk.models import Tenant

from .events import events_publish
from .models import TicketEvent
from .reviews.services import reviews_warn
from .services import tickets_sla_policy_recompute
from .vendor import vendor_updates_remind


@shared_task(acks_late=True)
def ticket_events_dispatch(tenant_id: int, event_ids: list[int]) -> int:
    """Hand events to their handlers through the event outbox; returns how many events.

    Nothing enqueues this any more (events are published in their own transaction, see
    :mod:`tickets.events`); it stays for messages queued by a release before the outbox,
    still in the broker at the upgrade. Their events get delivery rows like any other;
    deliveries already stored are kept as they are, so nothing runs twice.
    """
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant), transaction.atomic():
        events = list(TicketEvent.objects.filter(pk__in=event_ids).order_by("at", "id"))
        events_publish(events)
    return len(events)


@shared_task(acks_late=True)
def tickets_sla_policy_recompute_task(
    tenant_id: int, organisation_ids: list[int], change_id: int | None = None
) -> int:
    """Move the organisations' open tickets to the SLA policy now in force (see
    :func:`tickets.services.tickets_sla_policy_recompute`), then mark the entitlement change
    done; returns how many moved. ``change_id`` is None for messages queued before it."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with scope(tenant=tenant):
        moved = tickets_sla_policy_recompute(
            tenant=tenant, organisation_ids=organisation_ids, change_id=change_id
        )
        if change_id is not None:
            entitlement_change_done(change_id=change_id)
        return moved


@shared_task(name="tickets.vendor_updates_remind_all")
def vendor_updates_remind_all() -> int:
    """Every tenant's reminders of customer updates owed while waiting on the vendor
    (:func:`tickets.vendor.vendor_updates_remind`); returns how many tickets were due."""
    now = timezone.now()
    total = 0
    for tenant in Tenant.objects.filter(vendor_update_days__gt=0).order_by("pk"):
        with scope(tenant=tenant), transaction.atomic():
            total += vendor_updates_remind(tenant=tenant, now=now)
    return total


@shared_task(name="tickets.reviews_warn_all")
def reviews_warn_all() -> int:
    """Every tenant's warnings of post-incident reviews in their last working day
    (:func:`tickets.reviews.services.reviews_warn`); returns how many were warned."""
    now = timezone.now()
    total = 0
    for tenant in Tenant.objects.order_by("pk"):
        with scope(tenant=tenant), transaction.atomic():
            total += reviews_warn(tenant=tenant, now=now)
    return total
