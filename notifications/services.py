"""The event outbox and its relay: every side effect of a ticket event, until it is done.

Where things live, and why
--------------------------
The change, its :class:`~tickets.models.TicketEvent` and the rows saying which handlers are
owed it (:class:`~notifications.models.EventDelivery`, one per event and handler) are written
in one transaction. ``tickets`` must not import this app (layers go one way:
``tickets`` <- ``notifications``), so ``tickets.events`` keeps the handler registry and a
one-slot hook, :func:`tickets.events.register_event_outbox`, which this app fills from its
``AppConfig.ready()`` with :func:`deliveries_store`. The delivery table, the relay and the
retry bookkeeping are all here, in the app that owns notifications (issue 14, item 2), and
``tickets`` holds no table of this app's.

The relay
---------
- After commit, a best-effort kick enqueues :func:`notifications.tasks.deliveries_run` for the
  events just stored, so notifications go out at once while the broker is up. With the broker
  away the kick is logged and dropped: the rows are still pending.
- Beat runs :func:`notifications.tasks.deliveries_relay` every few seconds; it works off every
  due row, whatever happened to the kicks (broker down, a restarted Redis that lost its
  queue, a worker killed with the task).
- A claim takes due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one
  writer at a time and needs no row locks), counts the attempt and moves ``next_attempt_at``
  past :data:`LEASE`, and commits; two relays never take the same row. Then each handler runs
  in its own transaction in the tenant's scope, and the outcomes are recorded in bulk: done,
  or due again after a backoff that doubles per attempt, or ``failed`` after
  :data:`MAX_ATTEMPTS` (logged as an error, counted in ``/metrics``).
- A worker that dies mid-batch leaves its rows claimed until the lease ends; then they are due
  again. The lease outlasts the task time limit, so a row is never claimed twice while a task
  that holds it may still be running.

At least once, so handlers are idempotent
-----------------------------------------
A handler's work commits before its row is marked done, so a crash between the two runs it
again; a handler keys what it writes by the event (the mail handlers' outbox key names the
event and recipient, unique per tenant), and a second run finds it there. A handler that
failed is retried alone: the others' rows for the same event are already done.

The relay's own work per batch is a fixed number of queries (claim, mark, load the events and
tenants, record the outcomes), whatever the batch size; the handlers' queries come on top.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportdesk.models import AuditAction, Tenant, User
from supportdesk.services import audit_record, audit_snapshot
from tickets.events import (
    enqueue_safely,
    event_handler_name,
    event_handler_named,
    event_handlers,
)
from tickets.models import TicketEvent

from .channels.webhook import webhook_check_url
from .models import DeliveryStatus, EventDelivery, Webhook

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
"""Rows one claim takes: small enough that a batch of handlers ends well inside the task's
time limit (a mail handler takes milliseconds), large enough that a backlog drains fast."""

MAX_ATTEMPTS = 10
"""Attempts before a delivery is given up (``failed``): with :func:`backoff` that is about
four hours of retrying, long enough to ride out an outage of the database or the mail setup."""

BACKOFF_FIRST = dt.timedelta(seconds=15)
BACKOFF_MAX = dt.timedelta(hours=1)

LEASE = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 10)
"""How long a claimed row is left alone: longer than any task may run (Celery stops it at
the time limit), so a row comes back only when the task holding it is gone."""

KEEP_DONE = dt.timedelta(days=14)
"""Done rows are kept this long for looking into "did they get the mail?", then purged."""


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 15 s, 30 s, 1 min … at most 1 h."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(attempts - 1, 0))


def deliveries_store(owed: dict[str, list[TicketEvent]]) -> None:
    """Store one pending delivery per handler and event it is owed; kick the relay after
    commit.

    Caller is inside the transaction that wrote the events (the outbox hook of
    :func:`tickets.events.events_publish`). A delivery already stored is kept as it is.
    """
    if not any(owed.values()):
        return
    now = timezone.now()
    EventDelivery.objects.bulk_create(
        [
            EventDelivery(
                tenant_id=event.tenant_id,
                event_id=event.pk,
                handler=name,
                next_attempt_at=now,
                created_at=now,
            )
            for name, events in owed.items()
            for event in events
        ],
        ignore_conflicts=True,
    )
    by_tenant: dict[int, list[int]] = {}
    for event in {e.pk: e for events in owed.values() for e in events}.values():
        by_tenant.setdefault(event.tenant_id, []).append(event.pk)

    def kick() -> None:
        from .tasks import deliveries_run  # the tasks module imports this one

        for tenant_id, event_ids in by_tenant.items():
            enqueue_safely(deliveries_run, tenant_id, event_ids)

    transaction.on_commit(kick)


@dataclass
class Claimed:
    pk: int
    tenant_id: int
    event_id: int
    handler: str
    attempts: int


def deliveries_claim(
    *,
    limit: int = BATCH_SIZE,
    tenant_id: int | None = None,
    event_ids: Iterable[int] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due pending rows (only those of ``event_ids`` when given) for this
    worker: their attempt is counted and their lease begins. Two queries and a commit."""
    now = timezone.now()
    with transaction.atomic(), scopes_disabled():  # the relay works for every tenant
        due = EventDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        if event_ids is not None:
            due = due.filter(tenant_id=tenant_id, event_id__in=list(event_ids))
        rows = list(
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")
            .values_list("pk", "tenant_id", "event_id", "handler", "attempts")[:limit]
        )
        if not rows:
            return []
        EventDelivery.objects.filter(pk__in=[row[0] for row in rows]).update(
            attempts=F("attempts") + 1, next_attempt_at=now + LEASE
        )
    return [Claimed(pk, tenant, event, name, tries + 1) for pk, tenant, event, name, tries in rows]


def deliveries_run(claimed: list[Claimed]) -> tuple[int, int]:
    """Run the handler of each claimed row on its event and record the outcomes; returns
    ``(done, failed attempts)``. Each handler runs in its own transaction in its tenant's
    scope, in the events' order and then the handlers' registration order; one that raises
    does not stop the others."""
    if not claimed:
        return 0, 0
    with scopes_disabled():  # rows of several tenants; each handler runs in its own scope
        events = TicketEvent.objects.select_related(
            "ticket", "ticket__requester", "actor", "actor_contact", "message"
        ).in_bulk({row.event_id for row in claimed})
        tenants = Tenant.objects.in_bulk({row.tenant_id for row in claimed})
    done: list[int] = []
    failures: list[tuple[Claimed, str]] = []
    order = {event_handler_name(fn): n for n, fn in enumerate(event_handlers())}
    for row in sorted(
        claimed,
        key=lambda r: (
            (events[r.event_id].at, r.event_id) if r.event_id in events else (timezone.now(), 0),
            order.get(r.handler, len(order)),
        ),
    ):
        event, tenant = events.get(row.event_id), tenants.get(row.tenant_id)
        handler = event_handler_named(row.handler)
        if event is None or tenant is None:
            done.append(row.pk)  # deleted meanwhile: nothing is owed any more
            continue
        if handler is None:
            failures.append((row, f"no event handler is registered as {row.handler!r}"))
            continue
        try:
            with scope(tenant=tenant), transaction.atomic():
                problem = handler(event)
        except Exception as exc:  # kept on the row, retried; the other handlers go on
            logger.warning(
                "event handler %s failed on event %s (attempt %s)",
                row.handler,
                row.event_id,
                row.attempts,
                exc_info=True,
            )
            failures.append((row, f"{type(exc).__name__}: {exc}"))
        else:
            if problem:  # part done and committed (the webhooks that took it); retry the rest
                logger.warning(
                    "event handler %s left work on event %s (attempt %s): %s",
                    row.handler,
                    row.event_id,
                    row.attempts,
                    problem,
                )
                failures.append((row, problem))
            else:
                done.append(row.pk)
    _record(done=done, failures=failures)
    return len(done), len(failures)


def _record(*, done: list[int], failures: list[tuple[Claimed, str]]) -> None:
    """Write the outcomes: one UPDATE for the done rows, one for the failed attempts."""
    now = timezone.now()
    with scopes_disabled():
        if done:
            EventDelivery.objects.filter(pk__in=done).update(
                status=DeliveryStatus.DONE, done_at=now, last_error=""
            )
        if not failures:
            return
        for row, error in failures:
            if row.attempts >= MAX_ATTEMPTS:
                logger.error(
                    "gave up on event handler %s for event %s after %s attempts: %s",
                    row.handler,
                    row.event_id,
                    row.attempts,
                    error,
                )
        EventDelivery.objects.filter(pk__in=[row.pk for row, _ in failures]).update(
            status=Case(
                *[
                    When(pk=row.pk, then=Value(DeliveryStatus.FAILED.value))
                    for row, _ in failures
                    if row.attempts >= MAX_ATTEMPTS
                ],
                default=Value(DeliveryStatus.PENDING.value),
            ),
            next_attempt_at=Case(
                *[When(pk=row.pk, then=Value(now + backoff(row.attempts))) for row, _ in failures]
            ),
            last_error=Case(
                *[When(pk=row.pk, then=Value(error[:2000])) for row, error in failures]
            ),
        )


def deliveries_relay(*, max_batches: int = 20) -> int:
    """Work off due deliveries batch by batch, until none is due or ``max_batches`` ran (the
    next beat tick goes on); returns how many handler runs were attempted."""
    attempted = 0
    for _ in range(max_batches):
        claimed = deliveries_claim()
        if not claimed:
            break
        done, failed = deliveries_run(claimed)
        attempted += done + failed
        if len(claimed) < BATCH_SIZE:
            break
    return attempted


def deliveries_purge(*, older_than: dt.timedelta = KEEP_DONE) -> int:
    """Delete done deliveries finished longer than ``older_than`` ago; returns how many."""
    with scopes_disabled():
        deleted, _ = EventDelivery.objects.filter(
            status=DeliveryStatus.DONE, done_at__lt=timezone.now() - older_than
        ).delete()
    return deleted


# --- Webhooks ---------------------------------------------------------------------------------

_WEBHOOK_AUDIT_IGNORED = ("secret", "failing_since", "last_failure_at", "last_error")
"""Never in the audit trail: the secret (the trail would show it in clear) and the
delivery state, which is not a configuration change."""


def webhook_save(*, webhook: Webhook, actor: User) -> Webhook:
    """Check and store a new or changed webhook; a new one gets its signing secret. Audited.

    A URL a tenant may not make us post to (:func:`webhook_url_refusal`) raises
    ``ValidationError`` on ``url`` and nothing is saved. Caller holds the tenant's scope and
    checked that ``actor`` is its admin.
    """
    webhook.name = " ".join(webhook.name.split())
    webhook.full_clean(exclude=["secret"])
    webhook_check_url(webhook.url)
    if not webhook.secret:
        webhook.secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        before = audit_snapshot(webhook)
        webhook.save()
        audit_record(instance=webhook, actor=actor, before=before, ignore=_WEBHOOK_AUDIT_IGNORED)
    return webhook


def webhook_delete(*, webhook: Webhook, actor: User) -> None:
    """Delete a webhook and its delivery records; audited."""
    with transaction.atomic():
        before = audit_snapshot(webhook)
        audit_record(instance=webhook, actor=actor, before=before, action=AuditAction.DELETED)
        webhook.delete()
