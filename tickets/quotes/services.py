"""Proposing a quote and the customer's answer to it.

An agent proposes (one quote waits at a time); the ticket then waits on the customer, as a
conversion to billed work does (:func:`tickets.services.steps.acceptance_request`). The customer
accepts (the quote's hours join the billable allowance, work goes on) or declines (nothing
more is billed beyond the plan's quote-free hours; the ticket is open again for support to
answer). Every step writes a timeline event in the same transaction, public so the customer
reads it too.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact
from sla.services import sla_refresh
from supportdesk.models import User

from ..choices import Channel
from ..events import event_record, events_publish
from ..models import ACTIVE_STATUSES, EventKind, Quote, QuoteStatus, Ticket, TicketEvent
from ..services.steps import (
    acceptance_request,
    require_agent,
    resume_after_acceptance,
    ticket_locked,
    ticket_touch,
    validate_choice,
)

# The waiting-on-the-customer step and the resume after their answer are the billing
# acceptance's (item 9): a quote is the same question with an amount, so it reuses them.

MAX_HOURS = Decimal("9999")
MAX_PRICE = Decimal("99999999")


def _amount(value: object, field: str, maximum: Decimal, *, positive: bool) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationError({field: _("Enter a number.")}) from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0) or amount > maximum:
        raise ValidationError(
            {field: _("Enter a number above 0 and at most %(max)s.") % {"max": maximum}}
            if positive
            else {field: _("Enter a number from 0 to %(max)s.") % {"max": maximum}}
        )
    return amount.quantize(Decimal("0.01"))


def quote_propose(
    *,
    ticket: Ticket,
    agent: User,
    text: str,
    hours: object = None,
    price: object = None,
    channel: str = Channel.PORTAL,
) -> Quote:
    """Propose a quote on ``ticket``: ``hours`` and/or ``price`` (text or numbers, parsed
    here) and what it covers. Refused with ValidationError on bad input, a closed ticket, or
    while another quote waits for the customer. Caller has checked the agent may see it."""
    require_agent(agent)
    validate_choice("channel", channel, Channel)
    hours_value = _amount(hours, "hours", MAX_HOURS, positive=True)
    price_value = _amount(price, "price", MAX_PRICE, positive=False)
    if hours_value is None and price_value is None:
        raise ValidationError({"hours": _("Give the quoted hours, a price, or both.")})
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Say what the quote covers.")})
    if len(text) > 2000:
        raise ValidationError({"text": _("Keep the description under 2000 characters.")})
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()
        if locked.status not in ACTIVE_STATUSES:
            raise ValidationError({"ticket": _("A closed or solved ticket takes no quote.")})
        if Quote.objects.filter(ticket=locked, status=QuoteStatus.PROPOSED).exists():
            raise ValidationError(
                {"ticket": _("This ticket already has a quote waiting for the customer.")}
            )
        quote = Quote.objects.create(
            tenant_id=locked.tenant_id, ticket=locked, hours=hours_value, price=price_value,
            text=text, proposed_by=agent, proposed_at=now,
        )  # fmt: skip
        events: list[TicketEvent] = [
            event_record(
                ticket=locked, kind=EventKind.QUOTE_PROPOSED, actor=agent, by_staff=True,
                channel=channel, new=quote.summary, at=now,
                data={"quote_id": quote.pk, "text": text},
            )
        ]  # fmt: skip
        events.extend(acceptance_request(locked, agent, channel))
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return quote


def _decide(*, ticket: Ticket, contact: Contact, accept: bool) -> Quote:
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()
        quote = (
            Quote.objects.select_for_update()
            .filter(ticket=locked, status=QuoteStatus.PROPOSED)
            .first()
        )
        if quote is None or locked.status not in ACTIVE_STATUSES:
            raise ValidationError({"decision": _("No quote on this ticket waits for you.")})
        quote.status = QuoteStatus.ACCEPTED if accept else QuoteStatus.DECLINED
        quote.decided_by = contact
        quote.decided_at = now
        quote.save(update_fields=["status", "decided_by", "decided_at"])
        events = [
            event_record(
                ticket=locked,
                kind=EventKind.QUOTE_ACCEPTED if accept else EventKind.QUOTE_DECLINED,
                actor_contact=contact, channel=Channel.PORTAL,
                new=f"{quote.summary} ({contact.name})", at=now,
                data={"quote_id": quote.pk},
            )
        ]  # fmt: skip
        events.extend(resume_after_acceptance(locked, contact, now))
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return quote


def quote_accept(*, ticket: Ticket, contact: Contact) -> Quote:
    """The customer accepts the quote waiting on ``ticket``: its hours join the billable
    allowance (:mod:`tickets.quotes.rules`). Caller has checked ``contact`` may see the
    ticket; refused with ValidationError when no quote waits."""
    return _decide(ticket=ticket, contact=contact, accept=True)


def quote_decline(*, ticket: Ticket, contact: Contact) -> Quote:
    """The customer declines the waiting quote; billable time stays capped. Same
    preconditions as :func:`quote_accept`."""
    return _decide(ticket=ticket, contact=contact, accept=False)
