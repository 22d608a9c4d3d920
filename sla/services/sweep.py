"""The sweep: beat enqueues it every minute; it is idempotent."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportdesk.models import Tenant
from supportdesk.notices import notice_sink
from supportdesk.services import enqueue_safely
from tickets.models import Ticket

from ..models import (
    RecomputeJob,
    RecomputeState,
)
from ..selectors import due_clocks
from .refresh import sla_refresh

logger = logging.getLogger(__name__)


def sla_sweep(*, now: dt.datetime | None = None) -> int:
    """Act on every threshold that has come due; returns how many tickets were refreshed.

    Each ticket is refreshed in its own transaction under its row lock, so a concurrent
    sweep or agent action waits instead of acting twice; Alert rows make it exactly once.
    """
    now = now or timezone.now()
    by_tenant: dict[int, list[int]] = defaultdict(list)
    for tenant_id, ticket_id in due_clocks(now=now):
        by_tenant[tenant_id].append(ticket_id)
    done = 0
    _recover_outbox(now)
    for tenant in Tenant.objects.filter(pk__in=by_tenant):
        with scope(tenant=tenant):
            for ticket_id in by_tenant[tenant.pk]:
                with transaction.atomic():
                    ticket = (
                        Ticket.objects.select_for_update(of=("self",))
                        .select_related("organisation", "assignee", "tenant")
                        .filter(pk=ticket_id)
                        .first()
                    )
                    if ticket is None:
                        continue
                    sla_refresh(ticket=ticket, now=now, flush_notices=False)
                    done += 1
            # One batch per tenant and run: each person gets one mail for all their tickets.
            notice_sink().flush_on_commit(tenant_id=tenant.pk)
    return done


def _recover_outbox(now: dt.datetime) -> None:
    """Re-enqueue what a lost task left behind: notices never batched, mails never sent (the
    notifications app's, :func:`notifications.notices.notices_recover`), and a
    :class:`RecomputeJob` still queued: running its spec twice writes the same clocks.

    Only rows older than a few minutes, so work whose task is merely queued is not doubled.
    """
    notice_sink().recover(now=now)
    stale = now - dt.timedelta(minutes=5)
    with scopes_disabled():
        # A recompute whose task never reached a worker (the broker was away at the edit):
        # the job row was written with the edit, so it is run now instead of staying queued.
        jobs = list(
            RecomputeJob.objects.filter(
                state=RecomputeState.QUEUED, created_at__lt=stale
            ).values_list("tenant_id", "pk")[:100]
        )
    # Not at the top: the tasks module imports this one (each task calls its service).
    from ..tasks import sla_recompute_run

    for tenant_id, job_id in jobs:
        enqueue_safely(sla_recompute_run, tenant_id, job_id)
