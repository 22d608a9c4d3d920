"""The event outbox (one row per ticket event and handler, pending until the handler ran),
the webhooks its webhook channel posts to, and staff notices with the mails that batch them."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supportdesk.fields import EncryptedTextField
from supportdesk.models import TenantOwned
from supportdesk.notices import NoticeKind

logger = logging.getLogger(__name__)


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


class Webhook(TenantOwned):
    """A tenant's URL that hears about ticket events: a signed JSON POST per event.

    Slack and Microsoft Teams incoming webhooks take the payload as it is (they read its
    ``text``); anything else can verify the signature with the secret shown on the edit page
    (``docs/notifications.md``). ``kinds`` empty means every kind of event.
    """

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"), max_length=500, help_text=_("Where each event is posted, as JSON (https://…).")
    )
    secret = EncryptedTextField(_("signing secret"), editable=False)
    kinds = models.JSONField(_("events"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("webhook")

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return self.active and (not self.kinds or kind in self.kinds)

    @staticmethod
    def kinds_cache_key(tenant_id: int) -> str:
        """Where the webhook channel caches what the tenant's active webhooks want."""
        return f"webhooks:kinds:{tenant_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._forget_kinds()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self._forget_kinds()
        return result

    def _forget_kinds(self) -> None:
        """Drop the cached kinds now and again at commit: a reader that cached the state
        before this change committed is overwritten (``channels.webhook.webhooks_wanting``)."""
        key = self.kinds_cache_key(self.tenant_id)

        def forget() -> None:
            try:
                cache.delete(key)
            except Exception:  # noqa: BLE001 - a cache that is away holds nothing stale to read
                logger.warning(
                    "could not drop the cached webhook kinds of tenant %s", self.tenant_id
                )

        forget()
        transaction.on_commit(forget)


class WebhookDelivery(TenantOwned):
    """One event posted to one webhook and answered 2xx: a retry of the event's delivery
    (another webhook of the tenant failed) skips the webhooks that have it already."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("tickets.TicketEvent", on_delete=models.CASCADE, related_name="+")
    status_code = models.PositiveSmallIntegerField()
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="webhookdelivery_unique")
        ]


class NoticeMail(TenantOwned):
    """One e-mail to one staff member, batching their pending notices.

    Written in the same transaction as its row in the mail outbox (``outbound``), which sends
    it exactly once with the outbox's claim, retries and Message-ID; so batching and sending
    cannot come apart. Mails batched before notices went over the outbox have no ``outbound``.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    outbound = models.OneToOneField(
        "mail.OutboundEmail",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notice_mail",
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.subject


class Notice(TenantOwned):
    """Something one staff member must hear about, once (``key`` is unique per tenant)."""

    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, null=True, related_name="notices"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    mail = models.ForeignKey(
        NoticeMail, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="notice_once")]
        indexes = [models.Index(fields=["tenant", "mail"], name="notice_unbatched")]

    def __str__(self) -> str:
        return self.key
