"""Changes to one ticket by staff or its customer: status (the state machines), priority,
assignee, support line, vendor escalation (and the tenant's settings for it), kind and
billability, one at a time or several at once (the API's PATCH), and the bulk assignment of
the queue.

Each locks the ticket row, writes its change and an event in one transaction, re-derives the
SLA clocks from the history, and hands the events to the notification handlers after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, RequestType
from contracts.reasons import reasons_text
from sla.models import Priority
from sla.services import sla_refresh
from supportdesk.models import Membership, Tenant, User

from ..choices import Category, Channel, Status, SupportLine, VendorState
from ..events import event_record, events_publish
from ..models import EventKind, Ticket, TicketEvent
from .steps import (
    VersionConflict,
    acceptance_request,
    entitlement_for,
    is_staff,
    kind_name,
    named_for,
    require_agent,
    staff_event,
    status_apply,
    ticket_locked,
    ticket_touch,
    validate_choice,
)


class TransitionNotAllowed(ValidationError):
    """A status change the state machine does not allow."""


TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}
    ),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
"""Status changes staff may make. Closed is final: a new question becomes a new ticket."""


CONTACT_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.SOLVED}),
    Status.OPEN: frozenset({Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
"""What a customer may do: call it solved, reopen a solved ticket, confirm it closed."""


def _check_transition(ticket: Ticket, status: str, *, contact: Contact | None) -> None:
    validate_choice("status", status, Status)
    allowed = (CONTACT_TRANSITIONS if contact is not None else TRANSITIONS)[ticket.status]
    if status not in allowed:
        raise TransitionNotAllowed(
            {
                "status": _("A ticket that is %(old)s cannot become %(new)s.")
                % {"old": Status(ticket.status).label.lower(), "new": Status(status).label.lower()}
            }
        )


def ticket_change_status(
    *,
    ticket: Ticket,
    status: str,
    actor: User | None,
    channel: str,
    contact: Contact | None = None,
) -> Ticket:
    """Move the ticket through the state machine; clocks pause, stop and resume with it.

    ``contact`` set means the customer acts (a smaller set of moves, see
    :data:`CONTACT_TRANSITIONS`). Raises :class:`TransitionNotAllowed`. Returns the updated
    ticket.
    """
    validate_choice("channel", channel, Channel)
    if contact is None and not is_staff(actor):
        raise ValidationError({"actor": _("Only staff or the customer can change the status.")})
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        if contact is not None and not (
            locked.is_participant(contact) or named_for(contact, locked)
        ):
            raise ValidationError({"contact": _("Unknown ticket.")})
        _check_transition(locked, status, contact=contact)
        event = status_apply(
            locked,
            status,
            actor=actor,
            contact=contact,
            by_staff=contact is None,
            channel=channel,
            at=now,
        )
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish([event])
    return locked


def _priority_apply(
    ticket: Ticket, priority: Priority | None, actor: User, channel: str
) -> TicketEvent | None:
    if priority is not None and priority.tenant_id != ticket.tenant_id:
        raise ValidationError({"priority": _("Unknown priority.")})
    if ticket.priority_id == (priority.pk if priority else None):
        return None
    old = ticket.priority
    ticket.priority = priority
    return staff_event(
        ticket,
        EventKind.PRIORITY_CHANGED,
        actor,
        channel,
        str(old) if old else "",
        str(priority) if priority else "",
    )


def _assignee_apply(
    ticket: Ticket, assignee: User | None, actor: User, channel: str
) -> TicketEvent | None:
    if assignee is not None and not Membership.objects.agents().filter(user=assignee).exists():
        raise ValidationError({"assignee": _("Choose an agent of this organisation.")})
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return None
    old = ticket.assignee
    ticket.assignee = assignee
    return staff_event(
        ticket,
        EventKind.ASSIGNED,
        actor,
        channel,
        str(old) if old else "",
        str(assignee) if assignee else "",
        is_public=False,
        data={"assignee_id": assignee.pk if assignee else None},
    )


def _line_apply(ticket: Ticket, line: int, actor: User, channel: str) -> TicketEvent | None:
    if line not in SupportLine.values:
        raise ValidationError({"support_line": _("Choose the 1st, 2nd or 3rd line.")})
    if ticket.support_line == line:
        return None
    old = ticket.support_line
    ticket.support_line = line
    return staff_event(
        ticket,
        EventKind.LINE_CHANGED,
        actor,
        channel,
        SupportLine(old).label,
        SupportLine(line).label,
        is_public=False,
        data={"line": line},
    )


def _vendor_apply(ticket: Ticket, reference: str, actor: User, channel: str) -> TicketEvent | None:
    reference = reference.strip()
    if len(reference) > 200:
        raise ValidationError({"vendor_reference": _("Keep it under 200 characters.")})
    if ticket.vendor_reference == reference:
        return None
    old = ticket.vendor_reference
    ticket.vendor_reference = reference
    return staff_event(ticket, EventKind.VENDOR_REFERENCE, actor, channel, old, reference)


def _vendor_state_apply(
    ticket: Ticket, state: str | None, reference: str | None, actor: User, channel: str
) -> list[TicketEvent]:
    """The vendor escalation's rules: a state other than "not escalated" needs the vendor's
    reference; a reference given to a ticket not escalated escalates it; a reference alone
    keeps the state. ``None`` leaves that part as it is."""
    events: list[TicketEvent] = []
    if state is not None:
        validate_choice("vendor_state", state, VendorState)
    if reference is not None:
        event = _vendor_apply(ticket, reference, actor, channel)
        if event is not None:
            events.append(event)
    if state is None:
        changed_reference = bool(events)
        state = (
            VendorState.ESCALATED
            if changed_reference
            and ticket.vendor_reference
            and ticket.vendor_state == VendorState.NONE
            else ticket.vendor_state
        )
    if state != VendorState.NONE and not ticket.vendor_reference:
        raise ValidationError(
            {"vendor_reference": _("Give the vendor's reference (a ticket number or link).")}
        )
    if state == ticket.vendor_state:
        return events
    if state in (VendorState.ESCALATED, VendorState.WAITING) and not ticket.is_active:
        raise ValidationError(
            {"vendor_state": _("A solved or closed ticket cannot be escalated to the vendor.")}
        )
    old = ticket.vendor_state
    ticket.vendor_state = state
    now = timezone.now()
    if state == VendorState.NONE:
        ticket.vendor_escalated_at = None
    elif ticket.vendor_escalated_at is None:
        ticket.vendor_escalated_at = now
    # Whether this wait pauses the resolution clock is decided now, under the tenant's
    # setting of the time (sla.selectors.ticket_history reads it back from the event).
    pauses = state == VendorState.WAITING and ticket.tenant.vendor_wait_pauses_resolution
    events.append(
        staff_event(
            ticket, EventKind.VENDOR_STATE, actor, channel, old, state,
            is_public=False, data={"state": state, "pauses_resolution": pauses},
        )
    )  # fmt: skip
    return events


def _billable_apply(
    ticket: Ticket,
    billable: bool,
    actor: User | None,
    channel: str,
    reason: str = "",
    *,
    acceptance_requested: bool = False,
) -> TicketEvent | None:
    if ticket.billable == billable:
        return None
    ticket.billable = billable
    data = {"reason": reason} if reason else {}
    if acceptance_requested:
        data["acceptance"] = "requested"
    return event_record(
        ticket=ticket,
        kind=EventKind.BILLABLE_CHANGED,
        actor=actor,
        by_staff=True,
        channel=channel,
        old=str(not billable),
        new=str(billable),
        data=data or None,
    )


def _category_apply(ticket: Ticket, category: str, actor: User, channel: str) -> list[TicketEvent]:
    """Convert to another category; a request type of the old category no longer says what
    the request is, so it is cleared (the event records it, a decline restores it)."""
    validate_choice("category", category, Category)
    if ticket.category == category:
        return []
    return _kind_apply(ticket, category, None, actor, channel)


def _request_type_apply(
    ticket: Ticket, request_type: RequestType | None, actor: User, channel: str
) -> list[TicketEvent]:
    """Give the ticket another of the tenant's request types (or none): its category follows
    the type's, and billing the plan's scope table for it."""
    if request_type is not None and (
        request_type.tenant_id != ticket.tenant_id or not request_type.is_active
    ):
        raise ValidationError({"request_type": _("Unknown request type.")})
    if ticket.request_type_id == (request_type.pk if request_type else None):
        return []
    category = request_type.category if request_type is not None else ticket.category
    return _kind_apply(ticket, category, request_type, actor, channel)


def _kind_apply(
    ticket: Ticket, category: str, request_type: RequestType | None, actor: User, channel: str
) -> list[TicketEvent]:
    """One CONVERTED event for a change of category and/or request type, named in words
    ("Training -> Database script"), then billing re-checked for what the request now is."""
    old, old_type = ticket.category, ticket.request_type
    ticket.category, ticket.request_type = category, request_type
    data: dict[str, Any] = {"from": old, "to": category}
    if old_type is not None or request_type is not None:
        data |= {
            "from_type": old_type.pk if old_type is not None else None,
            "to_type": request_type.pk if request_type is not None else None,
        }
    events = [
        staff_event(
            ticket,
            EventKind.CONVERTED,
            actor,
            channel,
            kind_name(old, old_type),
            kind_name(category, request_type),
            data=data,
        )
    ]
    # Scope decides billing: a change request may be included where a script is not, and a
    # plan's scope table decides for each request type.
    entitlement = entitlement_for(
        requester=ticket.requester,
        channel=ticket.channel,
        category=category,
        at=timezone.now(),
        request_type=request_type,
    )
    if entitlement.allowed:
        # Billable now, and the customer never accepted a charge: they are asked first.
        ask = entitlement.billable and not ticket.billable and not ticket.billing_accepted
        event = _billable_apply(
            ticket, entitlement.billable, actor, channel, reasons_text(entitlement.reasons),
            acceptance_requested=ask,
        )  # fmt: skip
        if event is not None:
            events.append(event)
        if ask:
            events.extend(acceptance_request(ticket, actor, channel))
    return events


def _one_change(ticket: Ticket, actor: User | None, channel: str, apply: Any, *args: Any) -> Ticket:
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        result = apply(locked, *args, agent, channel)
        events = [e for e in (result if isinstance(result, list) else [result]) if e is not None]
        if not events:
            return locked
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return locked


def ticket_change_priority(
    *, ticket: Ticket, priority: Priority | None, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Set the priority; due times are derived again from the history under the new target."""
    return _one_change(ticket, actor, channel, _priority_apply, priority)


def ticket_assign(
    *, ticket: Ticket, assignee: User | None, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Give the ticket to an agent (or nobody)."""
    return _one_change(ticket, actor, channel, _assignee_apply, assignee)


def ticket_change_line(
    *, ticket: Ticket, support_line: int, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Move the ticket to another support line (escalate or hand back)."""
    return _one_change(ticket, actor, channel, _line_apply, support_line)


def ticket_set_vendor_reference(
    *, ticket: Ticket, reference: str, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Link the upstream vendor's ticket (empty to unlink)."""
    return _one_change(ticket, actor, channel, _vendor_apply, reference)


def ticket_vendor_escalate(
    *,
    ticket: Ticket,
    state: str | None,
    reference: str | None,
    actor: User,
    channel: str = Channel.PORTAL,
) -> Ticket:
    """Escalate the ticket to the upstream vendor, mark it waiting on the vendor, fixed by
    the vendor, or not escalated (``state``, a :class:`VendorState`), with the vendor's
    ticket (``reference``); None leaves either as it is. A state other than "not escalated"
    needs a reference; a reference given alone to a ticket not escalated escalates it.
    Waiting on the vendor pauses the resolution clock where the tenant says so
    (``Tenant.vendor_wait_pauses_resolution``). Raises ValidationError naming the field."""
    return _one_change(ticket, actor, channel, _vendor_state_apply, state, reference)


def vendor_settings_save(*, tenant: Tenant) -> Tenant:
    """Validate and store the tenant's vendor-escalation settings (the admin's form).
    Tickets already waiting keep the pause rule of their wait's start (see
    :func:`ticket_vendor_escalate`)."""
    fields = ["vendor_wait_pauses_resolution", "vendor_update_days"]
    tenant.full_clean(exclude=[f.name for f in tenant._meta.fields if f.name not in fields])
    tenant.save(update_fields=fields)
    return tenant


def ticket_convert(
    *, ticket: Ticket, category: str, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Turn the ticket into another kind (Syneton: change request or issue), keeping its
    history; billing follows the plan's scope for the new kind."""
    return _one_change(ticket, actor, channel, _category_apply, category)


def ticket_change_request_type(
    *,
    ticket: Ticket,
    request_type: RequestType | None,
    actor: User,
    channel: str = Channel.PORTAL,
) -> Ticket:
    """Say what the request is in the tenant's own terms (Syneton: "Database script"): the
    category follows the type's, and when the plan's scope table bills the type and the
    customer never accepted a charge, they are asked first, as for a conversion. ``None``
    clears the type and keeps the category. Refused (``ValidationError``, nothing saved):
    another tenant's or an inactive type, or one the plan's scope table does not list."""
    return _one_change(ticket, actor, channel, _request_type_apply, request_type)


def ticket_set_billable(
    *, ticket: Ticket, billable: bool, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Mark the work billable or not."""
    return _one_change(ticket, actor, channel, _billable_apply, billable)


def ticket_update(
    *,
    ticket: Ticket,
    actor: User,
    channel: str,
    expected_version: int,
    changes: dict[str, Any],
) -> Ticket:
    """Apply several field changes at once if nobody changed the ticket since
    ``expected_version`` (else :class:`VersionConflict`). Keys: status, priority, assignee,
    support_line, vendor_reference, vendor_state, billable, category, request_type (applied
    after category: the type's category wins). Used by the API's PATCH.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        if locked.version != expected_version:
            raise VersionConflict(locked.version)
        events: list[TicketEvent | None] = []
        if "priority" in changes:
            events.append(_priority_apply(locked, changes["priority"], agent, channel))
        if "assignee" in changes:
            events.append(_assignee_apply(locked, changes["assignee"], agent, channel))
        if "support_line" in changes:
            events.append(_line_apply(locked, changes["support_line"], agent, channel))
        if "vendor_reference" in changes or "vendor_state" in changes:
            events.extend(
                _vendor_state_apply(
                    locked,
                    changes.get("vendor_state"),
                    changes.get("vendor_reference"),
                    agent,
                    channel,
                )
            )
        if "billable" in changes:
            events.append(_billable_apply(locked, bool(changes["billable"]), agent, channel))
        if "category" in changes:
            events.extend(_category_apply(locked, changes["category"], agent, channel))
        if "request_type" in changes:
            events.extend(_request_type_apply(locked, changes["request_type"], agent, channel))
        if "status" in changes and changes["status"] != locked.status:
            _check_transition(locked, changes["status"], contact=None)
            events.append(
                status_apply(
                    locked,
                    changes["status"],
                    actor=agent,
                    contact=None,
                    by_staff=True,
                    channel=channel,
                    at=now,
                )
            )
        written = [e for e in events if e is not None]
        if not written:
            return locked
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(written)
    return locked


def tickets_assign_bulk(
    *, tenant: Tenant, ticket_ids: Sequence[int], assignee: User | None, actor: User
) -> int:
    """Assign many tickets of the tenant at once (one transaction); returns how many changed.

    Ids of other tenants' tickets are simply not found (the scope filters them).
    """
    agent = require_agent(actor)
    if assignee is not None:
        if not Membership.objects.agents().filter(user=assignee).exists():
            raise ValidationError({"assignee": _("Choose an agent of this organisation.")})
    now = timezone.now()
    changed = 0
    events: list[TicketEvent] = []
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("assignee")
            .filter(tenant=tenant, pk__in=list(ticket_ids)[:500])
            .order_by("pk")
        )
        for ticket in tickets:
            event = _assignee_apply(ticket, assignee, agent, Channel.PORTAL)
            if event is None:
                continue
            events.append(event)
            ticket.version += 1
            ticket.updated_at = now
            ticket.save(update_fields=["assignee", "version", "updated_at"])
            changed += 1
        events_publish(events)
    return changed
