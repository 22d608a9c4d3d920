"""The event outbox: one row per ticket event and handler, pending until the handler ran."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from supportdesk.models import TenantOwned


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EventDelivery(TenantOwned):
    """One handler owed one ticket event.

    Written in the transaction of the change (:func:`notifications.services.deliveries_store`);
    the relay claims due rows, runs the handler and records the outcome: ``done``, or back to
    ``pending`` with ``next_attempt_at`` pushed out (backoff) and ``last_error`` kept, or
    ``failed`` after the last attempt. A claimed row's ``next_attempt_at`` is its lease: a
    worker that died holding it leaves it due again when the lease ends.
    """

    event = models.ForeignKey("tickets.TicketEvent", on_delete=models.CASCADE, related_name="+")
    handler = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="eventdelivery_unique")
        ]
        indexes = [
            # The relay's claim and the metrics read only pending rows: a partial index stays
            # as small as the backlog however many done rows the table keeps.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="eventdelivery_due",
            ),
            # /metrics counts the given-up rows on every scrape; they are few.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="failed"),
                name="eventdelivery_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handler} for event {self.event_id}: {self.status}"
