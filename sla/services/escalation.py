"""Escalation: thresholds acted on exactly once, and the SLA notice outbox."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from supportdesk.models import Tenant, User
from tickets.events import enqueue_safely, event_record
from tickets.models import EventKind, Ticket, TicketEvent

from ..models import (
    Alert,
    Clock,
    ClockState,
    EscalationRule,
    Metric,
    Notice,
    NoticeKind,
    NoticeMail,
)

if TYPE_CHECKING:
    from .refresh import Derived

logger = logging.getLogger(__name__)

BREACH_PERCENT = 100
"""Always watched, rule or not: crossing it records the breach on the ticket's log."""


def alerts_fire(
    ticket: Ticket, derived: list[Derived], fired: set[tuple[str, int]], now: dt.datetime
) -> list[TicketEvent]:
    events: list[TicketEvent] = []
    for item in derived:
        running = item.figures.state == ClockState.RUNNING
        if not running and item.figures.breached_at is None:
            continue
        metric = item.clock.metric
        # A clock stopped or paused after its due time breached as surely as a running one:
        # the breach is recorded (so ``met`` and the record agree), warnings are not.
        # (A frozen outcome has no thresholds: acted on when it was reached, if ever.)
        breach_moment = item.figures.thresholds.get(BREACH_PERCENT) if running else None
        breach_due = breach_moment is not None and breach_moment <= now
        for percent in item.thresholds if running else item.thresholds[-1:]:
            moment = item.figures.thresholds.get(percent) if running else item.figures.breached_at
            if moment is None or moment > now or (metric, percent) in fired:
                continue
            try:
                with transaction.atomic():
                    Alert.objects.create(
                        tenant_id=ticket.tenant_id,
                        ticket=ticket,
                        metric=metric,
                        cycle=item.clock.cycle,
                        threshold_percent=percent,
                        due_at=item.clock.due_at,
                        fired_at=now,
                    )
            except IntegrityError:
                # Someone acted on it already (a concurrent sweep); acting again would repeat.
                fired.add((metric, percent))
                continue
            fired.add((metric, percent))
            rules = [r for r in item.rules if r.threshold_percent == percent]
            # A warning first acted on once the breach is already due (a ticket overdue when
            # it came in, a sweep that was down) warns of nothing: its line move still
            # applies, its warning event and notices do not; the breach says it all.
            superseded = breach_due and 0 < percent < BREACH_PERCENT
            events.extend(_act(ticket, item.clock, percent, rules, now, superseded=superseded))
    return events


class LineMover(Protocol):
    def __call__(
        self, *, ticket: Ticket, line: int, at: dt.datetime, data: dict[str, Any]
    ) -> TicketEvent | None: ...


_line_movers: list[LineMover] = []


def line_mover_subscribe(mover: LineMover) -> None:
    """Make ``mover`` the service that moves a ticket up a support line when an escalation
    rule says so (the tickets app's ``ticket_line_raise``): it writes the ticket and returns
    the event to publish, or None when the ticket is on that line or higher already."""
    _line_movers[:] = [mover]


def _line_mover() -> LineMover:
    if not _line_movers:
        raise ImproperlyConfigured("no line mover is subscribed: add 'tickets' to INSTALLED_APPS")
    return _line_movers[0]


def _notice_key(ticket: Ticket, clock: Clock, percent: int, user: User) -> str:
    """Exactly once per person, ticket, clock (and its cycle) and threshold."""
    cycle = f":{clock.cycle}" if clock.cycle else ""
    return f"alert:{ticket.pk}:{clock.metric}{cycle}:{percent}:{user.pk}"


def _recipients(ticket: Ticket, rules: Sequence[EscalationRule]) -> list[User]:
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


def _act(
    ticket: Ticket,
    clock: Clock,
    percent: int,
    rules: list[EscalationRule],
    now: dt.datetime,
    *,
    superseded: bool = False,
) -> list[TicketEvent]:
    """Record the crossing, move the ticket up a line, and queue notices, per the rules.
    ``superseded``: a warning whose breach is due too: only the line move applies."""
    tenant = ticket.tenant
    metric_label = Metric(clock.metric).label
    breach = percent >= BREACH_PERCENT
    events: list[TicketEvent] = []
    if not superseded:
        events.append(
            event_record(
                ticket=ticket,
                kind=EventKind.SLA_BREACHED if breach else EventKind.SLA_WARNING,
                new=f"{percent}%",
                is_public=False,
                at=now,
                data={
                    "metric": clock.metric,
                    "percent": percent,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                    "rules": [r.name for r in rules],
                    **({"cycle": clock.cycle} if clock.cycle else {}),
                },
            )
        )
    lines = [r.move_to_line for r in rules if r.move_to_line]
    if lines:
        moved = _line_mover()(
            ticket=ticket,
            line=max(lines),
            at=now,
            data={"metric": clock.metric, "percent": percent},
        )
        if moved is not None:
            events.append(moved)
    recipients = [] if superseded else _recipients(ticket, rules)
    if breach:
        kind = NoticeKind.BREACH
    elif percent == 0:
        kind = NoticeKind.ESCALATION
    else:
        kind = NoticeKind.WARNING
    for user in recipients:
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
            key=_notice_key(ticket, clock, percent, user),
            kind=kind,
            recipient=user,
            ticket=ticket,
            text=text,
        )
    return events


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


def notices_flush_on_commit(*, tenant_id: int) -> None:
    """After commit, batch the tenant's queued notices into mails and send them."""

    def enqueue() -> None:
        # Not at the top: the tasks module imports this one (each task calls its service).
        from ..tasks import sla_notices_flush

        enqueue_safely(sla_notices_flush, tenant_id)

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
            Notice.objects.filter(pk__in=[n.pk for n in notices]).update(mail=mail)
            mails.append(mail)

        def enqueue() -> None:
            # Not at the top: the tasks module imports this one (each task calls its service).
            from ..tasks import sla_notice_mail_send

            for mail in mails:
                enqueue_safely(sla_notice_mail_send, tenant.pk, mail.pk)

        transaction.on_commit(enqueue)
    return mails


def notice_mail_send(*, mail_id: int, tenant: Tenant) -> bool:
    """Send one batched mail unless it was sent; True when this call sent it.

    The row is locked while sending, so two workers never send it at the same time; a worker
    killed mid-send leaves it unsent and the redelivered task sends it again under the same
    Message-ID (``<notice-<id>@<tenant>.supportdesk>``), which mail systems de-duplicate.
    """
    with transaction.atomic():
        mail = NoticeMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.sent_at is not None:
            return False
        mail.attempts += 1
        NoticeMail.objects.filter(pk=mail.pk).update(attempts=mail.attempts)
        message = EmailMessage(
            subject=mail.subject,
            body=mail.body,
            to=[mail.to_email],
            headers={
                "Message-ID": mail.message_id(tenant.slug),
                "Auto-Submitted": "auto-generated",
                "X-Auto-Response-Suppress": "All",
            },
        )
        message.send(fail_silently=False)
        NoticeMail.objects.filter(pk=mail.pk).update(sent_at=timezone.now())
    return True
