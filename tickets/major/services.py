"""Declaring a major incident, linking its children and posting one update to all of them.

The children are the tickets with a "caused by" link to the major incident (child -> major);
links never cross tenants (:func:`tickets.links.services.ticket_link` refuses), but they may
join tickets of different organisations, which is the point. An update is an ordinary public
reply on each ticket (:func:`tickets.services.ticket_reply`), so the mail, the first-response
clock and the timeline follow as for any reply; each requester's copy is on their own ticket,
and the internal MAJOR_UPDATE events that tie the copies together are staff-only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sla.models import Priority
from supportdesk.models import User

from ..choices import Channel, Status
from ..events import events_publish
from ..links.services import ticket_link
from ..models import ACTIVE_STATUSES, EventKind, LinkKind, Message, Ticket, TicketLink

# The agent check, the event helper and the input check every ticket write shares.
from ..services import ticket_reply
from ..services.steps import (
    require_agent,
    staff_event,
    ticket_locked,
    ticket_touch,
    validate_choice,
)

MAX_UPDATE_LENGTH = 10_000


def major_incident_priority(*, tenant_id: int) -> Priority | None:
    """The tenant's most urgent priority (lowest rank), the one a major incident must have."""
    return Priority.objects.filter(tenant_id=tenant_id).order_by("rank").first()


def major_incident_children(*, ticket: Ticket) -> list[Ticket]:
    """The tickets linked to ``ticket`` as "caused by" it, oldest link first (one query)."""
    links = (
        TicketLink.objects.filter(
            tenant_id=ticket.tenant_id, target_id=ticket.pk, kind=LinkKind.CAUSED_BY
        )
        .select_related("source__organisation", "source__requester")
        .order_by("created_at", "id")
    )
    return [link.source for link in links]


def major_incident_reached(children: list[Ticket]) -> list[Ticket]:
    """The children an update reaches: those still being worked (not solved, not closed)."""
    return [child for child in children if child.status in ACTIVE_STATUSES]


def major_incident_refusal(*, ticket: Ticket) -> str | None:
    """Why ``ticket`` cannot be declared a major incident (None: it can)."""
    if ticket.major_incident_at is not None:
        return _("%(ref)s is already a major incident.") % {"ref": ticket.reference}
    if ticket.merged_into_id is not None or ticket.status not in ACTIVE_STATUSES:
        return _("Only an active ticket can be declared a major incident.")
    top = major_incident_priority(tenant_id=ticket.tenant_id)
    if top is None or ticket.priority_id != top.pk:
        return _(
            "Only a ticket of the most urgent priority (%(priority)s) can be declared a major "
            "incident."
        ) % {"priority": top.key if top else "-"}
    return None


def ticket_declare_major_incident(
    *, ticket: Ticket, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Declare ``ticket`` a major incident; returns it, updated.

    Preconditions: ``actor`` is an agent or admin of the tenant in scope; the ticket is
    active, not merged, has the tenant's most urgent priority and is not declared yet.
    Locks the ticket; writes an internal MAJOR_DECLARED event in the same transaction. Bad
    input raises ``ValidationError``; nothing is saved.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()
        refusal = major_incident_refusal(ticket=locked)
        if refusal:
            raise ValidationError({"ticket": refusal})
        locked.major_incident_at = now
        locked.major_incident_by = agent
        locked.save(update_fields=["major_incident_at", "major_incident_by"])
        event = staff_event(
            locked, EventKind.MAJOR_DECLARED, agent, channel, "", locked.reference,
            is_public=False, at=now, data={"priority": locked.priority_id},
        )  # fmt: skip
        ticket_touch(locked, now)
        events_publish([event])
    return locked


def ticket_end_major_incident(
    *, ticket: Ticket, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """End the major incident ``ticket``: it becomes an ordinary ticket again; returns it.

    Preconditions: ``actor`` is an agent or admin of the tenant in scope; the ticket is a
    declared major incident. Its "caused by" links stay (they are still true), but no longer
    make a group that one update reaches; the ticket can be declared again later. Locks the
    ticket; writes an internal MAJOR_ENDED event in the same transaction. Bad input raises
    ``ValidationError``; nothing is saved.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    with transaction.atomic():
        locked = ticket_locked(ticket)
        if locked.major_incident_at is None:
            raise ValidationError(
                {"ticket": _("%(ref)s is not a major incident.") % {"ref": locked.reference}}
            )
        now = timezone.now()
        declared_at = locked.major_incident_at
        locked.major_incident_at = None
        locked.major_incident_by = None
        locked.save(update_fields=["major_incident_at", "major_incident_by"])
        event = staff_event(
            locked, EventKind.MAJOR_ENDED, agent, channel, "", "",
            is_public=False, at=now, data={"declared_at": declared_at.isoformat()},
        )  # fmt: skip
        ticket_touch(locked, now)
        events_publish([event])
    return locked


def major_incident_link(
    *, ticket: Ticket, child: Ticket, actor: User, channel: str = Channel.PORTAL
) -> TicketLink:
    """Link ``child`` to the major incident ``ticket`` as "caused by" it.

    Preconditions: ``ticket`` is a declared major incident; ``child`` is another ticket of
    the same tenant (any organisation), neither a major incident itself nor closed. The link
    is an ordinary one (:func:`tickets.links.services.ticket_link`, which refuses another
    tenant's ticket and a link that exists).
    """
    if ticket.major_incident_at is None:
        raise ValidationError(
            {"ticket": _("%(ref)s is not a major incident.") % {"ref": ticket.reference}}
        )
    if child.tenant_id != ticket.tenant_id:
        raise ValidationError({"other": _("Unknown ticket.")})
    if child.major_incident_at is not None:
        raise ValidationError({"other": _("A major incident cannot be the child of another.")})
    if child.status == Status.CLOSED:
        raise ValidationError({"other": _("%(ref)s is closed.") % {"ref": child.reference}})
    return ticket_link(
        ticket=child, other=ticket, kind=LinkKind.CAUSED_BY, actor=actor, channel=channel
    )


def major_incident_update(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    channel: str = Channel.PORTAL,
    markdown: bool = False,
) -> list[Message]:
    """Post ``body`` as one public reply on the major incident ``ticket`` and on each of its
    children still being worked; returns the messages, the major incident's first.

    A solved or closed child is left alone: its requester's problem is over, and a reply
    would land on a ticket nobody works (:func:`major_incident_reached` counts them).

    Preconditions: ``actor`` is an agent or admin of the tenant in scope; ``ticket`` is a
    declared major incident and not closed. Locks the tickets in pk order, then replies
    through :func:`tickets.services.ticket_reply` (its mails and clocks), all in one
    transaction with an internal MAJOR_UPDATE event on every ticket. Bad input raises
    ``ValidationError``; nothing is saved.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    if not body.strip():
        raise ValidationError({"body": _("Write the status update.")})
    if len(body) > MAX_UPDATE_LENGTH:
        raise ValidationError(
            {"body": _("Keep the update under %(max)s characters.") % {"max": MAX_UPDATE_LENGTH}}
        )
    with transaction.atomic():
        major = ticket_locked(ticket)
        if major.major_incident_at is None:
            raise ValidationError(
                {"ticket": _("%(ref)s is not a major incident.") % {"ref": major.reference}}
            )
        if major.status == Status.CLOSED:
            raise ValidationError({"ticket": _("%(ref)s is closed.") % {"ref": major.reference}})
        children = major_incident_reached(major_incident_children(ticket=major))
        # Every row lock up front, in pk order, as the link and merge services take them.
        list(
            Ticket.objects.select_for_update(of=("self",))
            .filter(pk__in=[major.pk, *(c.pk for c in children)])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        posted: list[Message] = []
        for target in (major, *children):
            posted.append(
                ticket_reply(
                    ticket=target, body=body, public=True, channel=channel, author=agent,
                    markdown=markdown, at=now,
                )
            )  # fmt: skip
        events = [
            staff_event(
                major, EventKind.MAJOR_UPDATE, agent, channel, "",
                _("Posted to %(count)s linked tickets") % {"count": len(children)},
                is_public=False, at=now,
                data={"children": [c.pk for c in children], "message_id": posted[0].pk},
            )
        ]  # fmt: skip
        for child, message in zip(children, posted[1:], strict=True):
            events.append(
                staff_event(
                    child, EventKind.MAJOR_UPDATE, agent, channel, "", major.reference,
                    is_public=False, at=now,
                    data={
                        "major_id": major.pk, "major_reference": major.reference,
                        "message_id": message.pk,
                    },
                )
            )  # fmt: skip
        events_publish(events)
    return posted
