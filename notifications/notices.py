"""Staff notices: who hears about an SLA crossing or an out-of-scope request, one mail per
person per batch, sent exactly once.

``sla`` and ``tickets`` hand notices over through :func:`supportdesk.notices.notice_sink`
(they sit below this app); :class:`Notices` is what this app registers there.

- :func:`notice_queue` writes one :class:`~notifications.models.Notice` per person, keyed
  (unique per tenant) so a second crossing of the same threshold queues nothing;
- :func:`notices_flush_on_commit`, after the change commits, enqueues :func:`notices_batch`,
  which groups every unbatched notice of the tenant into one
  :class:`~notifications.models.NoticeMail` per recipient (a sweep that found twenty tickets
  is one mail per person, not twenty) and puts each in the mail outbox
  (``tickets/mail/services/outbox.py``) in the same transaction: the outbox sends it exactly
  once, with its claim, retries, sweep for dead workers and stable Message-ID;
- :func:`notices_recover` (run by each SLA sweep) re-enqueues batching a lost task left
  behind (the outbox recovers its own sends).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from sla.models import Clock, EscalationRule, Metric
from supportdesk.models import Tenant, User
from supportdesk.notices import NoticeKind
from supportdesk.services import enqueue_safely
from tickets.mail.models import OutboundKind
from tickets.mail.services.outbox import mail_enqueue

from .models import Notice, NoticeMail

if TYPE_CHECKING:
    from tickets.models import Ticket

RECOVER_AFTER = dt.timedelta(minutes=5)
"""Only rows older than this are re-enqueued, so work whose task is merely queued is not
doubled (doubling would be harmless: batching and sending are both idempotent)."""


def notice_queue(
    *, tenant: Tenant, key: str, kind: str, recipient: User, ticket: Ticket | None, text: str
) -> Notice | None:
    """Queue one notice for one person unless ``key`` was queued before (then None).

    Caller is inside the transaction of the change the notice is about; after commit,
    :func:`notices_flush_on_commit` batches and sends.
    """
    try:
        with transaction.atomic():
            return Notice.objects.create(
                tenant=tenant,
                key=key[:200],
                kind=kind,
                recipient=recipient,
                ticket=ticket,
                text=text,
            )
    except IntegrityError:
        return None


def sla_recipients(ticket: Ticket, rules: Sequence[EscalationRule]) -> list[User]:
    """Whom the rules name for this ticket: its assignee, the organisation's account manager
    or service owner, named users; active and with an address, once each."""
    people: dict[int, User] = {}
    organisation = ticket.organisation
    for rule in rules:
        candidates: list[Any] = []
        if rule.notify_assignee:
            candidates.append(ticket.assignee)
        if rule.notify_account_manager and organisation is not None:
            candidates.append(getattr(organisation, "account_manager", None))
        if rule.notify_service_owner and organisation is not None:
            candidates.append(getattr(organisation, "service_owner", None))
        candidates.extend(rule.notify_users.all())
        for user in candidates:
            if user is not None and user.is_active and user.email:
                people[user.pk] = user
    return list(people.values())


def _local(moment: dt.datetime | None, tenant: Tenant) -> str:
    if moment is None:
        return "-"
    return date_format(timezone.localtime(moment, ZoneInfo(tenant.time_zone)), "D j M H:i")


def _sla_key(ticket: Ticket, clock: Clock, percent: int, user: User) -> str:
    """Exactly once per person, ticket, clock (and its cycle) and threshold."""
    cycle = f":{clock.cycle}" if clock.cycle else ""
    return f"alert:{ticket.pk}:{clock.metric}{cycle}:{percent}:{user.pk}"


def sla_crossing_notify(
    *, ticket: Ticket, clock: Clock, percent: int, rules: list[EscalationRule], breach: bool
) -> None:
    """Queue the notices of one threshold crossing for everyone the rules name, each in their
    own language. Caller is inside the transaction that fired the crossing's alert."""
    tenant = ticket.tenant
    metric_label = Metric(clock.metric).label
    if breach:
        kind = NoticeKind.BREACH
    elif percent == 0:
        kind = NoticeKind.ESCALATION
    else:
        kind = NoticeKind.WARNING
    for user in sla_recipients(ticket, rules):
        with translation.override(user.language or tenant.default_language):
            if breach:
                what = _("%(metric)s target breached (was due %(due)s)") % {
                    "metric": metric_label,
                    "due": _local(clock.due_at, tenant),
                }
            elif percent == 0:
                what = _("escalated at once: %(metric)s due %(due)s") % {
                    "metric": metric_label,
                    "due": _local(clock.due_at, tenant),
                }
            else:
                what = _("%(percent)d%% of the %(metric)s time used, due %(due)s") % {
                    "percent": percent,
                    "metric": metric_label.lower(),
                    "due": _local(clock.due_at, tenant),
                }
            link = tenant.base_url() + reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
            text = f"{ticket.reference} {ticket.subject}: {what}\n{link}"
        notice_queue(
            tenant=tenant,
            key=_sla_key(ticket, clock, percent, user),
            kind=kind,
            recipient=user,
            ticket=ticket,
            text=text,
        )


def notices_flush_on_commit(*, tenant_id: int) -> None:
    """After commit, batch the tenant's queued notices into mails and send them."""

    def enqueue() -> None:
        # Not at the top: the tasks module imports this one (each task calls its service).
        from .tasks import notices_flush

        enqueue_safely(notices_flush, tenant_id)

    transaction.on_commit(enqueue)


def notices_batch(*, tenant: Tenant) -> list[NoticeMail]:
    """Group every unbatched notice into one mail per recipient (a busy morning is one mail).

    Runs in its own transaction; rows already taken by a concurrent batcher are skipped.
    Returns the mails written; they are sent after commit.
    """
    with transaction.atomic():
        pending = list(
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(mail__isnull=True)
            .select_related("recipient")
            .order_by("recipient_id", "created_at", "id")
        )
        by_recipient: dict[int, list[Notice]] = defaultdict(list)
        for notice in pending:
            by_recipient[notice.recipient_id].append(notice)
        mails: list[NoticeMail] = []
        for notices in by_recipient.values():
            recipient = notices[0].recipient
            with translation.override(recipient.language or tenant.default_language):
                subject = (
                    _("[%(tenant)s] %(count)d SLA notices")
                    % {"tenant": tenant.name, "count": len(notices)}
                    if len(notices) > 1
                    else f"[{tenant.name}] {notices[0].text.splitlines()[0]}"
                )
                body = render_to_string(
                    "sla/notice_mail.txt",
                    {"tenant": tenant, "recipient": recipient, "notices": notices},
                )
            mail = NoticeMail.objects.create(
                tenant=tenant,
                recipient=recipient,
                to_email=recipient.email,
                subject=subject[:300],
                body=body,
            )
            # The outbox sends it after commit; its key is the batch's, so it is sent once.
            mail.outbound = mail_enqueue(
                tenant=tenant,
                key=f"notice-mail:{mail.pk}",
                kind=OutboundKind.STAFF_NOTICE,
                to=mail.to_email,
                subject=mail.subject,
                body=body,
            )
            mail.save(update_fields=["outbound"])
            Notice.objects.filter(pk__in=[n.pk for n in notices]).update(mail=mail)
            mails.append(mail)
    return mails


def notices_recover(*, now: dt.datetime) -> None:
    """Re-enqueue batching a lost task left behind: notices older than
    :data:`RECOVER_AFTER` and still in no mail. Sending needs no recovery here: a batched
    mail is an outbox row, and the outbox's sweep (``mail.requeue_stuck``) hands out again
    what a lost task or a dead worker left queued or sending."""
    stale = now - RECOVER_AFTER
    with scopes_disabled():
        tenants = set(
            Notice.objects.filter(mail__isnull=True, created_at__lt=stale).values_list(
                "tenant_id", flat=True
            )[:1000]
        )
    # Not at the top: the tasks module imports this one (each task calls its service).
    from .tasks import notices_flush

    for tenant_id in tenants:
        enqueue_safely(notices_flush, tenant_id)


class Notices:
    """The notice sink this app registers (:func:`supportdesk.notices.notice_sink_register`)."""

    def queue(
        self, *, tenant: Any, key: str, kind: str, recipient: Any, ticket: Any, text: str
    ) -> Notice | None:
        return notice_queue(
            tenant=tenant, key=key, kind=kind, recipient=recipient, ticket=ticket, text=text
        )

    def sla_crossed(
        self, *, ticket: Any, clock: Any, percent: int, rules: list[Any], breach: bool
    ) -> None:
        sla_crossing_notify(ticket=ticket, clock=clock, percent=percent, rules=rules, breach=breach)

    def flush_on_commit(self, *, tenant_id: int) -> None:
        notices_flush_on_commit(tenant_id=tenant_id)

    def recover(self, *, now: dt.datetime) -> None:
        notices_recover(now=now)
