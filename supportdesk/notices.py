"""Staff notices: the kinds, and the one-slot hook through which lower apps hand them over.

A notice is "something one staff member must hear about, once": an SLA warning, breach or
escalation, an out-of-scope request. The notifications app owns the notice rows, who gets
them, the batching into one mail per person and the sending (:mod:`notifications.notices`).
``sla`` and ``tickets`` sit below it (they must not import it, STYLE.md "Layers"), so they hand
notices over through :func:`notice_sink`, which :class:`notifications.apps.NotificationsConfig`
fills with :func:`notice_sink_register` when the app is loaded.

Notices are taken in the transaction of the change they are about (the SLA crossing that
fired an :class:`~sla.models.Alert`, the filing of an out-of-scope ticket), so they commit or
roll back with it: exactly once is the notice row's unique key, not a retry's luck.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    WARNING = "warning", _("SLA warning")
    BREACH = "breach", _("SLA breached")
    ESCALATION = "escalation", _("Escalation")
    OUT_OF_SCOPE = "out_of_scope", _("Out-of-scope request")
    VENDOR_UPDATE = "vendor_update", _("Customer update due (waiting on the vendor)")
    REVIEW_DUE = "review_due", _("Post-incident review due")


class NoticeSink(Protocol):
    """What the notifications app does with notices handed to it."""

    def queue(
        self, *, tenant: Any, key: str, kind: str, recipient: Any, ticket: Any, text: str
    ) -> Any:
        """Queue one notice for one person unless ``key`` was queued before."""

    def sla_crossed(
        self, *, ticket: Any, clock: Any, percent: int, rules: list[Any], breach: bool
    ) -> None:
        """An SLA threshold was crossed and acted on: notify whom ``rules`` name."""

    def flush_on_commit(self, *, tenant_id: int) -> None:
        """After commit, batch the tenant's queued notices into mails and send them."""

    def recover(self, *, now: dt.datetime) -> None:
        """Re-enqueue notices never batched and mails never sent (a lost task)."""


_sinks: list[NoticeSink] = []


def notice_sink_register(sink: NoticeSink) -> None:
    _sinks[:] = [sink]


def notice_sink() -> NoticeSink:
    if not _sinks:
        raise ImproperlyConfigured(
            "no notice sink is registered: add 'notifications' to INSTALLED_APPS"
        )
    return _sinks[0]
