"""Which SLA policy a ticket is under: one ticket moved by hand, and every open ticket of some
organisations moved after a contract or plan change (in batches, inline or in a Celery task)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, EntitlementChange
from contracts.reasons import reasons_text
from sla.models import RecomputeJob, RecomputeState, SLAPolicy
from sla.services import clocks_policy_moved, sla_refresh
from supportdesk.models import Tenant, User

from ..events import enqueue_safely, event_record, events_publish
from ..models import ACTIVE_STATUSES, EventKind, Ticket, TicketEvent
from .steps import entitlement_for, ticket_locked, ticket_touch

logger = logging.getLogger(__name__)


def ticket_change_sla_policy(
    *, ticket: Ticket, policy: SLAPolicy | None, actor: User | None, reason: str = ""
) -> Ticket:
    """Put the ticket under another SLA policy (a plan change); its clocks are re-derived."""
    if policy is not None and policy.tenant_id != ticket.tenant_id:
        raise ValidationError({"sla_policy": _("Unknown SLA policy.")})
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        if locked.sla_policy_id == (policy.pk if policy else None):
            return locked
        old = locked.sla_policy
        locked.sla_policy = policy
        event = event_record(
            ticket=locked,
            kind=EventKind.SLA_POLICY_CHANGED,
            actor=actor,
            by_staff=actor is not None,
            old=str(old) if old else "",
            new=str(policy) if policy else "",
            data={"reason": reason} if reason else None,
        )
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish([event])
    return locked


POLICY_MOVE_BATCH = 1_000
"""Tickets per transaction when open tickets move to another SLA policy: each batch holds
its tickets' row locks, writes their events and recomputes their clocks in bulk."""


def tickets_sla_policy_recompute(
    *,
    tenant: Tenant,
    organisation_ids: Sequence[int],
    change_id: int | None = None,
    batch: int = POLICY_MOVE_BATCH,
) -> int:
    """Put every open ticket of the organisations under the SLA policy their contract now
    gives (after a plan change Guld -> Silver, a plan's policy replaced, a contract
    suspended, expired or resumed); returns how many tickets moved.

    The path of a calendar edit: in batches of tickets, each one transaction holding their
    row locks, with the clocks recomputed in bulk and forward only
    (:func:`sla.services.clocks_policy_moved`); outcomes already reached are kept. Progress
    is a :class:`sla.models.RecomputeJob` on the contract or plan that changed (its admin
    page shows it). Caller holds the tenant's scope, outside a transaction.
    """
    rows = list(
        Ticket.objects.active()
        .filter(organisation_id__in=list(organisation_ids))
        .order_by("pk")
        .values_list("pk", "requester_id", "channel", "category", "sla_policy_id")
    )
    moves = _policy_moves(rows, at=timezone.now())
    if not moves:
        return 0
    change = EntitlementChange.objects.filter(pk=change_id).first() if change_id else None
    job = RecomputeJob.objects.create(
        tenant=tenant,
        object_type=change.object_type if change else "",
        object_id=change.object_id if change else "",
        spec={"policy_move": change_id},
        at=timezone.now(),
        why={"kind": "policy"},
        state=RecomputeState.RUNNING,
        total=len(moves),
    )
    moved = 0
    try:
        for start in range(0, len(moves), batch):
            chunk = moves[start : start + batch]
            with transaction.atomic():
                moved += _policy_move_batch(chunk)
                RecomputeJob.objects.filter(pk=job.pk).update(done=start + len(chunk))
            logger.info(
                "SLA policy move, tenant %s: %d/%d tickets",
                tenant.slug,
                start + len(chunk),
                len(moves),
            )
    except Exception:
        RecomputeJob.objects.filter(pk=job.pk).update(
            state=RecomputeState.FAILED, finished_at=timezone.now()
        )
        raise
    RecomputeJob.objects.filter(pk=job.pk).update(
        state=RecomputeState.DONE, done=len(moves), finished_at=timezone.now()
    )
    return moved


def _policy_moves(
    rows: Sequence[tuple[int, int, str, str, int | None]], *, at: dt.datetime
) -> list[tuple[int, int | None, str]]:
    """(ticket id, policy id now in force, reason) of each ticket whose policy differs.

    The entitlement depends on the requester, the channel and the kind of request only:
    one check per distinct triple, not per ticket."""
    contacts = Contact.objects.in_bulk({r[1] for r in rows})
    decided: dict[tuple[int, str, str], tuple[int | None, str]] = {}
    moves: list[tuple[int, int | None, str]] = []
    for ticket_id, requester_id, channel, category, current in rows:
        key = (requester_id, channel, category)
        if key not in decided:
            entitlement = entitlement_for(
                requester=contacts[requester_id], channel=channel, category=category, at=at
            )
            policy = entitlement.sla_policy
            decided[key] = (policy.pk if policy else None, reasons_text(entitlement.reasons))
        policy_id, reason = decided[key]
        if policy_id != current:
            moves.append((ticket_id, policy_id, reason))
    return moves


def _policy_move_batch(chunk: Sequence[tuple[int, int | None, str]]) -> int:
    """Move one batch of tickets to their new policies: row locks, one event per ticket (as
    :func:`ticket_change_sla_policy` writes), clocks in bulk. Caller is in a transaction."""
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "organisation", "assignee", "requester", "priority", "sla_policy")
        .filter(pk__in=[m[0] for m in chunk], status__in=ACTIVE_STATUSES)
    }
    now = timezone.now()  # after the locks, so events are timed in the order applied
    policies = SLAPolicy.objects.in_bulk({m[1] for m in chunk if m[1] is not None})
    moved: list[Ticket] = []
    events: list[TicketEvent] = []
    for ticket_id, policy_id, reason in chunk:
        ticket = locked.get(ticket_id)
        if ticket is None or ticket.sla_policy_id == policy_id:
            continue  # closed or moved meanwhile
        old, policy = ticket.sla_policy, policies.get(policy_id) if policy_id else None
        ticket.sla_policy = policy
        ticket.version += 1
        ticket.updated_at = now
        moved.append(ticket)
        events.append(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                kind=EventKind.SLA_POLICY_CHANGED,
                at=now,
                old_value=str(old)[:300] if old else "",
                new_value=str(policy)[:300] if policy else "",
                data={"reason": reason} if reason else {},
            )
        )
    if not moved:
        return 0
    Ticket.objects.bulk_update(moved, ["sla_policy", "version", "updated_at"], batch_size=500)
    events = TicketEvent.objects.bulk_create(events, batch_size=500)
    clocks_policy_moved(tickets=moved, at=now)
    events_publish(events)
    return len(moved)


def tickets_sla_policy_recompute_enqueue(
    tenant_id: int, organisation_ids: list[int], change_id: int
) -> None:
    """After a contract or plan change: recompute those organisations' open tickets in a
    Celery task (a large tenant's tickets are not moved inside the admin's request). The
    task marks the change done; one lost with the broker is handed out again by
    ``contracts.services.entitlement_changes_replay``."""
    # Not at the top: the tasks module imports this one (each task calls its service).
    from ..tasks import tickets_sla_policy_recompute_task

    enqueue_safely(tickets_sla_policy_recompute_task, tenant_id, organisation_ids, change_id)
