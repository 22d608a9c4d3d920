"""The customer's answer to a charge a conversion asked for: accept (work goes on) or decline
(the request goes back to the kind it was). The wait itself is started by the conversion
(:func:`tickets.services.steps.acceptance_request`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, RequestType
from sla.services import sla_refresh

from ..choices import Category, Channel
from ..events import event_record, events_publish
from ..models import ACTIVE_STATUSES, EventKind, Ticket, TicketEvent
from .steps import (
    entitlement_for,
    kind_name,
    resume_after_acceptance,
    ticket_locked,
    ticket_touch,
)


def ticket_billing_accept(*, ticket: Ticket, contact: Contact) -> Ticket:
    """The customer accepts the charge a conversion asked for: work may go on (a ticket
    waiting on them is open again). Caller has checked that ``contact`` may see the ticket
    (portal access helpers); refused with ValidationError when no acceptance is pending."""
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()
        _require_acceptance_pending(locked)
        locked.billing_accepted = True
        events = [
            event_record(
                ticket=locked, kind=EventKind.BILLING_ACCEPTED, actor_contact=contact,
                channel=Channel.PORTAL, new=contact.name, at=now,
            )
        ]  # fmt: skip
        events.extend(resume_after_acceptance(locked, contact, now))
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return locked


def ticket_billing_decline(*, ticket: Ticket, contact: Contact) -> Ticket:
    """The customer declines the charge: the request goes back to the kind it was before the
    conversion (billing as its scope says, usually not billable) and is open again for
    support to answer as that. Same preconditions as :func:`ticket_billing_accept`."""
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()
        _require_acceptance_pending(locked)
        converted = (
            TicketEvent.objects.filter(ticket=locked, kind=EventKind.CONVERTED)
            .order_by("-at", "-id")
            .first()
        )
        data = (converted.data or {}) if converted else {}
        before = data.get("from")
        # A conversion between request types names them; declining restores the old one.
        before_type = (
            RequestType.objects.filter(tenant_id=locked.tenant_id, pk=data["from_type"]).first()
            if data.get("from_type")
            else None
        )
        type_back = "from_type" in data and locked.request_type_id != (
            before_type.pk if before_type else None
        )
        events = [
            event_record(
                ticket=locked, kind=EventKind.BILLING_DECLINED, actor_contact=contact,
                channel=Channel.PORTAL, new=contact.name, at=now,
            )
        ]  # fmt: skip
        if before in Category.values and (before != locked.category or type_back):
            old, old_type = locked.category, locked.request_type
            locked.category = before
            back: dict[str, object] = {"from": old, "to": before, "declined": True}
            if "from_type" in data:
                locked.request_type = before_type
                back |= {
                    "from_type": old_type.pk if old_type else None,
                    "to_type": before_type.pk if before_type else None,
                }
            events.append(
                event_record(
                    ticket=locked, kind=EventKind.CONVERTED, actor_contact=contact,
                    channel=Channel.PORTAL, old=kind_name(old, old_type),
                    new=kind_name(before, locked.request_type), at=now, data=back,
                )
            )  # fmt: skip
            try:
                entitlement = entitlement_for(
                    requester=locked.requester, channel=locked.channel, category=before, at=now,
                    request_type=locked.request_type,
                )  # fmt: skip
            except ValidationError:
                # The old type left the scope table since: the decline still stands, unbilled.
                entitlement = None
            billable = entitlement.billable if entitlement and entitlement.allowed else False
        else:
            billable = False
        if billable != locked.billable:
            locked.billable = billable
            events.append(
                event_record(
                    ticket=locked, kind=EventKind.BILLABLE_CHANGED, actor_contact=contact,
                    channel=Channel.PORTAL, old=str(not billable), new=str(billable), at=now,
                )
            )  # fmt: skip
        events.extend(resume_after_acceptance(locked, contact, now))
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return locked


def _require_acceptance_pending(ticket: Ticket) -> None:
    if not ticket.billable or ticket.billing_accepted or ticket.status not in ACTIVE_STATUSES:
        raise ValidationError(
            {"decision": _("This ticket is not waiting for you to accept a charge.")}
        )
