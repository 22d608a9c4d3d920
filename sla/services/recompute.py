"""Recompute after an edit: inline when small, else a Celery task in batches with progress."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from supportdesk.models import Tenant
from supportdesk.services import enqueue_safely
from tickets.models import ACTIVE_STATUSES, Ticket

from ..models import (
    Calendar,
    Clock,
    ClockState,
    RecomputeJob,
    RecomputeState,
)
from .bulk import Rebase, clocks_recompute_bulk
from .refresh import tickets_refresh

logger = logging.getLogger(__name__)


RECOMPUTE_INLINE_MAX = 2_000
"""Clocks an edit recomputes inside the request; above it, a task does (with progress)."""

RECOMPUTE_BATCH_TICKETS = 5_000
"""Tickets per batch of the task: each batch is one transaction, so a ticket's clocks and
its schedule row change together, and the queue never shows half an edit inside a ticket."""


def _spec_clocks(spec: dict[str, Any]) -> QuerySet[Clock]:
    """The live clocks ``spec`` (see :class:`RecomputeJob`) recomputes in bulk."""
    where = Q(pk__in=[])
    if "calendar" in spec:
        calendar_id = spec["calendar"]
        where |= Q(target__calendar_id=calendar_id) | Q(
            target__calendar__isnull=True, target__policy__calendar_id=calendar_id
        )
    if "policy_calendar" in spec:
        where |= Q(target__policy_id=spec["policy_calendar"], target__calendar__isnull=True)
    if spec.get("targets"):
        where |= Q(target_id__in=spec["targets"])
    if spec.get("running"):
        where |= Q(state=ClockState.RUNNING)
    return Clock.objects.filter(where, state__in=[ClockState.RUNNING, ClockState.PAUSED])


def _spec_rebase(
    spec: dict[str, Any], why: dict[str, Any] | None, at: dt.datetime
) -> Rebase | None:
    if why is None:  # escalation rules: thresholds move, not the promise
        return None
    old = {spec["calendar"]: spec["old_config"]} if "old_config" in spec else {}
    return Rebase(at=at, why=why, old_configs=old)


def clocks_recompute(
    *,
    tenant: Tenant,
    obj: Any,
    spec: dict[str, Any],
    why: dict[str, Any] | None,
    now: dt.datetime | None = None,
) -> int:
    """Recompute what a configuration edit moves, forward only (time used before the edit
    stays as counted then); returns how many clocks that is.

    Up to :data:`RECOMPUTE_INLINE_MAX` clocks are recomputed here, in the caller's
    transaction. More are left to :func:`sla.tasks.sla_recompute_run`, enqueued on commit,
    with a :class:`RecomputeJob` the admin page shows; until a batch reaches a ticket it
    keeps its old due time (an edited calendar's old hours are kept on it meanwhile, so a
    ticket changed before its batch counts the same way). Caller is inside a transaction
    and the tenant's scope.
    """
    if not spec:
        return 0
    now = now or timezone.now()
    clocks = _spec_clocks(spec)
    count = clocks.count()
    refresh = spec.get("refresh_policy")
    refresh_tickets = (
        Ticket.objects.active().filter(sla_policy_id=refresh) if refresh is not None else None
    )
    tickets = refresh_tickets.count() if refresh_tickets is not None else 0
    if count + tickets <= RECOMPUTE_INLINE_MAX:
        written = clocks_recompute_bulk(clocks=clocks, now=now, rebase=_spec_rebase(spec, why, now))
        if refresh_tickets is not None:
            written += tickets_refresh(tickets=refresh_tickets)
        return written
    job = RecomputeJob.objects.create(
        tenant=tenant,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        spec=spec,
        at=now,
        why=why or {},
        total=count + tickets,
    )
    if "old_config" in spec:
        Calendar.objects.filter(pk=spec["calendar"]).update(
            recompute_from=now, recompute_config=spec["old_config"]
        )

    def enqueue() -> None:
        # Not at the top: the tasks module imports this one (each task calls its service).
        from ..tasks import sla_recompute_run

        enqueue_safely(sla_recompute_run, tenant.pk, job.pk)

    transaction.on_commit(enqueue)
    return count + tickets


def recompute_run(*, job_id: int, batch_tickets: int | None = None) -> RecomputeJob | None:
    """Run a queued :class:`RecomputeJob`: its clocks in batches of tickets, each batch one
    transaction holding those tickets' row locks (clocks and schedule rows together), the
    progress written after each. Caller is in the tenant's scope, outside a transaction
    (or in one it rolls back, as the benchmark does)."""
    batch_tickets = batch_tickets or RECOMPUTE_BATCH_TICKETS
    job = RecomputeJob.objects.filter(pk=job_id).first()
    if job is None or job.state == RecomputeState.DONE:
        return job
    RecomputeJob.objects.filter(pk=job.pk).update(state=RecomputeState.RUNNING)
    spec = job.spec
    rebase = _spec_rebase(spec, job.why or None, job.at)
    clocks = _spec_clocks(spec)
    done = 0
    try:
        ticket_ids = sorted(set(clocks.values_list("ticket_id", flat=True)))
        for start in range(0, len(ticket_ids), batch_tickets):
            chunk = ticket_ids[start : start + batch_tickets]
            # By id range, not a list of 5,000 ids: the same tickets, a cheaper query.
            first, last = chunk[0], chunk[-1]
            with transaction.atomic():
                list(
                    Ticket.objects.select_for_update(of=("self",))
                    .filter(pk__gte=first, pk__lte=last, status__in=ACTIVE_STATUSES)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                written = clocks_recompute_bulk(
                    clocks=clocks.filter(ticket_id__gte=first, ticket_id__lte=last),
                    rebase=rebase,
                )
                done += written
                RecomputeJob.objects.filter(pk=job.pk).update(done=done)
        if spec.get("refresh_policy") is not None:
            refresh_tickets = Ticket.objects.active().filter(sla_policy_id=spec["refresh_policy"])
            done += tickets_refresh(tickets=refresh_tickets)
            RecomputeJob.objects.filter(pk=job.pk).update(done=done)
    except Exception:
        RecomputeJob.objects.filter(pk=job.pk).update(
            state=RecomputeState.FAILED, finished_at=timezone.now()
        )
        raise
    if "old_config" in spec:
        # This edit's old hours are no longer needed once every clock carried them.
        Calendar.objects.filter(pk=spec["calendar"], recompute_from=job.at).update(
            recompute_from=None, recompute_config=None
        )
    RecomputeJob.objects.filter(pk=job.pk).update(
        state=RecomputeState.DONE, done=max(done, job.total), finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job
