"""The webhook channel: every ticket event a tenant's webhook wants, as a signed JSON POST.

The body is one JSON object (:func:`webhook_payload`) with a ``text`` line, so Slack and
Microsoft Teams incoming webhooks show it as it is; other receivers verify
``X-Supportdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the
webhook's secret, and drop a repeat by ``X-Supportdesk-Delivery`` (the event's id): delivery
is at least once, as for every event handler.

A failed POST (no answer within :data:`TIMEOUT`, or not 2xx) is a problem the handler returns,
so the event outbox retries the event with back-off (``notifications.services``); the webhooks
that answered are recorded (that commits) and skipped on the retry. A webhook that failed
less than :data:`PAUSE_AFTER_FAILURE` ago is not tried again for the next events but fails
them at once, so a dead receiver costs one timeout a minute, not one per event, and the
relay's batch stays inside its time limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from tickets.mail.inbound.imap import address_is_internal
from tickets.models import TicketEvent

from ..models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

TIMEOUT = (3.05, 5)
"""Connect and read timeouts in seconds: a receiver answers at once or is retried later."""

PAUSE_AFTER_FAILURE = dt.timedelta(minutes=1)

SIGNATURE_HEADER = "X-Supportdesk-Signature"


class WebhookFailed(Exception):
    """One or more webhooks did not take the event; the message names them and why."""


def webhook_sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def webhook_url_refusal(url: str) -> str | None:
    """Why a tenant may not make us post to ``url``, or None.

    http or https only, and every address the host resolves to public (the rule of the
    mailboxes' servers), unless ``WEBHOOK_ALLOW_INTERNAL_HOSTS``. A name that does not
    resolve now is not refused: the delivery says so, and retries.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter an http:// or https:// URL.")
    if settings.WEBHOOK_ALLOW_INTERNAL_HOSTS:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError, OverflowError):
        return None
    if any(address_is_internal(str(info[4][0])) for info in infos):
        return _(
            "This address is on a loopback, private or link-local network; only addresses "
            "on the public internet are allowed."
        )
    return None


def webhook_payload(event: TicketEvent) -> dict[str, Any]:
    """What a webhook hears about ``event``: the ticket's reference, subject, status and
    link, the kind of event and its old and new value. No message bodies: a chat channel is
    a place more people read than the ticket's own staff."""
    ticket = event.ticket
    tenant = ticket.tenant
    link = tenant.base_url() + reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
    with translation.override(tenant.default_language):
        what = event.get_kind_display()
        change = f" ({event.old_value} → {event.new_value})" if event.new_value else ""
        text = f"{ticket.reference} {ticket.subject}: {what}{change} <{link}>"
    return {
        "id": event.pk,
        "event": event.kind,
        "at": event.at.isoformat(),
        "text": text,
        "ticket": {
            "id": ticket.pk,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.status,
            "url": link,
        },
        "old": event.old_value,
        "new": event.new_value,
    }


def _send(webhook: Webhook, *, kind: str, delivery: str, body: bytes) -> int:
    """POST ``body``; the status code of a 2xx answer, else :class:`WebhookFailed`."""
    refusal = webhook_url_refusal(webhook.url)  # the name may point elsewhere by now
    if refusal is not None:
        raise WebhookFailed(refusal)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "supportdesk-webhook/1",
        "X-Supportdesk-Event": kind,
        "X-Supportdesk-Delivery": delivery,
        SIGNATURE_HEADER: webhook_sign(
            secret=webhook.secret, timestamp=int(time.time()), body=body
        ),
    }
    try:
        response = requests.post(
            webhook.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise WebhookFailed(_("No answer: %(error)s") % {"error": type(exc).__name__}) from exc
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(_("Answered %(status)s.") % {"status": response.status_code})
    return response.status_code


KINDS_CACHED_FOR = 300
"""Seconds the active webhooks' kinds stay cached per tenant; a webhook's save and delete
drop them at once, so this only bounds a cache that missed both drops."""


def _wanted_kinds(tenant_id: int) -> list[list[str]]:
    """The ``kinds`` of the tenant's active webhooks ([] of one means every kind), from the
    cache or one query. The query names the tenant: this runs in any scope."""
    key = Webhook.kinds_cache_key(tenant_id)
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation; the database decides
        cached = None
    if cached is not None:
        return list(cached)
    with scopes_disabled():
        kinds = [
            list(k)
            for k in Webhook.objects.filter(tenant_id=tenant_id, active=True).values_list(
                "kinds", flat=True
            )
        ]
    try:
        cache.set(key, kinds, KINDS_CACHED_FOR)
    except Exception:  # noqa: BLE001
        logger.warning("could not cache the webhook kinds of tenant %s", tenant_id)
    return kinds


def webhooks_wanting(events: list[TicketEvent]) -> list[TicketEvent]:
    """The events some active webhook of their tenant wants: the channel's store-time
    filter, so a tenant without webhooks costs no delivery row (a cache read per publish)."""
    kinds = {t: _wanted_kinds(t) for t in {e.tenant_id for e in events}}
    return [
        e for e in events if any(not wanted or e.kind in wanted for wanted in kinds[e.tenant_id])
    ]


def notify_by_webhook(event: TicketEvent) -> str | None:
    """Post ``event`` to each of its tenant's webhooks that wants it and has not had it.

    Caller (the event outbox) holds the tenant scope. Returns the problems after trying every
    webhook when any failed: what was taken is recorded and commits, and the outbox retries
    the event for the others only (a raise would roll the records back).
    """
    webhooks = [w for w in Webhook.objects.filter(active=True) if w.wants(event.kind)]
    if not webhooks:
        return None
    done = set(
        WebhookDelivery.objects.filter(event=event, webhook__in=webhooks).values_list(
            "webhook_id", flat=True
        )
    )
    body = json.dumps(webhook_payload(event), ensure_ascii=False).encode()
    now = timezone.now()
    failures: list[str] = []
    for webhook in webhooks:
        if webhook.pk in done:
            continue
        if webhook.last_failure_at and now - webhook.last_failure_at < PAUSE_AFTER_FAILURE:
            failures.append(f"{webhook.name}: {webhook.last_error}")
            continue
        try:
            status = _send(webhook, kind=event.kind, delivery=str(event.pk), body=body)
        except WebhookFailed as exc:
            logger.warning("webhook %s failed for event %s: %s", webhook.pk, event.pk, exc)
            Webhook.objects.filter(pk=webhook.pk).update(
                failing_since=webhook.failing_since or now,
                last_failure_at=now,
                last_error=str(exc)[:300],
            )
            failures.append(f"{webhook.name}: {exc}")
            continue
        WebhookDelivery.objects.get_or_create(
            tenant_id=event.tenant_id,
            webhook=webhook,
            event=event,
            defaults={"status_code": status},
        )
        if webhook.failing_since:
            Webhook.objects.filter(pk=webhook.pk).update(
                failing_since=None, last_failure_at=None, last_error=""
            )
    return "; ".join(failures) or None


def webhook_check_url(url: str) -> None:
    """:class:`ValidationError` on ``url`` when a tenant may not post there."""
    refusal = webhook_url_refusal(url)
    if refusal is not None:
        raise ValidationError({"url": refusal})


def webhook_ping(*, webhook: Webhook) -> str | None:
    """Post a ``ping`` now (the admin's "Send a test" button); the problem, or None."""
    tenant = webhook.tenant
    with translation.override(tenant.default_language):
        text = _("A test from %(tenant)s: this webhook works.") % {"tenant": tenant.name}
    body = json.dumps({"id": 0, "event": "ping", "text": text}, ensure_ascii=False).encode()
    try:
        _send(webhook, kind="ping", delivery="0", body=body)
    except WebhookFailed as exc:
        return str(exc)
    return None
